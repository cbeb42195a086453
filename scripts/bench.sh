#!/usr/bin/env bash
# Benchmarks imgproxy against references measured in the same run, on the
# same bytes, and prints one table (medians over BENCH_REPS repetitions)
# plus a JSON file.
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
#   BENCH_DURATION     per run, a wrk duration (default 10s)
#   BENCH_REPS         repetitions of every run (default 2)
#   BENCH_CONNECTIONS  wrk connections (default 64)
#   BENCH_KODAK        folder of the Kodak PNGs (default scripts/bench/kodak)
#   BENCH_IMAGES       how many Kodak photographs to use (default 8)
#   BENCH_WORKLOADS    which workloads (default "W1 W2 W3 W4 W5")
#   BENCH_ONLY         a grep -E pattern over case names to run only some
#                      (miss-dir miss-s3 mem-hit ref-bare disk-hit ref-nginx
#                      ref-vips forged sign-batch shared), e.g. 'hit|ref-bare'
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
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
. scripts/lib.sh

BENCH_DURATION=${BENCH_DURATION:-10s}
BENCH_REPS=${BENCH_REPS:-2}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-64}
BENCH_KODAK=${BENCH_KODAK:-$REPO/scripts/bench/kodak}
BENCH_IMAGES=${BENCH_IMAGES:-8}
BENCH_WORKLOADS=${BENCH_WORKLOADS:-W1 W2 W3 W4 W5}
BENCH_ONLY=${BENCH_ONLY:-.}
BENCH_MEMORY_SIZE=${BENCH_MEMORY_SIZE:-256MiB}
BENCH_MISS_ORIGINALS=${BENCH_MISS_ORIGINALS:-0}
BENCH_VIPS_COUNT=${BENCH_VIPS_COUNT:-24}
BENCH_SERVER_ENV=${BENCH_SERVER_ENV:-}
if [ -z "${BENCH_PIN:-}" ]; then
	if [ "$(nproc)" -ge 2 ]; then BENCH_PIN=1; else BENCH_PIN=0; fi
fi

START_TIME=$(date +%s)
CLK_TCK=$(getconf CLK_TCK)
S3_BUCKET=bench
SIGN_LINES=100000

# The workloads: source folder in the origin, URL parameters, the width the
# miss widths are centred on, and vipsthumbnail's output options: the
# encoder settings imgproxy uses (its JPEGs are Huffman-optimised), so that
# the reference makes the same bytes as imgproxy's own full-size-decode
# path would.
declare -A WL_DESC WL_SRC WL_FM WL_Q WL_W WL_VIPS WL_EXT
def_workload() {
	WL_SRC[$1]=$2 WL_FM[$1]=$3 WL_Q[$1]=$4 WL_W[$1]=$5 WL_EXT[$1]=$6 WL_VIPS[$1]=$7 WL_DESC[$1]=$8
}
def_workload W1 2048 jpg 80 400 jpg 'Q=80,strip,optimize_coding' '2048x1536 JPEG -> 400 wide JPEG q80'
def_workload W2 2048 webp 80 400 webp 'Q=80,strip' '2048x1536 JPEG -> 400 wide WebP q80'
def_workload W3 4000 webp 80 800 webp 'Q=80,strip' '4000x3000 JPEG -> 800 wide WebP q80'
def_workload W4 2048 avif 60 400 avif 'Q=60,effort=2,strip' '2048x1536 JPEG -> 400 wide AVIF q60 (effort 2)'
def_workload W5 alpha webp 80 400 webp 'Q=80,strip' '2048x1536 PNG with alpha -> 400 wide WebP q80 (extra: miss only, no target; 8 connections)'
# W5's PNG costs about 10 times W1's CPU: at 64 connections nearly every
# request would be refused by the full queue (503 at once), measuring
# overload rather than the transform.
declare -A WL_CONN=([W5]=8)

# ---------------------------------------------------------------- helpers

die() {
	echo "bench: $*" >&2
	exit 1
}

# wants CASE...: whether BENCH_ONLY selects any of the cases.
wants() {
	local c
	for c in "$@"; do
		if grep -Eq -- "$BENCH_ONLY" <<<"$c"; then return 0; fi
	done
	return 1
}

# seconds DURATION: a wrk duration (10s, 2m, 1h, 30) in seconds.
seconds() {
	awk -v d="$1" 'BEGIN {
		n = d + 0; u = substr(d, length(d))
		if (u == "m") n *= 60; else if (u == "h") n *= 3600
		print int(n)
	}'
}

# cpu_ticks PID: user+system clock ticks of the process, all threads.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }

# rss_peak_kib PID: the process's peak resident set (VmHWM), KiB.
rss_peak_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# ms_since NS: milliseconds since a `date +%s%N` reading.
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

BG_PIDS=()
forget_pid() {
	local p keep=()
	for p in "${BG_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	BG_PIDS=("${keep[@]}")
}

