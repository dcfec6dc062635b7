# synthfed build. `make sim` and `make test` do all the set-up on a fresh
# machine: scripts/deps.sh installs OpenBLAS through apt-get when it can, and
# the build falls back to pure Go when it cannot.
SHELL := /bin/bash
GO ?= go
BIN := bin/synthfed
# The build tag is read when a recipe runs, after `deps` has installed
# OpenBLAS: read when make parses this file, a fresh machine's first build
# would miss the library that `deps` installs a moment later and fall back
# to the pure-Go GEMM (several times slower).
GOTAGS = $$(t=$$(scripts/blas-tags.sh); [ -n "$$t" ] && echo "-tags $$t")
# Packages where the race detector is affordable.
RACE_PKGS := ./internal/... ./coordinator/... ./protocol/... ./site-agent/...
TEST_TIMEOUT ?= 540s

SOAK_FLAGS ?=

.PHONY: soak all deps build test test-race test-rest test-purego sim check proto bench bench-model bench-crypto bench-go bench-scale bench-scale-round bench-gpu fuzz static image clean

all: build

deps:
	@scripts/deps.sh build

build: deps
	$(GO) build $(GOTAGS) -o $(BIN) ./cmd/synthfed

# The README's test command: what CI runs.
test: deps
	$(MAKE) --no-print-directory test-race test-rest test-purego

test-race:
	$(GO) test $(GOTAGS) -race -timeout $(TEST_TIMEOUT) $$($(GO) list $(RACE_PKGS) 2>/dev/null)

test-rest:
	$(GO) test $(GOTAGS) -timeout $(TEST_TIMEOUT) $$($(GO) list ./... | grep -v -E '/(internal|coordinator|protocol|site-agent)(/|$$)')

# The fallback without OpenBLAS or cgo must keep compiling and passing the
# kernel tests (pure-Go GEMM), and secure aggregation its tests without the
# AVX2 ring kernels (the purego tag).
test-purego:
	CGO_ENABLED=0 $(GO) vet ./model/...
	CGO_ENABLED=0 $(GO) test -timeout $(TEST_TIMEOUT) ./model/nn/
	$(GO) test -tags purego -timeout $(TEST_TIMEOUT) ./crypto/secagg/

# The soak: the real coordinator and 50 real site agents for 20 minutes
# under a seeded chaos schedule (SOAK_FLAGS="--sites 5 --duration 60s" for a
# short one); invariants held or broken, figures in bench/out/soak.json.
# Where a Docker Engine runs, the image is built first and every member is
# its own container; elsewhere they are processes.
soak: build
	@if command -v docker >/dev/null && docker info >/dev/null 2>&1; then $(MAKE) --no-print-directory image; fi
	$(BIN) soak --out out/soak --json bench/out/soak.json $(SOAK_FLAGS)

# The main job: a simulated consortium on the embedded default profile.
sim: build
	$(BIN) sim --out out/sim

check:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(GOTAGS) ./...
	@cp go.mod /tmp/synthfed-go.mod.bak; cp go.sum /tmp/synthfed-go.sum.bak; \
	$(GO) mod tidy; \
	if ! git diff --quiet -- go.mod go.sum; then echo "go mod tidy changes go.mod/go.sum"; git diff -- go.mod go.sum | head -40; \
	  cp /tmp/synthfed-go.mod.bak go.mod; cp /tmp/synthfed-go.sum.bak go.sum; exit 1; fi
	@if [ -f protocol/gen.sh ]; then bash protocol/gen.sh --check; fi
	$(MAKE) --no-print-directory test-race

proto:
	bash protocol/gen.sh

bench: bench-model bench-crypto bench-go

bench-model: build
	@scripts/deps.sh bench
	bash bench/model.sh

bench-crypto: build
	bash bench/crypto.sh

# The data path at 256 px (docs/scale.md): data prepare, loader throughput
# and train-job RSS on a phantom site of SCALE_N images (default 50000).
bench-scale: build
	$(GO) build $(GOTAGS) -o bin/scalebench ./bench/scalebench
	bin/scalebench -bin $(BIN) -out bench/out/scale.json

# Only the study-size federated round of bench-scale (10 site processes, 100M parameters).
bench-scale-round: build
	$(GO) build $(GOTAGS) -o bin/scalebench ./bench/scalebench
	bin/scalebench -bin $(BIN) -only round -out bench/out/scale.json

# The OpenCL device against the CPU path (docs/gpu.md): one row per case in
# bench/out/gpu.json. GPU_DEVICE picks the device (default auto, which
# skips pocl: name it here, e.g. GPU_DEVICE=opencl:0); GPU_BENCH_FLAGS
# adds flags (batch sizes, -budget per case, -cases).
GPU_DEVICE ?= auto
GPU_BENCH_FLAGS ?=
bench-gpu: deps
	$(GO) build $(GOTAGS) -o bin/gpubench ./bench/gpubench
	bin/gpubench -device $(GPU_DEVICE) -out bench/out/gpu.json $(GPU_BENCH_FLAGS)

# Go-only benchmarks of the libraries (data, eval, phantom).
bench-go:
	$(GO) test $(GOTAGS) -run '^$$' -bench . -benchtime 1x -count 1 ./dataset/... ./eval/... ./sims/...

fuzz:
	bash scripts/fuzz.sh

# Static pure-Go build of the container recipe (no base image pulled).
static:
	bash deploy/container/build.sh --check

# The image (and, where a Docker Engine runs, synthfed/synthfed:latest in
# it: deploy/compose/ and TestComposeConsortium use it).
image:
	bash deploy/container/build.sh

clean:
	rm -rf bin out
