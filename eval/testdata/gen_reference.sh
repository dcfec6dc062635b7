#!/usr/bin/env bash
# Regenerates reference.json, the reference vectors of eval's tests:
#   - AUROC from scikit-learn (roc_auc_score), Fréchet distance from
#     NumPy/SciPy (pytorch-fid's formula with scipy.linalg.sqrtm), precision
#     and recall from a NumPy transcription of Kynkäänniemi et al. 2019;
#   - AUROC, DeLong variance/CI, paired and unpaired roc.test and bootstrap
#     CIs (with the resample indices recorded) from R's pROC.
# Needs Debian's python3-sklearn (run as /usr/bin/python3) and r-cran-proc.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 gen_reference.py inputs "$tmp/in.json"
Rscript reference.R "$tmp/in.json" "$tmp/proc.json"
/usr/bin/python3 gen_reference.py merge "$tmp/in.json" "$tmp/proc.json" reference.json
echo "wrote $(pwd)/reference.json ($(wc -c < reference.json) bytes)"
