#!/usr/bin/env bash
# Runs every go test -fuzz target in the module for FUZZTIME each (default
# 10s). Targets are discovered, not listed, so a new decoder's fuzz target is
# picked up without editing this script. Usage: scripts/fuzz.sh [pkg-pattern]
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10s}
tags=$(scripts/blas-tags.sh)
pattern=${1:-./...}
status=0
for pkg in $(go list $pattern); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  targets=$(grep -hoE '^func (Fuzz[A-Za-z0-9_]+)\(' "$dir"/*_test.go 2>/dev/null | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/' | sort -u || true)
  for t in $targets; do
    echo "== $pkg $t ($fuzztime)"
    if ! go test ${tags:+-tags $tags} -run '^$' -fuzz "^$t\$" -fuzztime "$fuzztime" "$pkg"; then
      status=1
    fi
  done
done
exit $status
