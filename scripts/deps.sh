#!/usr/bin/env bash
# Installs what the build needs beyond Go, once, through Debian's apt.
# Everything is optional: without OpenBLAS the build falls back to pure-Go
# GEMM, and without protoc the committed generated code is used.
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
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "deps: cannot install ${missing[*]} (need root and apt-get); continuing without them" >&2
  exit 0
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q "${missing[@]}" >/tmp/synthfed-apt.log 2>&1; then
  apt-get update -q >>/tmp/synthfed-apt.log 2>&1 || true
  apt-get install -y -q "${missing[@]}" >>/tmp/synthfed-apt.log 2>&1 \
    || echo "deps: apt-get failed for ${missing[*]} (see /tmp/synthfed-apt.log); continuing without them" >&2
fi
exit 0