# stop_pid PID: SIGTERM, then SIGKILL after 10 seconds.
stop_pid() {
	local pid=$1 i
	kill "$pid" 2>/dev/null || true
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	forget_pid "$pid"
}

cleanup() {
	local pid
	for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${BG_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	BG_PIDS=()
	if [ -n "${WORK:-}" ] && [ -d "$WORK" ]; then
		if [ "${BENCH_KEEP:-0}" = 1 ]; then
			echo "bench: kept the work folder $WORK" >&2
		else
			rm -rf "$WORK"
		fi
	fi
}

# wait_ready NAME PID URL: polls URL until it answers 200, for 15 seconds.
wait_ready() {
	local name=$1 pid=$2 url=$3 i
	for i in $(seq 150); do
		if curl -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "bench: $name did not become ready at $url; its log:" >&2
	cat "$LOGS/$name.log" >&2 2>/dev/null || true
	exit 1
}

# record JSON: appends one raw run.
record() { printf '%s\n' "$1" >>"$RUNS"; }

# jnum FIELDS NAME: a number from a "k":v,... string.
jnum() { sed -n "s/.*\"$2\":\([-0-9.e+]*\).*/\1/p" <<<"$1"; }

# ------------------------------------------------------------ the servers

# start_imgproxy NAME NAME=value...: starts bin/imgproxy serve with a clean
# environment (only PATH, HOME, MALLOC_ARENA_MAX=2, the signing key, ports,
# log level and the given settings), from the work folder so that no
# configs/imgproxy.yaml is read; pinned to CPU 1 unless IMGPROXY_PIN=0 is
# among the settings. Sets SRV_PID, SRV_PORT and ADMIN_PORT.
start_imgproxy() {
	local name=$1 pin=("${SRV_PIN[@]}") envs=() a
	shift
	for a in "$@" $BENCH_SERVER_ENV; do
		case "$a" in
		IMGPROXY_PIN=0) pin=() ;;
		*) envs+=("$a") ;;
		esac
	done
	SRV_PORT=$(free_loopback_port)
	ADMIN_PORT=$(free_loopback_port)
	while [ "$ADMIN_PORT" = "$SRV_PORT" ]; do ADMIN_PORT=$(free_loopback_port); done
	(cd "$WORK" && exec env -i PATH="$PATH" HOME="$HOME" MALLOC_ARENA_MAX=2 \
		IMGPROXY_SIGNING_KEYS="$SIGNING_KEY" \
		IMGPROXY_SERVER_ADDR="127.0.0.1:$SRV_PORT" \
		IMGPROXY_SERVER_ADMIN_ADDR="127.0.0.1:$ADMIN_PORT" \
		IMGPROXY_SERVER_SHUTDOWN_TIMEOUT=2s \
		IMGPROXY_LOG_LEVEL=error \
		"${envs[@]}" "${pin[@]}" "$IMGPROXY" serve >"$LOGS/$name.log" 2>&1) &
	SRV_PID=$!
	BG_PIDS+=("$SRV_PID")
	wait_ready "$name" "$SRV_PID" "http://127.0.0.1:$SRV_PORT/healthz"
}

# Origin settings for start_imgproxy.
origin_env() {
	case "$1" in
	dir) echo "IMGPROXY_ORIGIN_DIR=$ORIGIN" ;;
	s3) echo "IMGPROXY_ORIGIN_S3_BUCKET=$S3_BUCKET IMGPROXY_ORIGIN_S3_ENDPOINT=$IMGPROXY_TEST_S3_ENDPOINT" \
		"IMGPROXY_ORIGIN_S3_PATH_STYLE=true IMGPROXY_ORIGIN_S3_ACCESS_KEY_ID=$IMGPROXY_TEST_S3_ACCESS_KEY" \
		"IMGPROXY_ORIGIN_S3_SECRET_ACCESS_KEY=$IMGPROXY_TEST_S3_SECRET_KEY" ;;
	esac
}

# start_bare NAME BODY HEADERS STATUS: the bare Go reference. Sets SRV_PID
# and SRV_PORT.
start_bare() {
	SRV_PORT=$(free_loopback_port)
	"${SRV_PIN[@]}" "$HELPERS/bareserver" -addr "127.0.0.1:$SRV_PORT" -body "$2" -headers "$3" \
		-status "$4" >"$LOGS/$1.log" 2>&1 &
	SRV_PID=$!
	BG_PIDS+=("$SRV_PID")
	wait_ready "$1" "$SRV_PID" "http://127.0.0.1:$SRV_PORT/healthz"
}

