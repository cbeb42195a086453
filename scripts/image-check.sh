#!/usr/bin/env bash
# Checks the Dockerfile's runtime stage without a Docker engine. Everything
# is read from the Dockerfile, so the check and the image cannot drift:
#   FROM's Debian release, and the runtime stage's `apt-get install` packages:
#     debootstrap --variant=minbase --include=<them> (the debian:*-slim
#     image's dpkg settings: no docs, man pages, locales; unsafe I/O);
#   RUN, less its apt-get commands: run in the chroot (the user, the cache dir);
#   COPY of the binary: a libvips build from the host's `go build` (the host
#     must run the same release, so that the shared libraries match);
#   USER, ENV, ENTRYPOINT and CMD: the server is started by them, in private
#     mount, PID and network namespaces (only a loopback: the image's ports
#     reach nothing else), with a directory origin and a signing key from
#     the environment, and URLs signed by the host's `imgproxy sign` must
#     answer 200 with a WebP, from a JPEG, a HEIC and a JPEG XL original
#     (their decoders come with the runtime packages' dependencies);
#   HEALTHCHECK: its command, with its --timeout, must pass while the server
#     runs and fail once it is stopped.
# Not reproduced: the build stage (the host's Go and libvips-dev stand in,
# without -trimpath and -ldflags, which change no behaviour, so that the
# build cache is shared with scripts/run.sh), layers, VOLUME (the cache dir
# is the rootfs's own), EXPOSE and port mapping, the healthcheck's interval
# and start period, HOSTNAME, cgroup limits; and package versions are the
# mirror's when the cached rootfs was built, not when an image was.
#
# The root file system is cached, keyed by the stage's FROM and RUN, in
# ${XDG_CACHE_HOME:-~/.cache}/imgproxy-image-check (with the downloaded
# packages in debs/, for the next rebuild); each run writes only to an
# overlay over it. Needs root (or sudo): debootstrap, mounts, chroot.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

