#!/usr/bin/env bash
# Prints the Go build tag that enables the OpenBLAS GEMM when the library and
# its header are installed and cgo works; prints nothing otherwise, which
# selects the pure-Go GEMM.
set -u
[ "$(go env CGO_ENABLED)" = 1 ] || exit 0
for h in /usr/include/x86_64-linux-gnu/cblas.h /usr/include/cblas.h /usr/include/openblas/cblas.h /usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h; do
  if [ -f "$h" ] && ls /usr/lib/x86_64-linux-gnu/libopenblas.so* >/dev/null 2>&1; then
    echo openblas
    exit 0
  fi
done
exit 0