# start_nginx NAME FILE CACHE_CONTROL: nginx serving FILE as /FILE's name,
# from disk with sendfile, one process (master_process off) in the
# foreground, no access log. Sets SRV_PID and SRV_PORT.
start_nginx() {
	local name=$1 file=$2 dir="$WORK/nginx-$1"
	rm -rf "$dir"
	mkdir -p "$dir/www" "$dir/tmp"
	cp "$file" "$dir/www/"
	SRV_PORT=$(free_loopback_port)
	cat >"$dir/nginx.conf" <<-EOF
		daemon off;
		master_process off;
		worker_processes 1;
		pid $dir/nginx.pid;
		error_log $dir/error.log error;
		events { worker_connections 4096; }
		http {
			access_log off;
			sendfile on;
			tcp_nopush on;
			keepalive_requests 100000000;
			keepalive_timeout 120s;
			client_body_temp_path $dir/tmp/body;
			proxy_temp_path $dir/tmp/proxy;
			fastcgi_temp_path $dir/tmp/fastcgi;
			uwsgi_temp_path $dir/tmp/uwsgi;
			scgi_temp_path $dir/tmp/scgi;
			types { image/jpeg jpg; image/webp webp; image/avif avif; image/png png; }
			server {
				listen 127.0.0.1:$SRV_PORT;
				root $dir/www;
				add_header Cache-Control "$3";
				add_header X-Content-Type-Options nosniff;
				location = /healthz { return 200; }
			}
		}
	EOF
	"${SRV_PIN[@]}" nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" >"$LOGS/$name.log" 2>&1 &
	SRV_PID=$!
	BG_PIDS+=("$SRV_PID")
	wait_ready "$name" "$SRV_PID" "http://127.0.0.1:$SRV_PORT/healthz"
}

# metrics FILE: saves the admin /metrics of the running imgproxy.
metrics() { curl -fsS "http://127.0.0.1:$ADMIN_PORT/metrics" >"$1"; }

# metric_sum FILE NAME [LABEL-REGEX]: the sum of a metric's samples.
metric_sum() {
	awk -v name="$2" -v re="${3:-}" '
		$1 == name || index($1, name "{") == 1 { if (re == "" || $1 ~ re) s += $NF }
		END { printf "%.0f\n", s }' "$1"
}

# ----------------------------------------------------------------- a load

# load WORKLOAD CASE REP PATH [URLS]: runs wrk against the server started
# last (SRV_PID, SRV_PORT), pinned to CPU 0, and reads the server's CPU time
# before and after and its peak RSS. Sets RUN (the JSON fields of the run,
# without braces) for the caller to extend and record.
load() {
	local wl=$1 cs=$2 rep=$3 path=$4 urls=${5:-} t0 t1 out fields
	t0=$(cpu_ticks "$SRV_PID")
	out=$(BENCH_URLS=$urls BENCH_WRK_THREADS=1 "${WRK_PIN[@]}" wrk -t1 -c"${WL_CONN[$wl]:-$BENCH_CONNECTIONS}" \
		-d"$BENCH_DURATION" --timeout 30s --latency -s "$REPO/scripts/bench/wrk.lua" \
		"http://127.0.0.1:$SRV_PORT$path")
	t1=$(cpu_ticks "$SRV_PID")
	printf '%s\n' "$out" >"$LOGS/$wl-$cs-$rep.wrk"
	fields=$(sed -n 's/^BENCH {\(.*\)}$/\1/p' <<<"$out")
	[ -n "$fields" ] || die "wrk printed no summary for $wl $cs: $out"
	RUN=$(printf '"workload":"%s","case":"%s","rep":%d,%s,"cpu_ms":%d,"rss_peak_kib":%d' \
		"$wl" "$cs" "$rep" "$fields" $(((t1 - t0) * 1000 / CLK_TCK)) "$(rss_peak_kib "$SRV_PID")")
	awk -v wl="$wl" -v cs="$cs" -v rep="$rep" -v n="$(jnum "$RUN" requests)" \
		-v d="$(jnum "$RUN" duration_us)" -v p99="$(jnum "$RUN" p99_us)" -v cpu=$(((t1 - t0) * 1000 / CLK_TCK)) \
		-v rss="$(jnum "$RUN" rss_peak_kib)" -v bad="$(jnum "$RUN" non2xx)" 'BEGIN {
		printf "    %-3s %-12s rep %d: %8.1f req/s  p99 %8.2f ms  %7.3f CPU ms/req  RSS %4.0f MiB  non-2xx %d\n",
			wl, cs, rep, n / (d / 1e6), p99 / 1000, n ? cpu / n : 0, rss / 1024, bad }'
}

# --------------------------------------------------------------- the steps

install_and_build() {
	step "installing what is missing"
	ensure_apt_packages wrk nginx libvips-tools curl time util-linux
	command -v versitygw >/dev/null || ensure_versitygw
	step "building bin/imgproxy and scripts/bench helpers"
	go build -o bin/imgproxy ./cmd/imgproxy
	IMGPROXY=$REPO/bin/imgproxy
	go build -o "$HELPERS/" ./scripts/bench/bareserver ./scripts/bench/s3upload ./scripts/bench/report ./scripts/bench/shared
}

