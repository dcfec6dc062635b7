#!/usr/bin/env bash
# Makes the compose consortium's kits from examples/consortium.toml in
# DIR/pki (default: this folder; kept if there) and the state folders in
# DIR/state, for the image's user 65532. The agents' privacy ledger goes to their state volume, gossip
# is off (heartbeats detect failures) and each site gets its own generated
# data. SYNTHFED names the binary (default bin/synthfed: make build).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dir=${1:-$here}
bin=${SYNTHFED:-$root/bin/synthfed}
if [ ! -d "$dir/pki" ]; then
  "$bin" provision --config "$root/examples/consortium.toml" --out "$dir/pki" >/dev/null
  i=0
  for s in hospital-a hospital-b hospital-c; do
    printf '\n[gossip]\nenabled = false\n[privacy]\nstate_dir = "/var/lib/synthfed/privacy"\n[logreg]\nsite = %d\n' $i \
      >>"$dir/pki/kits/site/$s/site-agent.toml"
    i=$((i + 1))
  done
  printf '\n[gossip]\nenabled = false\n' >>"$dir/pki/kits/coordinator/coordinator/coordinator.toml"
fi
mkdir -p "$dir/state/coordinator" "$dir/state/hospital-a" "$dir/state/hospital-b" "$dir/state/hospital-c"
# The image runs as 65532 and the keys are 0600.
if [ "$(id -u)" = 0 ]; then
  chown -R 65532:65532 "$dir/pki" "$dir/state"
else
  echo "prepare.sh: not root: make $dir/pki and $dir/state readable and writable by uid 65532" >&2
fi
echo "prepare.sh: kits in $dir/pki"
