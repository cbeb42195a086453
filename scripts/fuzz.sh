#!/usr/bin/env bash
# Runs every native Go fuzz target beyond what CI does, one after another,
# for FUZZ_TIME each (default 3m). A failure stops the run and leaves its
# input under the package's testdata/fuzz/<target>/, where `go test` then
# replays it forever: fix the bug and commit the input with the fix.
#   scripts/fuzz.sh                  # every target, 3 minutes each
#   FUZZ_TIME=30s scripts/fuzz.sh urlsig   # only packages matching "urlsig"
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_apt_packages

time=${FUZZ_TIME:-3m}
filter=${1:-}
found=0
for pkg in $(go list ./...); do
	case "$pkg" in *"$filter"*) ;; *) continue ;; esac
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		found=$((found + 1))
		step "$pkg $target ($time)"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$time" "$pkg"
	done
done
[ "$found" -gt 0 ] || { echo "no fuzz targets matched '$filter'" >&2; exit 1; }
step "$found fuzz target(s) ran for $time each without a failure"
