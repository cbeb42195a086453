#!/usr/bin/env bash
# Builds the release binaries into dist/ (or $DIST), with SHA256SUMS:
#   imgproxy-VERSION-linux-ARCH       the server (cgo, libvips): it needs the
#                                     libvips42 of Debian bookworm at run time
#   imgproxy-sign-VERSION-OS-ARCH     CGO-free, for linux, darwin and windows
#                                     (.exe), amd64 and arm64: sign, verify,
#                                     keygen, version; no serve
# The server is built for the host's architecture, and for the other of
# amd64/arm64 only when a cross compiler and that architecture's libvips-dev
# are installed (as root: dpkg --add-architecture arm64 && apt-get update &&
# apt-get install gcc-aarch64-linux-gnu libvips-dev:arm64); otherwise it is
# skipped, with a message.
# Stamped into `imgproxy version`: VERSION (default: git describe), the
# commit, and the build date (SOURCE_DATE_EPOCH, default now, in UTC).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_apt_packages # libvips-dev and pkg-config for the server build

dist=${DIST:-dist}
version=${VERSION:-$(git describe --tags --always --dirty)}
commit=$(git rev-parse HEAD)
date=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}" +%Y-%m-%dT%H:%M:%SZ)
pkg=github.com/imgproxy-team/imgproxy/internal/cli
# internal/cli/version_test.go links its test build with the same flags.
ldflags="-s -w -X $pkg.version=$version -X $pkg.commit=$commit -X $pkg.date=$date"

# build GOOS GOARCH CGO_ENABLED NAME [VAR=VALUE...]
build() {
	env GOOS="$1" GOARCH="$2" CGO_ENABLED="$3" "${@:5}" \
		go build -trimpath -ldflags "$ldflags" -o "$dist/$4" ./cmd/imgproxy
	echo "  $dist/$4"
}

step "the CGO-free build signs every URL contract vector as the server verifies them"
go test -count=1 -run TestReleaseBuildStampsAndSignsVectors ./internal/cli

rm -rf "$dist" && mkdir -p "$dist"
step "server builds (libvips) $version"
host=$(go env GOARCH)
for arch in amd64 arm64; do
	triplet=$([ "$arch" = amd64 ] && echo x86_64-linux-gnu || echo aarch64-linux-gnu)
	if [ "$arch" = "$host" ]; then
		build linux "$arch" 1 "imgproxy-$version-linux-$arch"
	elif command -v "$triplet-gcc" >/dev/null &&
		PKG_CONFIG_LIBDIR=/usr/lib/$triplet/pkgconfig pkg-config --exists vips; then
		build linux "$arch" 1 "imgproxy-$version-linux-$arch" CC="$triplet-gcc" PKG_CONFIG_LIBDIR="/usr/lib/$triplet/pkgconfig"
	else
		echo "  skipped linux/$arch: no $triplet-gcc, or no libvips-dev:$arch (see the header of $0)"
	fi
done

step "signing builds (CGO-free) $version"
for os in linux darwin windows; do
	for arch in amd64 arm64; do
		build "$os" "$arch" 0 "imgproxy-sign-$version-$os-$arch$([ "$os" = windows ] && echo .exe)"
	done
done

"$dist/imgproxy-sign-$version-linux-$host" version | grep -qx "built:   $date" ||
	{ echo "the build date is not stamped" >&2; exit 1; }
(cd "$dist" && sha256sum imgproxy-* >SHA256SUMS)
step "$dist/SHA256SUMS"
cat "$dist/SHA256SUMS"
