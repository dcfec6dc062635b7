#!/usr/bin/env bash
# Secure-aggregation benchmark (make bench-crypto): mask expansion
# throughput in GB/s (with raw AES-256-CTR as the reference); whole rounds
# with crypto/secagg against a plain FedAvg round for 10 and 50 sites with
# 1M parameters, in process (state machines only) and over loopback gRPC
# (the real coordinator and site agents, mTLS on 127.0.0.1, one process).
# Prints a table and writes bench/out/crypto.json; the last secure gRPC
# round of the largest roster is CPU-profiled into bench/out/crypto-grpc.pprof
# and summarised in bench/out/crypto-profile.txt. Then the same gRPC rounds
# with real local training: every site first runs TRAIN_STEPS steps of a
# 1.05M-parameter classifier on 32 images each, as a (small) FedAvg round
# does.
#
# Environment: PARAMS (default 1000000), SITES (default 10,50), REPS
# (default 5), GRPC_SITES (default SITES; "none" skips), GRPC_REPS (default
# REPS), TRAIN_STEPS (default 5; 0 skips the trained rounds), TRAIN_SITES
# (default GRPC_SITES), TRAIN_REPS (default 3). Extra arguments go to
# bench/cryptobench (see -help).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/out
tags=$(scripts/blas-tags.sh 2>/dev/null || true)
go run ${tags:+-tags "$tags"} ./bench/cryptobench \
	-out bench/out/crypto.json \
	-params "${PARAMS:-1000000}" \
	-sites "${SITES:-10,50}" \
	-reps "${REPS:-5}" \
	-grpc-sites "${GRPC_SITES:-${SITES:-10,50}}" \
	-grpc-reps "${GRPC_REPS:-${REPS:-5}}" \
	-grpc-profile bench/out/crypto-grpc.pprof \
	-train-steps "${TRAIN_STEPS:-5}" \
	-train-sites "${TRAIN_SITES:-${GRPC_SITES:-${SITES:-10,50}}}" \
	-train-reps "${TRAIN_REPS:-3}" \
	"$@"
if [ -s bench/out/crypto-grpc.pprof ]; then
	{
		echo "# CPU profile of one secure round over loopback gRPC (all sites and the coordinator in one process)"
		go tool pprof -top -nodecount=30 bench/out/crypto-grpc.pprof 2>/dev/null
		echo
		echo "# by cumulative time"
		go tool pprof -top -cum -nodecount=40 bench/out/crypto-grpc.pprof 2>/dev/null | tail -n +6
	} >bench/out/crypto-profile.txt
	echo "wrote bench/out/crypto-profile.txt"
fi
