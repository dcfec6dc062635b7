#!/usr/bin/env bash
# The device check: is synthfed's OpenCL device backend right, and how fast,
# on a machine with a GPU but no Go toolchain?
#
#   scripts/device-check.sh pack [TARBALL]  here: build and pack (default
#                                           bin/device-check.tar.gz, <= 64 MiB)
#   ./device-check.sh run                   there, in the unpacked folder
#   scripts/device-check.sh selftest        here: pack, unpack in a temporary
#                                           folder and run it on this
#                                           machine's OpenCL device (pocl)
#
# The tarball holds the synthfed binary, the test binaries of model/device
# and model/device/opencl (every kernel against model/nn's CPU kernels,
# whole training steps, the SGEMM benchmark), the ICD loader
# libOpenCL.so.1 and an ICD vendors folder naming NVIDIA's
# libnvidia-opencl.so.1, which the container runtime mounts (its
# nvidia.icd file usually is not). `run` prints, in order: the OpenCL
# devices and how they were found, each kernel's result against the CPU
# path, the SGEMM and convolution benchmarks (GFLOP/s, device and CPU
# path), a DDPM training step with every model/nn op on the device against
# the CPU (images/s), a short consortium (a coordinator and three site
# agents as processes) whose sites train on the device, the GPU bench
# (bench/gpubench: the cases of `make bench-gpu` against the CPU figures
# measured on the 2-core CI machine, built into it) and a 3-site simulated
# study consortium at SIM_SIZE px trained and sampled on the device
# (`synthfed sim --device`).
#
# Environment for `run`: DEVICE=opencl:N picks the device (default: the
# first GPU, else opencl:0); SGEMM_SIZES (default 128,512,1024,2048 on a
# GPU, 128,512 otherwise); STEP_TIMEOUT (seconds per step, default 240);
# GPU_BENCH_FLAGS (default: the issue's batch sizes and a 45 s budget per
# case on a GPU, small batches and 20 s on a CPU device); SIM_SIZE (image
# side of the simulated study, default 64 on a GPU, 16 otherwise); OUT (a
# folder that keeps gpu.json and the sim's report, default a temporary
# one).
set -euo pipefail

die() { echo "device-check: $*" >&2; exit 1; }

# Temporary folders live under one folder, removed when the script exits.
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
tmpdir() { mktemp -d -p "$TMP"; }

# --- pack (here) -----------------------------------------------------------

# find_lib NAME: the path of a shared library from the linker cache.
find_lib() {
  ldconfig -p 2>/dev/null | awk -v n="$1" '$1 == n && /x86-64/ { print $NF; exit }'
}

pack() {
  local out=${1:-bin/device-check.tar.gz}
  local root; root=$(cd "$(dirname "$0")/.." && pwd)
  cd "$root"
  command -v go >/dev/null || die "pack needs Go (run it where synthfed builds)"
  local stage; stage=$(tmpdir)
  local d="$stage/synthfed-device-check"
  mkdir -p "$d/lib" "$d/vendors"
  # cgo is needed: purego's dlopen of libOpenCL.so.1. No openblas tag, so
  # the binaries need nothing beyond glibc and the OpenCL loader; the CPU
  # reference path is the pure-Go GEMM there.
  local flags=(-trimpath -ldflags "-s -w")
  echo "device-check: building synthfed and the test binaries" >&2
  CGO_ENABLED=1 go build "${flags[@]}" -o "$d/synthfed" ./cmd/synthfed
  CGO_ENABLED=1 go test -c "${flags[@]}" -o "$d/device.test" ./model/device/
  CGO_ENABLED=1 go test -c "${flags[@]}" -o "$d/opencl.test" ./model/device/opencl/
  CGO_ENABLED=1 go build "${flags[@]}" -o "$d/gpubench" ./bench/gpubench
  local ocl; ocl=$(find_lib libOpenCL.so.1)
  [ -n "$ocl" ] || die "no libOpenCL.so.1 here to carry (scripts/deps.sh installs ocl-icd-libopencl1)"
  cp -L "$ocl" "$d/lib/libOpenCL.so.1"
  echo "libnvidia-opencl.so.1" > "$d/vendors/nvidia.icd"
  cp "$root/scripts/device-check.sh" "$d/device-check.sh"
  git -C "$root" describe --always --dirty > "$d/VERSION" 2>/dev/null || echo unknown > "$d/VERSION"
  mkdir -p "$(dirname "$out")"
  tar -C "$stage" -czf "$out" synthfed-device-check
  local size; size=$(stat -c %s "$out")
  echo "device-check: $out: $((size / 1024 / 1024)) MiB ($size bytes):" >&2
  tar -tvzf "$out" | awk '{ printf "  %10d  %s\n", $3, $6 }' >&2
  [ "$size" -le $((64 * 1024 * 1024)) ] || die "$out is over 64 MiB"
}

