#!/usr/bin/env bash
# Installs what the build needs beyond Go, once, through Debian's apt.
# Everything is optional: without OpenBLAS the build falls back to pure-Go
# GEMM, without protoc the committed generated code is used, and without
# OpenCL (the ICD loader and pocl, the CPU OpenCL device that CI tests the
# device kernels on) the model/device/opencl tests skip with a reason.
# The OpenCL packages go through their own apt-get call, so that a failure
# there never costs the build OpenBLAS.
# Usage: scripts/deps.sh [build|bench|all]
set -u
want=${1:-build}
pkgs=(libopenblas-dev pkg-config)
case "$want" in
  bench|all) pkgs+=(python3-torch python3-numpy) ;;
esac
case "$want" in
  all) pkgs+=(protobuf-compiler python3-sklearn r-cran-proc python3-pydicom) ;;
esac
opencl=(ocl-icd-libopencl1 pocl-opencl-icd)

# missing PKG...: prints the packages that are not installed.
missing() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

updated=0
# install PKG...: installs the packages that are missing, once, or says why not.
install() {
  local need
  mapfile -t need < <(missing "$@")
  [ ${#need[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "deps: cannot install ${need[*]} (need root and apt-get); continuing without them" >&2
    return 0
  fi
  echo "deps: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q "${need[@]}" >>/tmp/synthfed-apt.log 2>&1; then
    if [ $updated = 0 ]; then
      apt-get update -q >>/tmp/synthfed-apt.log 2>&1 || true
      updated=1
    fi
    apt-get install -y -q "${need[@]}" >>/tmp/synthfed-apt.log 2>&1 \
      || echo "deps: apt-get failed for ${need[*]} (see /tmp/synthfed-apt.log); continuing without them" >&2
  fi
  return 0
}

install "${pkgs[@]}"
install "${opencl[@]}"
exit 0
