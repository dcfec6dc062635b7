#!/usr/bin/env bash
# Times the model engine against PyTorch on this machine, case by case, in
# one run: each case runs in its own processes (Go: bench/modelbench,
# PyTorch: bench/torch_bench.py on 2 threads), in ROUNDS rounds that
# alternate which side goes first, so both see the same machine load; each
# process reports the median of its timed steps after warm-up and its peak
# RSS. Prints one line per case and writes bench/out/model.json (a list of
# {name, go_ms, torch_ms, ratio, go_rss_mb, torch_rss_mb, ...}): the times
# are medians over rounds, the ratio the median of the per-round ratios.
#
# Environment: STEPS / WARMUP (timed and warm-up steps per round, default
# 6 / 2; sampling cases use a third of them), ROUNDS (default 3), CASES
# (space-separated subset),
# THREADS (default 2), PY (default /usr/bin/python3, Debian's python3-torch),
# QUIET_WAIT (seconds to wait, before each case, for the 1-minute load
# average to fall below 1.5; default 0). The load average at the start and
# end of each case is recorded: on a busy machine PyTorch's OpenMP threads
# spin and its times inflate several-fold, so compare only quiet runs, or
# set TORCH_OMP_PASSIVE=1 (OMP_WAIT_POLICY=PASSIVE for PyTorch), or compare
# single-threaded (THREADS=1) CPU times.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-/usr/bin/python3}
THREADS=${THREADS:-2}
STEPS=${STEPS:-6}
WARMUP=${WARMUP:-2}
ROUNDS=${ROUNDS:-3}
OMP_POLICY=${OMP_WAIT_POLICY:-}
if [ "${TORCH_OMP_PASSIVE:-0}" = 1 ]; then OMP_POLICY=PASSIVE; fi
OUT=bench/out
mkdir -p "$OUT"
TAGS=$(scripts/blas-tags.sh)
BIN="$OUT/modelbench"
go build ${TAGS:+-tags "$TAGS"} -o "$BIN" ./bench/modelbench
CASES=${CASES:-$("$BIN" -list)}
LINES="$OUT/model.lines.jsonl"
: > "$LINES"
echo "model bench: Go (${TAGS:-pure-go}) vs PyTorch ($("$PY" -c 'import torch; print(torch.__version__)')${OMP_POLICY:+, OMP_WAIT_POLICY=$OMP_POLICY}), $THREADS threads, $(nproc) cores, $ROUNDS rounds"
# run_go and run_torch time case $c for $steps steps after $warm warm-up
# steps; run_torch takes the spec JSON that run_go printed.
run_go() { "$BIN" -case "$c" -steps "$steps" -warmup "$warm" -threads "$THREADS"; }
run_torch() {
  env ${OMP_POLICY:+OMP_WAIT_POLICY=$OMP_POLICY} "$PY" bench/torch_bench.py --case "$c" --spec "$1" --steps "$steps" --warmup "$warm" --threads "$THREADS"
}
for c in $CASES; do
  steps=$STEPS warm=$WARMUP
  case "$c" in ddim*) steps=$(( (STEPS + 2) / 3 )); warm=1 ;; esac
  waited=0
  while [ "$waited" -lt "${QUIET_WAIT:-0}" ] && awk '{exit !($1 >= 1.5)}' /proc/loadavg; do
    sleep 5; waited=$((waited + 5))
  done
  load0=$(cut -d' ' -f1 /proc/loadavg)
  for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) -eq 1 ]; then
      g=$(run_go)
      spec=$(printf '%s' "$g" | "$PY" -c 'import json,sys; print(json.load(sys.stdin).get("note") or "{}")')
      t=$(run_torch "$spec")
    else
      t=$(run_torch "$spec")
      g=$(run_go)
    fi
    load1=$(cut -d' ' -f1 /proc/loadavg)
    printf '{"go": %s, "torch": %s, "load": [%s, %s]}\n' "$g" "$t" "$load0" "$load1" >> "$LINES"
  done
done
"$PY" - "$LINES" "$OUT/model.json" <<'PYEOF'
import json, sys
import statistics

med = statistics.median
byname = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    byname.setdefault(r["go"]["name"], []).append(r)
rows = []
for name, rs in byname.items():
    g0 = rs[0]["go"]
    spec = json.loads(g0.get("note") or "{}")
    gms = [r["go"]["ms"] for r in rs]
    tms = [r["torch"]["ms"] for r in rs]
    row = {
        "name": name,
        "go_ms": round(med(gms), 2),
        "torch_ms": round(med(tms), 2),
        "ratio": round(med([g / t for g, t in zip(gms, tms)]), 3),
        "go_rss_mb": round(max(r["go"]["rss_mb"] for r in rs), 1),
        "torch_rss_mb": round(max(r["torch"]["rss_mb"] for r in rs), 1),
        "go_cpu_ms": round(med([r["go"]["cpu_ms"] for r in rs]), 1),
        "torch_cpu_ms": round(med([r["torch"]["cpu_ms"] for r in rs]), 1),
        "rounds": len(rs),
        "steps": g0["steps"],
        "round_ratios": [round(g / t, 3) for g, t in zip(gms, tms)],
        "load_avg": [rs[0]["load"][0], rs[-1]["load"][1]],
    }
    row["rss_ratio"] = round(row["go_rss_mb"] / row["torch_rss_mb"], 3)
    tp = rs[0]["torch"].get("params")
    if "params" in spec:
        row["params"] = spec["params"]
        if tp not in (None, spec["params"]):
            row["torch_params"] = tp
    if name.startswith("ddim"):
        n = spec["sample"]["batch_size"]
        row["go_images_per_s"] = round(n / row["go_ms"] * 1e3, 2)
        row["torch_images_per_s"] = round(n / row["torch_ms"] * 1e3, 2)
    rows.append(row)
json.dump(rows, open(sys.argv[2], "w"), indent=1)
print(f"{'case':34} {'go ms':>9} {'torch ms':>9} {'ratio':>6} {'go MB':>7} {'torch MB':>8}  notes (CPU ms/step go/torch)")
for r in rows:
    notes = []
    if "params" in r:
        notes.append(f"{r['params']:,} params")
    if "go_images_per_s" in r:
        notes.append(f"{r['go_images_per_s']} vs {r['torch_images_per_s']} images/s")
    notes.append(f"cpu {r['go_cpu_ms']:.0f}/{r['torch_cpu_ms']:.0f}")
    notes.append("rounds " + "/".join(f"{x:.2f}" for x in r["round_ratios"]))
    notes.append(f"load {r['load_avg'][0]:.1f}->{r['load_avg'][1]:.1f}")
    print(f"{r['name']:34} {r['go_ms']:9.1f} {r['torch_ms']:9.1f} {r['ratio']:6.2f} {r['go_rss_mb']:7.0f} {r['torch_rss_mb']:8.0f}  {', '.join(notes)}")
PYEOF
rm -f "$LINES"
