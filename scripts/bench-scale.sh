#!/usr/bin/env bash
# The long runs of "cost as the work grows", beside scripts/bench.sh:
#
#   - the disk tier from 10,000 to 1,000,000 entries: time to serving after a
#     restart, time to a hit before the index is complete, time to the full
#     index (BenchmarkDiskStartScale: writes the files once, about 1.2 GB for
#     a million); index memory per entry and the cost of an insert at a full
#     budget (BenchmarkDiskIndexScale);
#   - memory hits with 1,000 to 1,000,000 variants in one byte budget
#     (BenchmarkMemoryHitScale);
#   - originals from 1 to 50 megapixels, JPEG and PNG: CPU per transform and
#     peak memory, with a chart (scale.svg), and 1 to 512 connections on
#     memory hits (scripts/bench/scale).
#
# It installs what it lacks (wrk, libvips-tools), builds bin/imgproxy, and
# writes scale.txt, scale.svg and cache-benchmarks.txt to BENCH_OUT (default:
# a new temp folder). Settings: BENCH_DISK_ENTRIES, BENCH_INDEX_ENTRIES,
# BENCH_MEMORY_ENTRIES (comma-separated counts), BENCH_MEGAPIXELS,
# BENCH_CONNECTIONS, BENCH_ROUNDS (3), BENCH_DURATION (wrk, 5s). About 15
# minutes with the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

OUT=${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/imgproxy-bench-scale.XXXXXX")}
mkdir -p "$OUT"
ROUNDS=${BENCH_ROUNDS:-3}

step "installing what is missing"
ensure_apt_packages wrk libvips-tools
step "building bin/imgproxy and scripts/bench/scale"
go build -o bin/imgproxy ./cmd/imgproxy
HELPERS=$(mktemp -d)
trap 'rm -rf "$HELPERS"' EXIT
go build -o "$HELPERS/scale" ./scripts/bench/scale

step "the caches (go test -bench, $ROUNDS runs each)"
IMGPROXY_BENCH_DISK_ENTRIES=${BENCH_DISK_ENTRIES:-10000,100000,1000000} \
	go test -run '^$' -bench 'DiskStartScale' -benchtime "${ROUNDS}x" -timeout 2h ./internal/cache |
	grep -E '^Benchmark' | tee "$OUT/cache-benchmarks.txt"
IMGPROXY_BENCH_INDEX_ENTRIES=${BENCH_INDEX_ENTRIES:-10000,100000,1000000} \
	go test -run '^$' -bench 'DiskIndexScale' -benchtime 1000000x -count "$ROUNDS" ./internal/cache |
	grep -E '^Benchmark' | tee -a "$OUT/cache-benchmarks.txt"
IMGPROXY_BENCH_MEMORY_ENTRIES=${BENCH_MEMORY_ENTRIES:-1000,10000,100000,1000000} \
	go test -run '^$' -bench 'MemoryHitScale' -benchtime 2000000x -count "$ROUNDS" ./internal/cache |
	grep -E '^Benchmark' | tee -a "$OUT/cache-benchmarks.txt"

step "originals by size, and connections on hits"
"$HELPERS/scale" -imgproxy bin/imgproxy -photo scripts/bench/kodak/kodim01.png -rounds "$ROUNDS" \
	-megapixels "${BENCH_MEGAPIXELS:-1,2,5,10,20,35,50}" -connections "${BENCH_CONNECTIONS:-1,8,64,256,512}" \
	-duration "${BENCH_DURATION:-5s}" -out "$OUT"

echo
echo "results: $OUT (scale.txt, scale.svg, cache-benchmarks.txt)"
