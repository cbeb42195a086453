#!/usr/bin/env bash
# Soak test, run by hand (not in CI): several minutes of mixed hits and
# misses over hundreds of variants, sampling the server's RSS every second,
# once with glibc's default malloc arenas and once with MALLOC_ARENA_MAX=2,
# and prints peak and final RSS against the configured budgets.
#   scripts/soak.sh                       # 3 minutes per run
#   SOAK_DURATION=60 scripts/soak.sh      # seconds per run
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

duration=${SOAK_DURATION:-180}
memory=${SOAK_MEMORY:-128MiB}
originals=${SOAK_ORIGINALS:-64MiB}
queue_bytes=${SOAK_QUEUE_BYTES:-128MiB}
kodak=${SOAK_KODAK:-$(pwd)/scripts/bench/kodak}

ensure_apt_packages wrk libvips-tools
step "building bin/imgproxy"
go build -o bin/imgproxy ./cmd/imgproxy

work=$(mktemp -d "${TMPDIR:-/tmp}/imgproxy-soak.XXXXXX")
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

step "preparing 12 originals (2048x1536 JPEG) from $kodak"
mkdir -p "$work/orig"
n=0
for f in "$kodak"/kodim*.png; do
	n=$((n + 1))
	[ $n -le 12 ] || break
	vips thumbnail "$f" "$work/orig/photo$n.jpg[Q=90]" 2048 --height 1536 --size force
done

key=$(bin/imgproxy keygen)
export IMGPROXY_SIGNING_KEYS=$key
step "minting variants"
for i in $(seq 1 12); do
	for w in $(seq 120 8 900); do
		for fm in jpg webp; do
			printf '{"key":"photo%d.jpg","params":{"w":%d,"fm":"%s"}}\n' "$i" "$w" "$fm"
		done
	done
done | bin/imgproxy sign --batch | sed -n 's/.*"url":"\([^"]*\)".*/\1/p' | shuf --random-source=<(yes) >"$work/urls"
echo "$(wc -l <"$work/urls") variants"

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
mib() { echo $(($1 / 1024)); }

# run LABEL [ENV=VALUE...]: one soak run; prints a result line.
run() {
	local label=$1
	shift
	local port admin
	port=$(free_loopback_port)
	admin=$(free_loopback_port)
	rm -rf "$work/cache"
	env "$@" IMGPROXY_SERVER_ADDR=127.0.0.1:$port IMGPROXY_SERVER_ADMIN_ADDR=127.0.0.1:$admin \
		IMGPROXY_ORIGIN_DIR="$work/orig" IMGPROXY_CACHE_DISK_DIR="$work/cache" IMGPROXY_CACHE_DISK_SIZE=256MiB \
		IMGPROXY_CACHE_MEMORY_SIZE=$memory IMGPROXY_CACHE_ORIGINALS_SIZE=$originals \
		IMGPROXY_TRANSFORM_QUEUE_BYTES=$queue_bytes IMGPROXY_LOG_LEVEL=error \
		bin/imgproxy serve >"$work/server.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break; sleep 0.1; done
	step "$label: ${duration}s of mixed load"
	local out="$work/wrk-${label// /_}.txt"
	SOAK_URLS="$work/urls" wrk -t2 -c32 -d"${duration}s" -s scripts/bench/soak.lua "http://127.0.0.1:$port" >"$out" &
	local wrkpid=$! peak=0 r samples=""
	while kill -0 "$wrkpid" 2>/dev/null; do
		r=$(rss_kib "$pid")
		[ "$r" -gt "$peak" ] && peak=$r
		sleep 1
	done
	wait "$wrkpid" || true
	sleep 2
	local final rps
	final=$(rss_kib "$pid")
	rps=$(awk '/Requests\/sec/ { print $2 }' "$out")
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	pid=""
	printf '%-28s %10s %12s %12s\n' "$label" "$rps" "$(mib "$peak") MiB" "$(mib "$final") MiB" >>"$work/results"
}

: >"$work/results"
run "glibc default arenas" -u MALLOC_ARENA_MAX
run "MALLOC_ARENA_MAX=2" MALLOC_ARENA_MAX=2

step "results: memory tier $memory, originals $originals, queue bytes $queue_bytes, disk 256MiB"
printf '%-28s %10s %12s %12s\n' "run" "req/s" "peak RSS" "final RSS"
cat "$work/results"
echo "budgets in memory: $memory + $originals + $queue_bytes, plus libvips' working set and Go's heap overhead"
