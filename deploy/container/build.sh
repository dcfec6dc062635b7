#!/usr/bin/env bash
# Builds the synthfed site-agent image from a static pure-Go build without
# pulling any base image.
#
#   bash deploy/container/build.sh          static binary, rootfs/ and an OCI
#                                           image archive in deploy/container/out
#   bash deploy/container/build.sh --check  only the static build and its checks
#
# The build is CGO_ENABLED=0: the pure-Go GEMM of model/nn, no libc, no
# OpenBLAS. The binary must come out statically linked (no ELF interpreter,
# no shared libraries) and must run. The OCI archive (an OCI image layout in
# a tar, reproducible for a given binary: fixed timestamps and owners) loads
# with `podman load -i FILE`, `skopeo copy oci-archive:FILE ...` or
# `docker load` (Docker 25+); deploy/container/Containerfile builds the same
# image with podman/buildah from rootfs/.
#
# Environment: OUT (default deploy/container/out), GOARCH (default the host's),
# TAG (default: git describe), BIN (a static binary built already: skip the
# build, keep the checks), IMAGE (see the end).
set -euo pipefail
cd "$(dirname "$0")/../.."
check=0
[ "${1:-}" = "--check" ] && check=1
out=${OUT:-deploy/container/out}
arch=${GOARCH:-$(go env GOARCH)}
tag=${TAG:-$(git describe --always --dirty 2>/dev/null || echo dev)}
mkdir -p "$out"
bin=$out/synthfed

if [ -n "${BIN:-}" ]; then
  cp "$BIN" "$bin"
else
  echo "build.sh: CGO_ENABLED=0 GOARCH=$arch go build ./cmd/synthfed" >&2
  CGO_ENABLED=0 GOARCH=$arch go build -trimpath -ldflags "-s -w -buildid=" -o "$bin" ./cmd/synthfed
fi

# The checks: built without cgo, no interpreter or shared libraries, runs.
go version -m "$bin" | grep -q 'CGO_ENABLED=0' || { echo "build.sh: $bin was not built with CGO_ENABLED=0" >&2; exit 1; }
if command -v readelf >/dev/null; then
  if readelf -l "$bin" | grep -q INTERP || readelf -d "$bin" 2>/dev/null | grep -q NEEDED; then
    echo "build.sh: $bin is dynamically linked" >&2
    exit 1
  fi
fi
if [ "$arch" = "$(go env GOHOSTARCH)" ]; then
  "$bin" --help >/dev/null
  "$bin" site-agent --help >/dev/null
fi
echo "build.sh: $bin is static ($(du -h "$bin" | cut -f1))" >&2
[ $check = 1 ] && exit 0

# rootfs: the binary, the unprivileged user, mount points.
rootfs=$out/rootfs
rm -rf "$rootfs"
mkdir -p "$rootfs/usr/local/bin" "$rootfs/etc/synthfed" "$rootfs/srv/cxr" "$rootfs/var/lib/synthfed" "$rootfs/tmp"
install -m 0755 "$bin" "$rootfs/usr/local/bin/synthfed"
printf 'root:x:0:0:root:/:/sbin/nologin\nsynthfed:x:65532:65532:synthfed site agent:/var/lib/synthfed:/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nsynthfed:x:65532:\n' >"$rootfs/etc/group"
chmod 0644 "$rootfs/etc/passwd" "$rootfs/etc/group"
chmod 1777 "$rootfs/tmp"
chmod 0755 "$rootfs/etc/synthfed" "$rootfs/srv/cxr"
chmod 0750 "$rootfs/var/lib/synthfed"

# The layer: every entry root-owned with a fixed time, except the state
# directory, owned by the agent's user.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
taropts=(--sort=name --mtime=@0 --numeric-owner --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime)
(cd "$rootfs" && tar "${taropts[@]}" --owner=0 --group=0 --exclude=./var/lib/synthfed -cf "$work/layer.tar" .)
(cd "$rootfs" && tar "${taropts[@]}" --owner=65532 --group=65532 --no-recursion -rf "$work/layer.tar" ./var/lib/synthfed)
gzip -n -9 <"$work/layer.tar" >"$work/layer.tar.gz"

layout=$work/oci
mkdir -p "$layout/blobs/sha256"
blob() { # file -> digest (and stores it)
  local d
  d=$(sha256sum "$1" | cut -d' ' -f1)
  cp "$1" "$layout/blobs/sha256/$d"
  echo "$d"
}
size() { wc -c <"$1" | tr -d ' '; }
diffid=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
layer=$(blob "$work/layer.tar.gz")
cat >"$work/config.json" <<JSON
{"architecture":"$arch","os":"linux","created":"1970-01-01T00:00:00Z","config":{"User":"65532:65532","Env":["PATH=/usr/local/bin"],"Entrypoint":["/usr/local/bin/synthfed","site-agent"],"Cmd":["--config","/etc/synthfed/site-agent.toml","--log-format","json"],"WorkingDir":"/var/lib/synthfed","Volumes":{"/var/lib/synthfed":{}},"Labels":{"org.opencontainers.image.title":"synthfed site agent","org.opencontainers.image.version":"$tag"}},"rootfs":{"type":"layers","diff_ids":["sha256:$diffid"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"deploy/container/build.sh (static CGO_ENABLED=0 build, no base image)"}]}
JSON
config=$(blob "$work/config.json")
cat >"$work/manifest.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$config","size":$(size "$work/config.json")},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:$layer","size":$(size "$work/layer.tar.gz")}]}
JSON
manifest=$(blob "$work/manifest.json")
cat >"$layout/index.json" <<JSON
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$manifest","size":$(size "$work/manifest.json"),"annotations":{"org.opencontainers.image.ref.name":"$tag"}}]}
JSON
printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
archive=$out/synthfed-site-agent-$tag-$arch.oci.tar
(cd "$layout" && tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - oci-layout index.json blobs) >"$archive"
echo "build.sh: wrote $rootfs and $archive (manifest sha256:$manifest)" >&2

# Where a Docker Engine runs, also load the image into it (docker build from
# rootfs/: FROM scratch pulls nothing) as synthfed/synthfed:latest and :$tag,
# the image deploy/compose/ and `synthfed soak` use. NO_DOCKER=1 skips it;
# IMAGE names it instead (the tests build synthfed/synthfed:test and tag
# nothing else).
if [ "${NO_DOCKER:-0}" != 1 ] && command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  if [ -n "${IMAGE:-}" ]; then
    docker build -q -f deploy/container/Containerfile -t "$IMAGE" "$out" >/dev/null
    echo "build.sh: docker image $IMAGE ($tag)" >&2
  else
    docker build -q -f deploy/container/Containerfile -t synthfed/synthfed:latest -t "synthfed/synthfed:$tag" "$out" >/dev/null
    echo "build.sh: docker image synthfed/synthfed:latest ($tag)" >&2
  fi
fi
