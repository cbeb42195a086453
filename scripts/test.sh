#!/usr/bin/env bash
# Sets up and runs every test. Installs what is missing (libvips and
# pkg-config for the cgo build, Node.js for the JavaScript signer,
# exiftool and the libvips command line as independent readers of what the
# server returns, cjxl and Debian's free ICC profiles to make JPEG XL and
# wide-gamut sources at test time, Chromium to render `sign --picture` markup, staticcheck,
# versitygw for the S3 tests), then: gofmt, go vet (with and
# without cgo), staticcheck, go test -race (against a versitygw it starts
# and stops), every benchmark once, node --test, and the Docker image's runtime stage in a chroot
# (scripts/image-check.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_apt_packages curl nodejs npm libimage-exiftool-perl libvips-tools chromium libjxl-tools icc-profiles-free
# Tests that check the output with exiftool or vips fail, not skip, here.
export IMGPROXY_TEST_TOOLS_REQUIRED=1
ensure_go_tool staticcheck honnef.co/go/tools/cmd/staticcheck@v0.8.2
ensure_versitygw

step "gofmt"
unformatted=$(gofmt -l cmd internal)
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi

step "go vet"
go vet ./...

step "pure-Go build (sign, verify, keygen and version without libvips)"
CGO_ENABLED=0 go vet ./...
CGO_ENABLED=0 go build -o /dev/null ./cmd/imgproxy

step "staticcheck"
staticcheck ./...

# The S3 tests run against a real S3-compatible server, stopped on exit.
start_versitygw

step "go test -race"
go test -race -count=1 ./...

# The race detector makes sync.Pool drop items on purpose, so the tests
# that hold hot paths to zero allocations run once more without it.
step "allocation tests (without the race detector)"
go test -count=1 -run 'AllocatesNothing|DoesNotAllocate' ./internal/server ./internal/imagefmt

# Benchmarks are for scripts/bench.sh and scripts/bench-scale.sh to time;
# here each runs once, so that their code stays correct.
step "benchmarks, once each (correctness only)"
if ! out=$(go test -count=1 -run '^$' -bench . -benchtime 1x ./... 2>&1); then
	echo "$out" >&2
	exit 1
fi

step "node --test (scripts/sign.mjs)"
node --test --test-reporter=spec scripts/

# The Dockerfile's runtime stage, built with debootstrap (cached) and run in
# a chroot; needs root or sudo. Skipped only where debootstrap cannot be had.
if command -v debootstrap >/dev/null || ensure_apt_packages debootstrap; then
	scripts/image-check.sh
else
	step "skipped scripts/image-check.sh: debootstrap is not installed and could not be installed"
fi

step "all tests passed"
