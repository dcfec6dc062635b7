#!/usr/bin/env bash
# Secure-aggregation benchmark (make bench-crypto): mask expansion
# throughput in GB/s (with raw AES-256-CTR as the reference), and whole
# rounds with crypto/secagg against a plain FedAvg round for 10 and 50
# sites with 1M parameters. Prints a table and writes bench/out/crypto.json.
#
# Environment: PARAMS (default 1000000), SITES (default 10,50), REPS
# (default 3). Extra arguments go to bench/cryptobench (see -help).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/out
tags=$(scripts/blas-tags.sh 2>/dev/null || true)
exec go run ${tags:+-tags "$tags"} ./bench/cryptobench \
	-out bench/out/crypto.json \
	-params "${PARAMS:-1000000}" \
	-sites "${SITES:-10,50}" \
	-reps "${REPS:-3}" \
	"$@"