# --- run (on the GPU machine, or here in selftest) -------------------------

# opencl_env: point the ICD loader at every vendor file of this machine plus
# our nvidia.icd when NVIDIA's library is there, and at the carried loader
# when the machine has none.
opencl_env() {
  local dir=$1 v; v=$(tmpdir)
  local found=()
  for f in /etc/OpenCL/vendors/*.icd; do
    [ -e "$f" ] && cp "$f" "$v/" && found+=("$(basename "$f") (system)")
  done
  if [ ! -e "$v/nvidia.icd" ]; then
    local nv; nv=$(find_lib libnvidia-opencl.so.1)
    for p in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/nvidia/lib64 /usr/lib; do
      [ -z "$nv" ] && [ -e "$p/libnvidia-opencl.so.1" ] && nv="$p/libnvidia-opencl.so.1"
    done
    if [ -n "$nv" ]; then
      echo "$nv" > "$v/nvidia.icd"
      found+=("nvidia.icd -> $nv (carried vendors file)")
    fi
  fi
  export OCL_ICD_VENDORS=$v
  if [ -z "$(find_lib libOpenCL.so.1)" ]; then
    export SYNTHFED_OPENCL_LIB=$dir/lib/libOpenCL.so.1
    echo "OpenCL loader: carried $SYNTHFED_OPENCL_LIB (none on this machine)"
  else
    echo "OpenCL loader: $(find_lib libOpenCL.so.1) (this machine's)"
  fi
  echo "ICD vendors ($v): ${found[*]:-none}"
  [ -n "$(find_lib libnvidia-opencl.so.1)" ] || echo "note: no libnvidia-opencl.so.1 on this machine (no NVIDIA OpenCL driver mounted: run the container with the 'compute' driver capability)"
}

# step TITLE CMD...: runs one step under the step timeout, never stopping
# the check; the step's status is recorded for the summary.
declare -a SUMMARY=()
step() {
  local title=$1; shift
  echo
  echo "=== $title"
  local t0=$SECONDS rc=0
  timeout "${STEP_TIMEOUT:-240}" "$@" || rc=$?
  SUMMARY+=("$(printf '%-34s %s (%ds)' "$title" "$([ $rc = 0 ] && echo ok || echo "FAILED rc=$rc")" $((SECONDS - t0)))")
  return 0
}

# sim DIR DEVICE: a coordinator and three site agents as processes, all on
# loopback; every site trains the built-in logreg on the device
# ([compute] device), and a 3-round FedAvg job runs to the end.
sim() {
  local dir=$1 device=$2 work; work=$(tmpdir)
  local port=$((17000 + RANDOM % 2000))
  cat > "$work/coordinator.toml" <<EOF
id = "coordinator"
listen = "127.0.0.1:$port"
insecure = true
data_dir = "$work/coordinator-data"
heartbeat_interval = "1s"
heartbeat_timeout = "20s"
[gossip]
enabled = false
EOF
  cat > "$work/job.toml" <<EOF
id = "device-check"
kind = "train"
model = "logreg"
rounds = 3
quorum = 3
sites = ["site-1", "site-2", "site-3"]
[deadlines]
select = "60s"
init = "60s"
train = "120s"
[train]
local_steps = 200
batch_size = 256
learning_rate = 0.1
EOF
  local pids=()
  "$dir/synthfed" coordinator --config "$work/coordinator.toml" > "$work/coordinator.log" 2>&1 &
  pids+=($!)
  for i in 1 2 3; do
    cat > "$work/site-$i.toml" <<EOF
site_id = "site-$i"
coordinator = "127.0.0.1:$port"
insecure = true
[gossip]
enabled = false
[compute]
device = "$device"
[logreg]
site = $((i - 1))
dim = 256
train_samples = 20000
norm = true
EOF
    "$dir/synthfed" site-agent --config "$work/site-$i.toml" > "$work/site-$i.log" 2>&1 &
    pids+=($!)
  done
  local rc=0 t0=$SECONDS
  sleep 1
  "$dir/synthfed" job submit "$work/job.toml" --insecure --coordinator "127.0.0.1:$port" --wait || rc=$?
  echo "job took $((SECONDS - t0)) s"
  "$dir/synthfed" job status device-check --insecure --coordinator "127.0.0.1:$port" || rc=1
  grep -h "logreg trains on the device\|compute device\|no usable OpenCL" "$work"/site-*.log | head -3 || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ $rc = 0 ] || { echo "--- logs"; tail -n 20 "$work"/*.log; }
  return $rc
}

# simstudy DIR DEVICE SIZE OUT: the tiny study profile at SIZE px with
# three sites that train and sample on DEVICE (two device jobs at once):
# the real coordinator and agents in one process (synthfed sim).
simstudy() {
  local dir=$1 device=$2 size=$3 out=$4
  cat > "$out/sim-device.toml" <<EOF
title = "device check: 3 sites at ${size} px on $device"
sites = 3
[data]
size = $size
supersample = 1
[ddpm]
rounds = 2
local_steps = 4
[ddpm.arch]
image_size = $size
base_channels = 16
channel_mults = [1, 2, 2]
groups = 4
time_emb_dim = 32
[ddpm.train]
batch_size = 16
[classifier.arch]
image_size = $size
EOF
  "$dir/synthfed" sim --profile tiny --config "$out/sim-device.toml" --device "$device" --device-jobs 2 --out "$out/sim" \
    | grep -v '^  ' | grep -E 'sim:|device jobs|phase .*: done|fell back|total|report:'
}

run() {
  local dir; dir=$(cd "$(dirname "$0")" && pwd)
  echo "synthfed device check $(cat "$dir/VERSION" 2>/dev/null) on $(uname -n), $(date -u +%FT%TZ)"
  opencl_env "$dir"
  step "devices (smoke: kernels build, SGEMM vs CPU)" "$dir/synthfed" devices --smoke
  local device=${DEVICE:-}
  if [ -z "$device" ]; then
    device=$("$dir/synthfed" devices | awk '$2 == "gpu" { print $1; exit }')
    device=${device:-opencl:0}
  fi
  local sizes=${SGEMM_SIZES:-}
  if [ -z "$sizes" ]; then
    sizes=128,512
    "$dir/synthfed" devices | awk -v d="$device" '$1 == d && $2 == "gpu" { f = 1 } END { exit !f }' && sizes=128,512,1024,2048 \
      && export SYNTHFED_BENCH_LARGE=1
  fi
  echo "device under test: $device"
  export SYNTHFED_TEST_DEVICE=$device SYNTHFED_SGEMM_SIZES=$sizes
  step "opencl kernels vs Go references" "$dir/opencl.test" -test.v -test.count 1 -test.run .
  step "model/nn kernels and steps vs CPU" "$dir/device.test" -test.v -test.count 1 -test.run .
  step "SGEMM ($sizes) and conv benchmarks" "$dir/opencl.test" -test.run '^$' -test.bench 'SGEMM|Conv2D' -test.benchtime 10x -test.count 1
  step "DDPM step, model/nn ops on the device vs CPU" "$dir/device.test" -test.run '^$' -test.bench DDPMStep -test.benchtime 2x -test.count 1
  step "3-site consortium on $device" "$dir/device-check.sh" sim "$dir" "$device"
  local out=${OUT:-} gpu=0 bench=${GPU_BENCH_FLAGS:-} size=${SIM_SIZE:-}
  [ -n "$out" ] || out=$(tmpdir)
  mkdir -p "$out"
  "$dir/synthfed" devices | awk -v d="$device" '$1 == d && $2 == "gpu" { f = 1 } END { exit !f }' && gpu=1
  if [ -z "$bench" ]; then
    if [ $gpu = 1 ]; then
      bench="-budget 45s"
    else
      bench="-budget 20s -steps 1 -batch-ddpm-32 4 -batch-ddpm-64 2 -batch-classifier-64 4 -batch-ddim-64 4 -batch-ddpm-256-study 1"
    fi
  fi
  [ -n "$size" ] || { [ $gpu = 1 ] && size=64 || size=16; }
  # shellcheck disable=SC2086 # GPU_BENCH_FLAGS is a list of flags
  step "GPU bench on $device (vs the CI machine's CPU)" "$dir/gpubench" -device "$device" -cpu embedded -out "$out/gpu.json" $bench
  step "3-site ${size}-px study sim on $device" "$dir/device-check.sh" simstudy "$dir" "$device" "$size" "$out"
  echo "gpu.json and the sim's report: $out"
  echo
  echo "=== summary"
  printf '%s\n' "${SUMMARY[@]}"
  printf '%s\n' "${SUMMARY[@]}" | grep -q FAILED && return 1
  return 0
}

selftest() {
  local root; root=$(cd "$(dirname "$0")/.." && pwd)
  local tmp; tmp=$(tmpdir)
  pack "$tmp/device-check.tar.gz"
  tar -C "$tmp" -xzf "$tmp/device-check.tar.gz"
  DEVICE=${DEVICE:-opencl:0} "$tmp/synthfed-device-check/device-check.sh" run
}

case "${1:-}" in
  pack) shift; pack "$@" ;;
  run) run ;;
  sim) shift; sim "$@" ;;
  simstudy) shift; simstudy "$@" ;;
  selftest) selftest ;;
  *) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 2 ;;
esac