# prepare_images: BENCH_IMAGES landscape Kodak photographs enlarged and
# centre-cropped to 2048x1536 and 4000x3000 JPEGs at q90, and kodim23 at
# 2048x1536 with its own luminance as an alpha channel, as PNG.
prepare_images() {
	step "preparing images from $BENCH_KODAK"
	[ -d "$BENCH_KODAK" ] || die "no Kodak images at $BENCH_KODAK (set BENCH_KODAK)"
	local f name n=0
	mkdir -p "$ORIGIN/photos/2048" "$ORIGIN/photos/4000" "$ORIGIN/photos/alpha"
	NAMES=()
	for f in "$BENCH_KODAK"/kodim*.png; do
		[ "$n" -lt "$BENCH_IMAGES" ] || break
		# Landscape ones only: a portrait one would be mostly cropped away.
		[ "$(vipsheader -f width "$f")" -gt "$(vipsheader -f height "$f")" ] || continue
		name=$(basename "$f" .png)
		vips thumbnail "$f" "$ORIGIN/photos/2048/$name.jpg[Q=90]" 2048 --height 1536 --crop centre --size both
		vips thumbnail "$f" "$ORIGIN/photos/4000/$name.jpg[Q=90]" 4000 --height 3000 --crop centre --size both
		NAMES+=("$name")
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || die "no landscape PNGs in $BENCH_KODAK"
	f="$BENCH_KODAK/kodim23.png"
	[ -f "$f" ] || f="$BENCH_KODAK/${NAMES[0]}.png"
	vips thumbnail "$f" "$WORK/alpha-rgb.v" 2048 --height 1536 --crop centre --size both
	vips colourspace "$WORK/alpha-rgb.v" "$WORK/alpha-a.v" b-w
	vips bandjoin "$WORK/alpha-rgb.v $WORK/alpha-a.v" "$ORIGIN/photos/alpha/$(basename "$f" .png).png"
	ALPHA_NAMES=("$(basename "$f" .png)")
	rm -f "$WORK"/alpha-*.v
	echo "    ${#NAMES[@]} photographs (${NAMES[*]}), $(du -sh "$ORIGIN" | cut -f1) in all"
	vipsheader "$ORIGIN/photos/4000/${NAMES[0]}.jpg" "$ORIGIN/photos/alpha/${ALPHA_NAMES[0]}.png" | sed 's/^/    /'
}

start_s3() {
	start_versitygw
	# start_versitygw set its own EXIT trap: run ours too.
	trap 'cleanup; stop_versitygw' EXIT
	step "uploading the originals to versitygw through the S3 API"
	AWS_ACCESS_KEY_ID=$IMGPROXY_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$IMGPROXY_TEST_S3_SECRET_KEY \
		"$HELPERS/s3upload" -endpoint "$IMGPROXY_TEST_S3_ENDPOINT" -bucket "$S3_BUCKET" -dir "$ORIGIN" |
		sed 's/^/    /'
}

# sign_batch IN OUT: signs JSON lines into a file of paths, one a line.
sign_batch() {
	IMGPROXY_SIGNING_KEYS=$SIGNING_KEY "$IMGPROXY" sign --batch <"$1" >"$1.signed"
	sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$1.signed" >"$2"
	[ "$(wc -l <"$2")" -eq "$(wc -l <"$1")" ] || die "sign --batch signed fewer lines than it was given ($1)"
}

