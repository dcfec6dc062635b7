#!/usr/bin/env bash
# Times the model engine against PyTorch on this machine, case by case, in
# one run: each case runs in its own process (Go: bench/modelbench, PyTorch:
# bench/torch_bench.py on 2 threads), Go first then PyTorch, so both see the
# same machine load. Prints one line per case and writes bench/out/model.json
# (a list of {name, go_ms, torch_ms, ratio, go_rss_mb, torch_rss_mb, ...}).
#
# Environment: STEPS / WARMUP (timed and warm-up steps, default 10 / 3;
# sampling cases use a third of them), CASES (space-separated subset),
# THREADS (default 2), PY (default /usr/bin/python3, Debian's python3-torch),
# QUIET_WAIT (seconds to wait, before each case, for the 1-minute load
# average to fall below 1.5; default 0). The load average at the start and
# end of each case is recorded: on a busy machine PyTorch's OpenMP threads
# spin and its times inflate several-fold, so compare only quiet runs.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-/usr/bin/python3}
THREADS=${THREADS:-2}
STEPS=${STEPS:-10}
WARMUP=${WARMUP:-3}
OUT=bench/out
mkdir -p "$OUT"
TAGS=$(scripts/blas-tags.sh)
BIN="$OUT/modelbench"
go build ${TAGS:+-tags "$TAGS"} -o "$BIN" ./bench/modelbench
CASES=${CASES:-$("$BIN" -list)}
LINES="$OUT/model.lines.jsonl"
: > "$LINES"
echo "model bench: Go ($("$BIN" -list >/dev/null; echo "${TAGS:-pure-go}")) vs PyTorch ($("$PY" -c 'import torch; print(torch.__version__)')), $THREADS threads, $(nproc) cores"
for c in $CASES; do
  steps=$STEPS warm=$WARMUP
  case "$c" in ddim*) steps=$(( (STEPS + 2) / 3 )); warm=1 ;; esac
  waited=0
  while [ "$waited" -lt "${QUIET_WAIT:-0}" ] && awk '{exit !($1 >= 1.5)}' /proc/loadavg; do
    sleep 5; waited=$((waited + 5))
  done
  load0=$(cut -d' ' -f1 /proc/loadavg)
  g=$("$BIN" -case "$c" -steps "$steps" -warmup "$warm" -threads "$THREADS")
  spec=$(printf '%s' "$g" | "$PY" -c 'import json,sys; print(json.load(sys.stdin).get("note") or "{}")')
  t=$("$PY" bench/torch_bench.py --case "$c" --spec "$spec" --steps "$steps" --warmup "$warm" --threads "$THREADS")
  load1=$(cut -d' ' -f1 /proc/loadavg)
  printf '{"go": %s, "torch": %s, "load": [%s, %s]}\n' "$g" "$t" "$load0" "$load1" >> "$LINES"
done
"$PY" - "$LINES" "$OUT/model.json" <<'PYEOF'
import json, sys
rows = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    g, t = r["go"], r["torch"]
    spec = json.loads(g.get("note") or "{}")
    row = {
        "name": g["name"],
        "go_ms": round(g["ms"], 2),
        "torch_ms": round(t["ms"], 2),
        "ratio": round(g["ms"] / t["ms"], 3),
        "go_rss_mb": round(g["rss_mb"], 1),
        "torch_rss_mb": round(t["rss_mb"], 1),
        "rss_ratio": round(g["rss_mb"] / t["rss_mb"], 3),
        "go_cpu_ms": round(g["cpu_ms"], 1),
        "torch_cpu_ms": round(t["cpu_ms"], 1),
        "steps": g["steps"],
        "load_avg": r["load"],
    }
    if "params" in spec:
        row["params"] = spec["params"]
        if t.get("params") not in (None, spec["params"]):
            row["torch_params"] = t["params"]
    if g["name"].startswith("ddim"):
        n = spec["sample"]["batch_size"]
        row["go_images_per_s"] = round(n / g["ms"] * 1e3, 2)
        row["torch_images_per_s"] = round(n / t["ms"] * 1e3, 2)
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
    notes.append(f"load {r['load_avg'][0]:.1f}->{r['load_avg'][1]:.1f}")
    print(f"{r['name']:34} {r['go_ms']:9.1f} {r['torch_ms']:9.1f} {r['ratio']:6.2f} {r['go_rss_mb']:7.0f} {r['torch_rss_mb']:8.0f}  {', '.join(notes)}")
PYEOF
rm -f "$LINES"
