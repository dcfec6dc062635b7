#!/usr/bin/env bash
# Regenerates protocol/fedpb from its .proto files with Debian's protoc and
# pinned protoc-gen-go / protoc-gen-go-grpc (installed once with `go install`
# into a local cache; offline afterwards).
#   bash protocol/gen.sh           regenerate in place
#   bash protocol/gen.sh --check   fail if the committed code is not current
# Without protoc it skips with a message: the committed code is used.
set -euo pipefail
cd "$(dirname "$0")/.."
PROTOC_GEN_GO=v1.36.12        # google.golang.org/protobuf, as in go.mod
PROTOC_GEN_GO_GRPC=v1.6.1     # google.golang.org/grpc/cmd/protoc-gen-go-grpc
check=0
[ "${1:-}" = "--check" ] && check=1

if ! command -v protoc >/dev/null; then
  echo "protocol/gen.sh: protoc not found (apt-get install protobuf-compiler); skipping, committed code is used" >&2
  exit 0
fi
bin=${SYNTHFED_PROTO_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/synthfed/protoc-bin/go-$PROTOC_GEN_GO-grpc-$PROTOC_GEN_GO_GRPC}
mkdir -p "$bin"
install_tool() { # name module@version
  [ -x "$bin/$1" ] && return 0
  if ! GOBIN="$bin" GOFLAGS=-mod=mod go install "$2" >&2; then
    echo "protocol/gen.sh: cannot install $2 (offline?); skipping" >&2
    exit 0
  fi
}
install_tool protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO
install_tool protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC

out=protocol/fedpb
if [ $check = 1 ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
PATH="$bin:$PATH" protoc -I protocol/fedpb -I /usr/include \
  --go_out="$out" --go_opt=paths=source_relative \
  --go-grpc_out="$out" --go-grpc_opt=paths=source_relative \
  protocol/fedpb/*.proto
if [ $check = 1 ]; then
  status=0
  for f in "$out"/*.go; do
    if ! cmp -s "$f" "protocol/fedpb/$(basename "$f")"; then
      echo "protocol/gen.sh: protocol/fedpb/$(basename "$f") is out of date; run make proto" >&2
      status=1
    fi
  done
  [ $status = 0 ] && echo "protocol/gen.sh: generated code is current"
  exit $status
fi
echo "protocol/gen.sh: regenerated $out" >&2