MIRROR=${IMAGE_CHECK_MIRROR:-http://deb.debian.org/debian}
RECIPE=3 # bump when the way the rootfs is built changes

# stage prints the Dockerfile's last stage, comments dropped and continuation
# lines joined; instr NAME prints the arguments of its NAME instructions.
stage() {
	awk '/^FROM[ \t]/ { s = "" } { s = s $0 "\n" } END { printf "%s", s }' Dockerfile |
		sed -e '/^[[:space:]]*#/d' -e ':a' -e '/\\$/{N;s/\\\n//;ba}'
}
instr() { stage | sed -n "s/^$1[[:space:]]\{1,\}//p"; }
die() { echo "image-check: $*" >&2; exit 1; }

suite=$(instr FROM | sed 's/^[^:]*://; s/[-@ ].*//')
segments=$(instr RUN | sed 's/[[:space:]]*&&[[:space:]]*/\n/g')
read -ra packages <<<"$(grep '^apt-get install' <<<"$segments" | tr ' ' '\n' | grep -v '^-' | tail -n +3 | tr '\n' ' ')"
setup=$(grep -v '^apt-get' <<<"$segments" | paste -sd'&' | sed 's/&/ \&\& /g')
read -ra image_env <<<"$(instr ENV | tr '\n' ' ')"
read -ra entry <<<"$(instr ENTRYPOINT | tr -d '[]",') $(instr CMD | tr -d '[]",')"
user=$(instr USER)
health=$(instr HEALTHCHECK)
health_cmd=$(sed -n 's/^\(--[^ ]* \{1,\}\)*CMD \{1,\}//p' <<<"$health")
health_timeout=$(grep -o -- '--timeout=[^ ]*' <<<"$health" | cut -d= -f2)
for kv in "${image_env[@]}"; do [[ $kv == *=* ]] || die "ENV $kv: only KEY=VALUE without spaces is understood"; done
[ -n "$suite" ] && [ ${#packages[@]} -gt 0 ] && [ -n "$user" ] && [ -n "$health_cmd" ] && [ ${#entry[@]} -gt 0 ] ||
	die "could not read FROM, apt-get install, USER, HEALTHCHECK CMD or ENTRYPOINT from the Dockerfile's last stage"

# as_image CMD... becomes CMD in the chroot as the image's user, with the
# image's environment only (the key read from a file: on no command line).
# It execs: call it in a subshell.
as_image() {
	local key
	key=$(cat "$work/key")
	for v in $(compgen -e); do unset "$v" 2>/dev/null || true; done
	export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="$home" "${image_env[@]}" \
		IMGPROXY_ORIGIN_DIR=/srv/images IMGPROXY_SIGNING_KEYS="$key"
	exec chroot --userspec="$ids" "$root" "$@"
}

# inside ROOTFS WORK URL... runs in new mount, PID and network namespaces, as
# root: an overlay over the cached rootfs, then the server and the checks.
inside() {
	work=$2 root=$2/root
	mkdir -p "$work/upper" "$work/ovl" "$root"
	mount -t overlay overlay -o "lowerdir=$1,upperdir=$work/upper,workdir=$work/ovl" "$root"
	mount -t proc proc "$root/proc"
	mount --rbind /dev "$root/dev"
	trap 'kill "${server:-}" 2>/dev/null || true; wait || true; umount -R "$root"' EXIT
	ip link set lo up
	install -m 0755 "$work/imgproxy" "$root/usr/local/bin/imgproxy" # COPY
	mkdir -p "$root/srv/images" && install -m 0644 "$work"/images/* "$root/srv/images/"
	if chroot "$root" ldd /usr/local/bin/imgproxy | grep 'not found'; then die "shared libraries missing in the image"; fi
	ids=$(awk -F: -v u="$user" '$1 == u || $3 == u { print $3 ":" $4 }' "$root/etc/passwd")
	home=$(awk -F: -v u="$user" '$1 == u || $3 == u { print $6 }' "$root/etc/passwd")
	[ -n "$ids" ] && [ "${ids%%:*}" != 0 ] || die "USER $user: not a non-root user of the image"
	local port i code type
	port=$(printf '%s\n' "${image_env[@]}" | sed -n 's/^IMGPROXY_SERVER_ADDR=.*://p')
	(as_image "${entry[@]}") >"$work/serve.log" 2>&1 &
	server=$!
	for i in $(seq 150); do
		curl -fsS -o /dev/null "http://127.0.0.1:${port:-8080}/readyz" 2>/dev/null && break
		kill -0 "$server" 2>/dev/null && [ "$i" -lt 150 ] || { cat "$work/serve.log" >&2; die "server not ready"; }
		sleep 0.2
	done
	local url
	for url in "${@:3}"; do
		read -r code type < <(curl -sS -o "$work/out" -w '%{http_code} %{content_type}\n' "http://127.0.0.1:${port:-8080}$url")
		[ "$code $type" = "200 image/webp" ] || { cat "$work/serve.log" >&2; die "GET $url: $code $type, want 200 image/webp"; }
		[ "$(head -c 4 "$work/out")$(tail -c +9 "$work/out" | head -c 4)" = RIFFWEBP ] || die "GET $url: the body is not WebP"
		echo "GET $url: $code $type, $(wc -c <"$work/out") bytes"
	done
	[ "$(awk '/^Uid:/ { print $2 }' "$root/proc/$server/status")" = "${ids%%:*}" ] || die "the server does not run as $user"
	echo "served by the server running as $user ($ids)"
	(as_image timeout "${health_timeout:-30s}" /bin/sh -c "$health_cmd") >/dev/null || die "HEALTHCHECK failed: $health_cmd"
	kill "$server" && wait "$server" || true
	if (as_image timeout "${health_timeout:-30s}" /bin/sh -c "$health_cmd") >/dev/null 2>&1; then
		die "HEALTHCHECK passed with the server stopped: $health_cmd"
	fi
	echo "HEALTHCHECK passes while serving and fails once stopped: $health_cmd"
}
if [ "${1:-}" = --inside ]; then inside "${@:2}"; exit; fi

host=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ "$host" = "$suite" ] || die "the host runs Debian '$host', the image '$suite': the binary's shared libraries would not match"
ensure_apt_packages debootstrap curl iproute2
hash=$( (echo "recipe $RECIPE $(dpkg --print-architecture)"; instr FROM; instr RUN) | sha256sum | cut -c1-16)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/imgproxy-image-check
rootfs=$cache/$hash
work=$(mktemp -d "${TMPDIR:-/tmp}/imgproxy-image-check.XXXXXX")
trap 'as_root rm -rf --one-file-system "$work"' EXIT
if [ ! -d "$rootfs" ]; then
	step "debootstrap $suite, --include=${packages[*]} into $rootfs (once per FROM and RUN)"
	start=$SECONDS
	as_root find "$cache" -mindepth 1 -maxdepth 1 ! -name debs -exec rm -rf --one-file-system {} + 2>/dev/null || true
	as_root mkdir -p "$cache/debs" "$rootfs.tmp/etc/dpkg/dpkg.cfg.d"
	printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
		'path-exclude /usr/share/man/*' 'path-exclude /usr/share/groff/*' 'path-exclude /usr/share/info/*' \
		'path-exclude /usr/share/lintian/*' 'path-exclude /usr/share/locale/*' |
		as_root tee "$rootfs.tmp/etc/dpkg/dpkg.cfg.d/docker" >/dev/null
	echo force-unsafe-io | as_root tee "$rootfs.tmp/etc/dpkg/dpkg.cfg.d/docker-apt-speedup" >/dev/null
	as_root unshare --mount --propagation private debootstrap --variant=minbase --cache-dir="$cache/debs" \
		--include="$(IFS=,; echo "${packages[*]}")" "$suite" "$rootfs.tmp" "$MIRROR" >"$work/debootstrap.log" 2>&1 ||
		{ tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
	as_root chroot "$rootfs.tmp" /bin/sh -c "$setup"
	as_root find "$rootfs.tmp/var/cache/apt/archives" -name '*.deb' -delete # kept in $cache/debs
	as_root mv "$rootfs.tmp" "$rootfs"
	echo "built in $((SECONDS - start))s"
fi

step "the image's runtime stage in a chroot ($rootfs)"
go build -o "$work/imgproxy" ./cmd/imgproxy
(umask 077 && "$work/imgproxy" keygen >"$work/key")
# A JPEG, and the formats whose decoders come as the runtime packages'
# dependencies (HEIC: libheif with libde265; JPEG XL: libjxl).
mkdir "$work/images" && cp internal/devimages/hat.jpg internal/imagefmt/testdata/real/photo.heic \
	internal/imagefmt/testdata/real/photo.jxl "$work/images/"
urls=()
for src in hat.jpg:64 photo.heic:16 photo.jxl:16; do
	urls+=("$(cd "$work" && IMGPROXY_SIGNING_KEYS=$(cat key) IMGPROXY_SIGNING_BASE_URL='' ./imgproxy sign "${src%%:*}" -w "${src##*:}" --fm webp)")
done
as_root unshare --mount --propagation private --net --pid --fork --kill-child scripts/image-check.sh --inside "$rootfs" "$work" "${urls[@]}"
echo "image check passed in ${SECONDS}s"