# make_urls: for every workload a miss list (distinct URLs: photographs
# cycling fastest, then widths over 201 values centred on the workload's
# width, all in the same JPEG shrink-on-load band, then v), its hit URL,
# and a list of forged URLs (first signature byte changed).
make_urls() {
	step "minting URLs with bin/imgproxy sign --batch"
	SIGNING_KEY=$("$IMGPROXY" keygen)
	local secs wl names
	secs=$(seconds "$BENCH_DURATION")
	MISS_URLS=${BENCH_MISS_URLS:-$((secs * 2000 > 20000 ? secs * 2000 : 20000))}
	for wl in $BENCH_WORKLOADS; do
		[ -n "${WL_SRC[$wl]:-}" ] || die "unknown workload $wl"
		if [ "${WL_SRC[$wl]}" = alpha ]; then names="${ALPHA_NAMES[*]}"; else names="${NAMES[*]}"; fi
		awk -v n="$MISS_URLS" -v names="$names" -v dir="photos/${WL_SRC[$wl]}" \
			-v ext="$([ "${WL_SRC[$wl]}" = alpha ] && echo png || echo jpg)" \
			-v fm="${WL_FM[$wl]}" -v q="${WL_Q[$wl]}" -v t="${WL_W[$wl]}" 'BEGIN {
			k = split(names, a, " ")
			for (i = 0; i < n; i++)
				printf "{\"key\":\"%s/%s.%s\",\"params\":{\"fm\":\"%s\",\"q\":%d,\"w\":%d,\"v\":\"%d\"}}\n",
					dir, a[i % k + 1], ext, fm, q, t - 100 + int(i / k) % 201, 1 + int(i / (k * 201))
		}' >"$URLS/$wl-miss.jsonl"
		sign_batch "$URLS/$wl-miss.jsonl" "$URLS/$wl-miss.txt"
		head -n 1 "$URLS/$wl-miss.jsonl" | sed 's/,"v":"[0-9]*"//; s/"w":[0-9]*/"w":'"${WL_W[$wl]}"'/' >"$URLS/$wl-hit.jsonl"
		sign_batch "$URLS/$wl-hit.jsonl" "$URLS/$wl-hit.txt"
		HIT_URL[$wl]=$(cat "$URLS/$wl-hit.txt")
	done
	# Forged: a changed first character of s (the last one carries two
	# padding bits, which a lenient decoder would ignore).
	for wl in $BENCH_WORKLOADS; do head -n 5000 "$URLS/$wl-miss.txt"; done |
		sed 's/&s=A/\&s=@/; s/&s=[^@]/\&s=A/; s/&s=@/\&s=B/' >"$URLS/forged.txt"
	echo "    $MISS_URLS miss URLs per workload; e.g. ${HIT_URL[${BENCH_WORKLOADS%% *}]}"
}

# time_sign: bin/imgproxy sign --batch on 100,000 lines, 3 times.
time_sign() {
	wants sign-batch || return 0
	step "timing sign --batch on $SIGN_LINES lines (3 runs)"
	awk -v n="$SIGN_LINES" 'BEGIN {
		split("jpg webp avif", f, " ")
		for (i = 0; i < n; i++)
			printf "{\"key\":\"photos/%d/image-%d.jpg\",\"params\":{\"fm\":\"%s\",\"w\":%d}}\n", i % 97, i, f[i % 3 + 1], 100 + i % 1900
	}' >"$URLS/sign.jsonl"
	local i t0 ms
	for i in 1 2 3; do
		t0=$(date +%s%N)
		IMGPROXY_SIGNING_KEYS=$SIGNING_KEY "$IMGPROXY" sign --batch <"$URLS/sign.jsonl" >/dev/null
		ms=$(ms_since "$t0")
		echo "    run $i: $ms ms"
		record "$(printf '{"workload":"sign","case":"sign-batch","rep":%d,"lines":%d,"wall_s":%s}' \
			"$i" "$SIGN_LINES" "$(awk -v m="$ms" 'BEGIN { printf "%.3f", m / 1000 }')")"
	done
}

# vips_reference WL: vipsthumbnail, VIPS_CONCURRENCY=1, on CPU 1, turning
# BENCH_VIPS_COUNT of the workload's originals into its output; CPU from
# /usr/bin/time (user+sys).
vips_reference() {
	local wl=$1 rep files=() i srcdir ext out tf
	wants ref-vips || return 0
	if [ "${WL_SRC[$wl]}" = alpha ]; then srcdir=alpha ext=png; else srcdir=${WL_SRC[$wl]} ext=jpg; fi
	local names=()
	if [ "$srcdir" = alpha ]; then names=("${ALPHA_NAMES[@]}"); else names=("${NAMES[@]}"); fi
	for i in $(seq 0 $((BENCH_VIPS_COUNT - 1))); do
		files+=("$ORIGIN/photos/$srcdir/${names[$((i % ${#names[@]}))]}.$ext")
	done
	out="$WORK/vips-out/$wl"
	mkdir -p "$out"
	for rep in $(seq "$BENCH_REPS"); do
		tf="$LOGS/$wl-vips-$rep.time"
		VIPS_CONCURRENCY=1 "${SRV_PIN[@]}" /usr/bin/time -f '%e %U %S' -o "$tf" \
			vipsthumbnail --size "${WL_W[$wl]}x" -o "$out/%s.${WL_EXT[$wl]}[${WL_VIPS[$wl]}]" "${files[@]}"
		read -r wall user sys < <(tail -n 1 "$tf")
		record "$(printf '{"workload":"%s","case":"ref-vips","rep":%d,"images":%d,"wall_s":%s,"cpu_ms":%s,"output_bytes":%d}' \
			"$wl" "$rep" "${#files[@]}" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.0f", (u + s) * 1000 }')" \
			"$(stat -c %s "$out/${names[0]}.${WL_EXT[$wl]}")")"
		awk -v wl="$wl" -v rep="$rep" -v n="${#files[@]}" -v u="$user" -v s="$sys" 'BEGIN {
			printf "    %-3s %-12s rep %d: %d images, %.1f CPU ms/image\n", wl, "ref-vips", rep, n, (u + s) * 1000 / n }'
	done
	echo "    output: $(vipsheader "$out/${names[0]}.${WL_EXT[$wl]}" 2>/dev/null), $(stat -c %s "$out/${names[0]}.${WL_EXT[$wl]}") bytes"
}

