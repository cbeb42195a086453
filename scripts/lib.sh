# Shared by the scripts: installs what a command needs when it is missing.
# Sourced, not run.

step() { printf '\n==> %s\n' "$*"; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# ensure_apt_packages installs libvips (with pkg-config, for cgo) and Node.js
# when they are missing, plus any extra Debian packages named.
ensure_apt_packages() {
	local need=()
	command -v pkg-config >/dev/null && pkg-config --exists vips || need+=(libvips-dev pkg-config)
	command -v node >/dev/null || need+=(nodejs)
	local p
	for p in "$@"; do
		dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
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
