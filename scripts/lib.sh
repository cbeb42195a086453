# Shared by the scripts: installs what a command needs when it is missing.
# Sourced, not run.

step() { printf '\n==> %s\n' "$*"; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# ensure_apt_packages installs the named Debian packages that are missing,
# plus libvips and pkg-config (the cgo build needs them) when absent.
ensure_apt_packages() {
	local need=() p
	command -v pkg-config >/dev/null && pkg-config --exists vips || need+=(libvips-dev pkg-config)
	for p in "$@"; do
		case "$p" in
		nodejs) command -v node >/dev/null || need+=(nodejs) ;;
		npm) command -v npm >/dev/null || need+=(npm) ;; # NodeSource's nodejs carries its own
		*) dpkg -s "$p" >/dev/null 2>&1 || need+=("$p") ;;
		esac
	done
	if [ ${#need[@]} -gt 0 ]; then
		step "installing ${need[*]} (apt)"
		as_root apt-get update -qq
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
	fi
}

# ensure_go_tool NAME MODULE@VERSION installs a Go tool into GOPATH/bin when
# it is not already on PATH.
ensure_go_tool() {
	local gobin
	gobin=$(go env GOBIN)
	[ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
	case ":$PATH:" in *":$gobin:"*) ;; *) export PATH="$gobin:$PATH" ;; esac
	if ! command -v "$1" >/dev/null; then
		step "installing $1 ($2)"
		GOFLAGS=-buildvcs=false go install "$2"
	fi
}

# ensure_versitygw installs versitygw, the S3-compatible server the origin
# tests run against, when it is missing.
ensure_versitygw() {
	ensure_go_tool versitygw github.com/versity/versitygw/cmd/versitygw@v1.8.0
}

# free_loopback_port prints a TCP port that nothing on 127.0.0.1 listens on,
# below the kernel's ephemeral range: a port in it can be taken between the
# check and the bind by the local end of any outgoing connection (a
# benchmark's thousands of them), and the bind then fails.
free_loopback_port() {
	local port low=32768 high
	read -r low high </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
	if [ "$low" -le 11000 ]; then low=60000; fi # odd range: use the old span
	while :; do
		port=$((10000 + RANDOM % (low - 10000)))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
}

# start_versitygw starts versitygw on a free loopback port over a fresh temp
# directory (its posix backend keeps metadata in extended attributes, which
# the temp filesystem must support), with random root credentials, waits
# until it answers, and exports IMGPROXY_TEST_S3_{ENDPOINT,ACCESS_KEY,
# SECRET_KEY,REQUIRED} for the tests. An EXIT trap (also run on INT and
# TERM, which it sets to exit) stops it and removes the directory. The
# credentials go through the environment, never the command line.
start_versitygw() {
	command -v versitygw >/dev/null || ensure_versitygw
	local dir port i
	dir=$(mktemp -d "${TMPDIR:-/tmp}/imgproxy-versitygw.XXXXXX")
	mkdir "$dir/data"
	port=$(free_loopback_port)
	VERSITYGW_DIR=$dir
	IMGPROXY_TEST_S3_ACCESS_KEY=$(od -An -N10 -tx1 /dev/urandom | tr -d ' \n')
	IMGPROXY_TEST_S3_SECRET_KEY=$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')
	step "starting versitygw on 127.0.0.1:$port"
	ROOT_ACCESS_KEY=$IMGPROXY_TEST_S3_ACCESS_KEY ROOT_SECRET_KEY=$IMGPROXY_TEST_S3_SECRET_KEY \
		versitygw --port "127.0.0.1:$port" --health /health --quiet --keep-alive \
		posix "$dir/data" >"$dir/log" 2>&1 &
	VERSITYGW_PID=$!
	trap stop_versitygw EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM # so that the EXIT trap runs on these too
	for i in $(seq 100); do
		if curl -fsS -o /dev/null "http://127.0.0.1:$port/health" 2>/dev/null; then
			export IMGPROXY_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
			export IMGPROXY_TEST_S3_ACCESS_KEY IMGPROXY_TEST_S3_SECRET_KEY
			export IMGPROXY_TEST_S3_REQUIRED=1
			return 0
		fi
		if ! kill -0 "$VERSITYGW_PID" 2>/dev/null; then break; fi
		sleep 0.1
	done
	echo "versitygw did not become healthy on 127.0.0.1:$port; its log:" >&2
	cat "$dir/log" >&2
	return 1
}

# stop_versitygw stops the server started by start_versitygw and removes its
# directory; it is the EXIT trap that start_versitygw registers.
stop_versitygw() {
	if [ -n "${VERSITYGW_PID:-}" ]; then
		kill "$VERSITYGW_PID" 2>/dev/null || true
		wait "$VERSITYGW_PID" 2>/dev/null || true
		VERSITYGW_PID=
	fi
	if [ -n "${VERSITYGW_DIR:-}" ]; then
		rm -rf "$VERSITYGW_DIR"
		VERSITYGW_DIR=
	fi
}
