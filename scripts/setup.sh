#!/usr/bin/env bash
# setup.sh - quick start: install the dependencies, build offsite (Release) into build/, then
# make a real backup of this repository's docs/ and config/ with config/offsite.example.ini
# (everything it writes lives under /var/tmp/offsite-demo/), restore it, verify every byte and
# prove with diff -r that the restored copy is identical to the source.
#
# Run as root or as a user who may sudo: install-deps.sh runs apt-get through sudo when needed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
config=$root/config/offsite.example.ini
demo=/var/tmp/offsite-demo
restore_dir=$demo/restore

step() { printf '\n==> %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "installing build dependencies"
bash scripts/install-deps.sh

step "building offsite (Release) into build/"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$root/build" -j"$(nproc 2>/dev/null || echo 2)" --target offsite
bin=$root/build/offsite
[ -x "$bin" ] || { echo "setup: $bin was not built" >&2; exit 1; }

[ -f "$config" ] || { echo "setup: $config is missing" >&2; exit 1; }
ofs() { run "$bin" -c "$config" "$@"; }

step "checking the configuration and creating the state, staging and key ($demo)"
ofs config check
ofs init

step "backing up $root/docs and $root/config"
ofs backup

step "backups in the staging area"
ofs list

step "restoring the latest backup into $restore_dir"
rm -rf "$restore_dir"
ofs restore --latest --target "$restore_dir"

step "verifying every byte of the backup"
ofs verify --read-data

step "comparing the restored files with the originals"
# Catalog paths are absolute paths without the leading '/', so the copy of $root/docs sits at
# $restore_dir$root/docs.
for d in docs config; do
    run diff -r "$root/$d" "$restore_dir$root/$d"
done

cat <<MSG

setup: done. offsite is built at $bin.
  configuration:  $config
  state, key:     see [agent] in the configuration (under $demo)
  restored copy:  $restore_dir$root
  next:           scripts/test.sh runs every test; docs/operator-guide.md explains each command
MSG
