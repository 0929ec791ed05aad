#!/usr/bin/env bash
# test.sh - build and run every test twice: a normal build in build/ and an ASan+UBSan build in
# build-asan/. Exits non-zero if any test fails in either build.
#
# Usage: scripts/test.sh [-L LABEL_REGEX] [other ctest arguments...]
#   e.g. scripts/test.sh -L unit          only the unit tests
#        scripts/test.sh -L 'file|cli'    two integration groups
# OFS_TEST_BUILDS="build" limits the run to one build (default "build build-asan").
# A full run (no arguments) then runs every fuzz target for OFS_FUZZ_SECONDS (default 30; 0
# skips) under ASan+UBSan with clang (scripts/fuzz.sh).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)
builds=${OFS_TEST_BUILDS:-"build build-asan"}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

declare -a summary=()
failed=0

run_build() {
    local dir=$1; shift
    local -a flags=(-DCMAKE_BUILD_TYPE=Release)
    [ "$dir" = build-asan ] && flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DOFFSITE_SANITIZE=ON)
    echo "=== $dir: configure and build"
    if ! cmake -S "$root" -B "$root/$dir" "${flags[@]}" > "$root/$dir.configure.log" 2>&1; then
        cat "$root/$dir.configure.log"
        summary+=("$dir: FAILED to configure")
        return 1
    fi
    rm -f "$root/$dir.configure.log"
    if ! cmake --build "$root/$dir" -j"$jobs"; then
        summary+=("$dir: FAILED to build")
        return 1
    fi
    echo "=== $dir: ctest $*"
    local log rc
    log=$(mktemp)
    (cd "$root/$dir" && ctest --output-on-failure -j"$jobs" "$@") 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    local line
    line=$(grep -E 'tests passed' "$log" | tail -1)
    rm -f "$log"
    if [ "$rc" -ne 0 ]; then
        summary+=("$dir: FAILED (${line:-ctest exit $rc})")
        return 1
    fi
    summary+=("$dir: ok (${line:-no tests})")
}

for b in $builds; do
    run_build "$b" "$@" || failed=1
done

fuzz_seconds=${OFS_FUZZ_SECONDS:-30}
if [ "$#" -eq 0 ] && [ "$fuzz_seconds" != 0 ]; then
    if bash "$root/scripts/fuzz.sh" "$fuzz_seconds"; then
        summary+=("fuzz: ok (every target ${fuzz_seconds}s, no crash)")
    else
        summary+=("fuzz: FAILED (scripts/fuzz.sh; inputs in build-fuzz/artifacts/)")
        failed=1
    fi
fi

echo
echo "=== summary"
for s in "${summary[@]}"; do echo "$s"; done
exit "$failed"
