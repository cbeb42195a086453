#!/usr/bin/env bash
# Sets up and runs the server on its embedded default: installs libvips when
# missing, builds bin/imgproxy, and starts `imgproxy serve --dev`, which
# signs with a throwaway key, serves a few sample images and prints example
# URLs that work until it stops. Extra arguments go to serve, e.g.
# scripts/run.sh --addr 127.0.0.1:9000.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_apt_packages
step "building bin/imgproxy"
go build -o bin/imgproxy ./cmd/imgproxy
step "starting imgproxy serve --dev (Ctrl-C stops it)"
exec ./bin/imgproxy serve --dev "$@"