# capture WL: the hit URL's response from imgproxy (memory hit), its body
# and headers, for the references.
capture() {
	local wl=$1 dir="$WORK/ref/$1" i
	mkdir -p "$dir"
	start_imgproxy "$wl-capture" "$(origin_env dir)"
	for i in 1 2; do
		curl -fsS -D "$dir/headers" -o "$dir/out.${WL_EXT[$wl]}" "http://127.0.0.1:$SRV_PORT${HIT_URL[$wl]}"
	done
	stop_pid "$SRV_PID"
	grep -qi '^x-cache: memory' "$dir/headers" || die "$wl: the second request was not a memory hit: $(cat "$dir/headers")"
	OUT_BYTES[$wl]=$(stat -c %s "$dir/out.${WL_EXT[$wl]}")
	echo "    imgproxy output: $(vipsheader "$dir/out.${WL_EXT[$wl]}" 2>/dev/null), ${OUT_BYTES[$wl]} bytes"
}

# warm URL TIER: requests URL until the answer comes from TIER.
warm() {
	local url="http://127.0.0.1:$SRV_PORT$1" i tier
	for i in $(seq 50); do
		tier=$(curl -fsS -D - -o /dev/null "$url" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-cache" { print $2 }')
		[ "$tier" = "$2" ] && return 0
		sleep 0.1
	done
	die "could not warm $1 into the $2 tier (last answer: ${tier:-none})"
}

hits() {
	local wl=$1 rep cache dir="$WORK/ref/$1" cc
	cc=$(tr -d '\r' <"$dir/headers" | awk -F': ' 'tolower($1) == "cache-control" { print $2 }')
	for rep in $(seq "$BENCH_REPS"); do
		if wants mem-hit; then
			cache=$(mktemp -d "$WORK/cache.XXXXXX")
			start_imgproxy "$wl-mem-hit-$rep" "$(origin_env dir)" IMGPROXY_CACHE_MEMORY_SIZE="$BENCH_MEMORY_SIZE" \
				IMGPROXY_CACHE_DISK_DIR="$cache"
			warm "${HIT_URL[$wl]}" memory
			load "$wl" mem-hit "$rep" "${HIT_URL[$wl]}"
			record "{$RUN,\"output_bytes\":${OUT_BYTES[$wl]}}"
			stop_pid "$SRV_PID"
			rm -rf "$cache"
		fi
		if wants ref-bare; then
			start_bare "$wl-ref-bare-$rep" "$dir/out.${WL_EXT[$wl]}" "$dir/headers" 200
			load "$wl" ref-bare "$rep" "${HIT_URL[$wl]}"
			record "{$RUN}"
			stop_pid "$SRV_PID"
		fi
		if wants disk-hit; then
			cache=$(mktemp -d "$WORK/cache.XXXXXX")
			start_imgproxy "$wl-disk-hit-$rep" "$(origin_env dir)" IMGPROXY_CACHE_MEMORY_SIZE=0 \
				IMGPROXY_CACHE_DISK_DIR="$cache"
			warm "${HIT_URL[$wl]}" disk
			load "$wl" disk-hit "$rep" "${HIT_URL[$wl]}"
			record "{$RUN}"
			stop_pid "$SRV_PID"
			rm -rf "$cache"
		fi
		if wants ref-nginx; then
			start_nginx "$wl-ref-nginx-$rep" "$dir/out.${WL_EXT[$wl]}" "$cc"
			load "$wl" ref-nginx "$rep" "/out.${WL_EXT[$wl]}"
			record "{$RUN}"
			stop_pid "$SRV_PID"
		fi
	done
}

# misses WL: a fresh server with empty caches per run, both tiers on (the
# disk tier in a new folder), the originals cache at BENCH_MISS_ORIGINALS,
# not pinned (the transform pool uses both CPUs); wrk walks the miss list.
misses() {
	local wl=$1 origin rep cache m
	for origin in dir s3; do
		wants "miss-$origin" || continue
		for rep in $(seq "$BENCH_REPS"); do
			cache=$(mktemp -d "$WORK/cache.XXXXXX")
			start_imgproxy "$wl-miss-$origin-$rep" $(origin_env "$origin") IMGPROXY_PIN=0 \
				IMGPROXY_CACHE_MEMORY_SIZE="$BENCH_MEMORY_SIZE" IMGPROXY_CACHE_DISK_DIR="$cache" \
				IMGPROXY_CACHE_ORIGINALS_SIZE="$BENCH_MISS_ORIGINALS"
			load "$wl" "miss-$origin" "$rep" / "$URLS/$wl-miss.txt"
			m="$LOGS/$wl-miss-$origin-$rep.metrics"
			metrics "$m"
			record "$(printf '{%s,"origin_fetches":%d,"miss_requests":%d,"hit_requests":%d,"transforms":%d}' "$RUN" \
				"$(metric_sum "$m" imgproxy_origin_fetches_total)" \
				"$(metric_sum "$m" imgproxy_requests_total 'cache="miss"')" \
				"$(metric_sum "$m" imgproxy_requests_total 'cache="(memory|disk)"')" \
				"$(metric_sum "$m" imgproxy_transform_duration_seconds_count)")"
			[ "$(jnum "$RUN" wrapped)" = 0 ] || echo "    WARNING: the miss list repeated; raise BENCH_MISS_URLS" >&2
			stop_pid "$SRV_PID"
			rm -rf "$cache"
		done
	done
}

# forged: URLs with a changed signature byte at full speed against a server
# with both tiers on, then its metrics: no origin fetch and no cache lookup
# (every request counted with cache="none"). Reference: the bare Go server
# answering imgproxy's own 403 response, fed the same URLs.
forged() {
	local rep cache m dir="$WORK/ref/forged" first
	mkdir -p "$dir"
	first=$(head -n 1 "$URLS/forged.txt")
	for rep in $(seq "$BENCH_REPS"); do
		if wants forged; then
			cache=$(mktemp -d "$WORK/cache.XXXXXX")
			start_imgproxy "forged-$rep" "$(origin_env dir)" IMGPROXY_CACHE_MEMORY_SIZE="$BENCH_MEMORY_SIZE" \
				IMGPROXY_CACHE_DISK_DIR="$cache"
			[ "$(curl -sS -D "$dir/headers" -o "$dir/body" -w '%{http_code}' "http://127.0.0.1:$SRV_PORT$first")" = 403 ] ||
				die "a forged URL was not answered 403: $first"
			load forged forged "$rep" / "$URLS/forged.txt"
			m="$LOGS/forged-$rep.metrics"
			metrics "$m"
			record "$(printf '{%s,"origin_fetches":%d,"lookups":%d,"refused_403":%d}' "$RUN" \
				"$(metric_sum "$m" imgproxy_origin_fetches_total)" \
				"$(metric_sum "$m" imgproxy_requests_total 'cache="(memory|disk|miss)"')" \
				"$(metric_sum "$m" imgproxy_requests_total 'cache="none",status="403"')")"
			stop_pid "$SRV_PID"
			rm -rf "$cache"
		fi
		if wants ref-bare-403 && [ -f "$dir/body" ]; then
			start_bare "forged-ref-bare-$rep" "$dir/body" "$dir/headers" 403
			load forged ref-bare-403 "$rep" / "$URLS/forged.txt"
			record "{$RUN}"
			stop_pid "$SRV_PID"
		fi
	done
}

write_meta() {
	local cpu
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	cat >"$WORK/meta.json" <<-EOF
		{
		  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
		  "machine": {"cpus": $(nproc), "cpu_model": "${cpu//\"/}", "memory_kib": $(awk '/^MemTotal:/ { print $2 }' /proc/meminfo), "kernel": "$(uname -r)"},
		  "versions": {"imgproxy": "$("$IMGPROXY" version 2>/dev/null | head -n 1 | tr -d '"\\')", "go": "$(go env GOVERSION)", "libvips": "$(vips --version)", "nginx": "$(nginx -v 2>&1 | sed 's/.*: //')", "wrk": "$(wrk -v 2>&1 | head -n 1 | cut -d' ' -f2)"},
		  "settings": {"duration": "$BENCH_DURATION", "reps": $BENCH_REPS, "connections": $BENCH_CONNECTIONS, "images": ${#NAMES[@]}, "workloads": "$BENCH_WORKLOADS", "memory_budget": "$BENCH_MEMORY_SIZE", "miss_originals_cache": "$BENCH_MISS_ORIGINALS", "miss_urls": $MISS_URLS, "vips_images_per_rep": $BENCH_VIPS_COUNT, "server_env": "$BENCH_SERVER_ENV"},
		  "pinning": "$PIN_NOTE",
		  "elapsed_s": $(($(date +%s) - START_TIME))
		}
	EOF
}

report() {
	local wl budget
	step "results (medians of $BENCH_REPS; $BENCH_DURATION per run; $BENCH_CONNECTIONS connections)"
	echo "$PIN_NOTE"
	echo
	for wl in $BENCH_WORKLOADS; do printf '%s\t%s\n' "$wl" "${WL_DESC[$wl]}"; done >"$WORK/workloads.tsv"
	printf 'forged\tURLs of W1..W4 with one signature byte changed (answered 403)\n' >>"$WORK/workloads.tsv"
	printf 'sign\tbin/imgproxy sign --batch, 100,000 lines (wall seconds, median of 3; req/s = lines/s)\n' >>"$WORK/workloads.tsv"
	budget=$(awk -v s="$BENCH_MEMORY_SIZE" 'BEGIN {
		n = s + 0; u = toupper(s); sub(/^[0-9.]+/, "", u)
		f["B"] = 1 / 1048576; f[""] = 1 / 1048576; f["KIB"] = 1 / 1024; f["MIB"] = 1; f["GIB"] = 1024
		f["KB"] = 1000 / 1048576; f["MB"] = 1e6 / 1048576; f["GB"] = 1e9 / 1048576
		print n * f[u] }')
	write_meta
	"$HELPERS/report" -runs "$RUNS" -meta "$WORK/meta.json" -workloads "$WORK/workloads.tsv" \
		-out "$OUT/bench-results.json" -budget-mib "$budget" -connections "$BENCH_CONNECTIONS" | tee "$OUT/bench-table.txt"
	cp "$RUNS" "$OUT/bench-runs.jsonl"
}

# shared_tier: scripts/bench/shared on W2's output (2048x1536 JPEG -> 400
# wide WebP q80) from the S3 originals, into a results bucket of its own;
# its table goes beside the main one.
shared_tier() {
	step "the shared result tier: transform, disk hit and shared hit of one variant"
	local results=bench-results-$(date +%s) keys
	mkdir -p "$WORK/empty"
	AWS_ACCESS_KEY_ID=$IMGPROXY_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$IMGPROXY_TEST_S3_SECRET_KEY \
		"$HELPERS/s3upload" -endpoint "$IMGPROXY_TEST_S3_ENDPOINT" -bucket "$results" -dir "$WORK/empty" >/dev/null
	keys=$(printf 'photos/2048/%s.jpg,' "${NAMES[@]}")
	IMGPROXY_SIGNING_KEYS=$SIGNING_KEY AWS_ACCESS_KEY_ID=$IMGPROXY_TEST_S3_ACCESS_KEY \
		AWS_SECRET_ACCESS_KEY=$IMGPROXY_TEST_S3_SECRET_KEY "$HELPERS/shared" -imgproxy "$IMGPROXY" \
		-endpoint "$IMGPROXY_TEST_S3_ENDPOINT" -originals "$S3_BUCKET" -results "$results" -keys "${keys%,}" \
		-fm webp -q 80 -w 400 -rounds "${BENCH_SHARED_ROUNDS:-5}" -out "$OUT/bench-shared.json" |
		tee "$OUT/bench-shared.txt"
}

# -------------------------------------------------------------------- main

main() {
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/imgproxy-bench.XXXXXX")
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	if [ -n "${BENCH_OUT:-}" ]; then
		OUT=$BENCH_OUT
		mkdir -p "$OUT"
	else
		OUT=$(mktemp -d "${TMPDIR:-/tmp}/imgproxy-bench-results.XXXXXX")
	fi
	OUT=$(cd "$OUT" && pwd)
	HELPERS="$WORK/bin" ORIGIN="$WORK/origin" URLS="$WORK/urls" LOGS="$WORK/logs" RUNS="$WORK/runs.jsonl"
	mkdir -p "$HELPERS" "$ORIGIN" "$URLS" "$LOGS"
	: >"$RUNS"
	declare -gA HIT_URL OUT_BYTES
	if [ "$BENCH_PIN" = 1 ]; then
		WRK_PIN=(taskset -c 0) SRV_PIN=(taskset -c 1)
		PIN_NOTE="pinning: wrk (1 thread) on CPU 0; imgproxy in hit and forged runs, bare Go, nginx and vipsthumbnail on CPU 1; imgproxy in miss runs unpinned (both CPUs, so the transform pool has two)"
	else
		WRK_PIN=() SRV_PIN=()
		PIN_NOTE="pinning: none (BENCH_PIN=0)"
	fi

	install_and_build
	prepare_images
	if wants miss-s3 shared; then start_s3; fi
	make_urls
	time_sign

	step "references: vipsthumbnail, single-threaded"
	local wl
	for wl in $BENCH_WORKLOADS; do vips_reference "$wl"; done

	for wl in $BENCH_WORKLOADS; do
		step "$wl: ${WL_DESC[$wl]}"
		if [ "${WL_SRC[$wl]}" != alpha ] && wants mem-hit ref-bare disk-hit ref-nginx; then
			capture "$wl"
			hits "$wl"
		fi
		misses "$wl"
	done

	if wants forged ref-bare-403; then
		step "forged signatures"
		forged
	fi

	report
	if wants shared; then shared_tier; fi
	local took=$(($(date +%s) - START_TIME))
	echo
	echo "results: $OUT/bench-results.json (table: $OUT/bench-table.txt, raw runs: $OUT/bench-runs.jsonl)"
	printf 'took %dm%02ds\n' $((took / 60)) $((took % 60))
}

main "$@"
