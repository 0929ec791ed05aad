#!/usr/bin/env bash
# gcs-emulator-install.sh - install the Cloud Storage emulator (npm firebase-tools, pinned) that
# the gcs integration cases and tests/bench/gcs-push-bench.sh run, into a cache directory of its
# own, once: a later run finds it and returns at once.
#
# Usage: gcs-emulator-install.sh [DIR]
#   DIR defaults to $OFS_GCS_EMULATOR_DIR, else /var/cache/offsite/firebase-tools-VERSION as root,
#   else ~/.cache/offsite/firebase-tools-VERSION. Prints DIR on its last line.
# The install takes minutes (about 600 packages); package install scripts are skipped (the
# storage emulator needs none of the native add-ons they build). The launcher
# (gcs-emulator.js) leans on the emulator's internals, so the version is pinned here.
set -euo pipefail

VERSION=15.34.2
if [ "$(id -u)" -eq 0 ]; then
    default=/var/cache/offsite/firebase-tools-$VERSION
else
    default=${XDG_CACHE_HOME:-$HOME/.cache}/offsite/firebase-tools-$VERSION
fi
dir=${1:-${OFS_GCS_EMULATOR_DIR:-$default}}
marker=$dir/node_modules/firebase-tools/lib/emulator/storage/server.js

if [ -f "$marker" ]; then
    echo "$dir"
    exit 0
fi
command -v npm > /dev/null || { echo "gcs-emulator-install: npm is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
mkdir -p "$dir"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "gcs-emulator-install: installing firebase-tools@$VERSION into $dir (takes minutes)" >&2
# a private package.json keeps npm from walking up into another project
[ -f "$dir/package.json" ] || echo '{"name":"offsite-gcs-emulator","private":true}' > "$dir/package.json"
if ! (cd "$dir" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error \
        "firebase-tools@$VERSION") > "$log" 2>&1; then
    cat "$log" >&2
    echo "gcs-emulator-install: FAILED (npm install firebase-tools@$VERSION)" >&2
    exit 1
fi
[ -f "$marker" ] || { echo "gcs-emulator-install: $marker missing after the install" >&2; exit 1; }
echo "$dir"
