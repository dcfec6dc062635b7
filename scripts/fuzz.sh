#!/usr/bin/env bash
# Runs every go test -fuzz target in the module for FUZZTIME each (default
# 10s). Targets are discovered, not listed, so a new decoder's fuzz target is
# picked up without editing this script. Usage: scripts/fuzz.sh [pkg-pattern]
set -uo pipefail
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
    # Go 1.26's fuzz coordinator can report a bare "context deadline
    # exceeded" when -fuzztime ends mid-exec (golang/go#75804, fixed in Go
    # 1.27). A real failure writes its input to testdata/fuzz/$t; a bare
    # deadline with no input written is that race, and the target is run
    # once more.
    for try in 1 2; do
      log=$(mktemp)
      if go test ${tags:+-tags $tags} -run '^$' -fuzz "^$t\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tee "$log"; then
        rm -f "$log"; break
      fi
      if [ "$try" = 1 ] && grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
        echo "== $t: the fuzz coordinator's deadline race (golang/go#75804), no failing input: running it again"
        rm -f "$log"; continue
      fi
      rm -f "$log"; status=1; break
    done
  done
done
exit $status
