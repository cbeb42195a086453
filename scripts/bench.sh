#!/usr/bin/env bash
# Benchmarks imgproxy against references measured in the same run, on the
# same bytes, and prints one table (medians over BENCH_REPS or BENCH_HIT_REPS repetitions)
# plus a JSON file. This script installs and builds; the measuring is
# scripts/bench/driver's (workloads and cases are rows of its tables), the
# table scripts/bench/report's.
#
# It installs what it lacks (wrk, nginx, libvips-tools, versitygw), builds
# bin/imgproxy and the helpers in scripts/bench/, enlarges Kodak photographs
# to 2048x1536 and 4000x3000 JPEGs (q90) and one PNG with alpha, uploads them
# to a versitygw on loopback through the S3 API, and runs:
#
#   W1 2048x1536 JPEG -> 400 wide JPEG q80     W2 the same -> WebP q80
#   W3 4000x3000 JPEG -> 800 wide WebP q80     W4 2048x1536 JPEG -> 400 wide AVIF q60
#   W5 (extra, no target) 2048x1536 PNG with alpha -> 400 wide WebP q80, miss only, 8 connections
#
# each as a miss (every request a distinct URL, a fresh server with empty
# caches, origin a local directory and versitygw), a memory hit (one URL),
# and a disk-only hit (memory tier off); then forged signatures; then the
# shared result tier (scripts/bench/shared: one variant made by one
# instance, read from disk, and read by a second instance from the results
# bucket, one request at a time, W2's output). References:
# a bare Go server writing the same bytes (scripts/bench/bareserver), nginx
# serving the same file with sendfile, and vipsthumbnail doing the same
# transform single-threaded. Server CPU is read from /proc/PID/stat.
#
# Settings (environment):
#   BENCH_DURATION     per miss run, a wrk duration (default 10s)
#   BENCH_REPS         repetitions of every miss run (default 2)
#   BENCH_HIT_DURATION per hit and forged run (default 4s)
#   BENCH_HIT_REPS     repetitions of the hit and forged runs (default 5):
#                      these meet the machine's drift most, so they get
#                      more, shorter interleaved rounds
#   BENCH_CONNECTIONS  wrk connections (default 64)
#   BENCH_KODAK        folder of the Kodak PNGs (default scripts/bench/kodak)
#   BENCH_IMAGES       how many Kodak photographs to use (default 8)
#   BENCH_WORKLOADS    which workloads (default "W1 W2 W3 W4 W5")
#   BENCH_ONLY         a grep -E pattern over case names to run only some
#                      (miss-dir miss-s3 mem-hit ref-bare mem-hit-32
#                      ref-bare-32 disk-hit ref-nginx ref-vips forged
#                      ref-bare-403 sign-batch shared), e.g. 'hit|ref-bare'
#   BENCH_PIN          1: wrk on CPU 0, servers and vipsthumbnail on CPU 1
#                      (default 1 with 2 or more CPUs)
#   BENCH_MEMORY_SIZE  memory-tier budget (default 256MiB)
#   BENCH_MISS_ORIGINALS  originals cache in miss runs (default 0: every miss
#                      fetches its original; "64MiB" is the server default)
#   BENCH_MISS_URLS    distinct URLs per miss list (default 2000 per second
#                      of BENCH_DURATION, at least 20000)
#   BENCH_VIPS_COUNT   images per vipsthumbnail repetition (default 24)
#   BENCH_SHARED_ROUNDS  rounds of the shared-tier case (default 5)
#   BENCH_SERVER_ENV   extra "NAME=value ..." for every imgproxy server, e.g.
#                      "VIPS_CONCURRENCY=2 IMGPROXY_TRANSFORM_WORKERS=1"
#   BENCH_OUT          folder for bench-results.json (default: a new temp folder)
#   BENCH_KEEP         1: keep the work folder (images, logs, wrk output)
#   BENCH_PROFILE      1: sample every pinned server run with perf (kernel
#                      included) and print where a request's CPU goes, in
#                      µs per request by call-stack bucket, and every miss
#                      run and vipsthumbnail by process, in ms per request
#                      or image by library (hits need pinning;
#                      perf's own interrupts slow the runs a little, so read
#                      the ratios from a run without it)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

step "installing what is missing"
ensure_apt_packages wrk nginx libvips-tools curl time util-linux
command -v versitygw >/dev/null || ensure_versitygw
[ "${BENCH_PROFILE:-0}" != 1 ] || ensure_apt_packages linux-perf

step "building bin/imgproxy and scripts/bench helpers"
go build -o bin/imgproxy ./cmd/imgproxy
HELPERS=$(mktemp -d "${TMPDIR:-/tmp}/imgproxy-bench-bin.XXXXXX")
go build -o "$HELPERS/" ./scripts/bench/bareserver ./scripts/bench/s3upload ./scripts/bench/report \
	./scripts/bench/shared ./scripts/bench/driver

# The S3 cases need a versitygw on loopback (stopped on exit).
if grep -Eq -- "${BENCH_ONLY:-.}" <<<$'miss-s3\nshared'; then
	start_versitygw
fi
trap 'rm -rf "$HELPERS"; stop_versitygw' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
"$HELPERS/driver" -helpers "$HELPERS" -imgproxy bin/imgproxy
