#!/usr/bin/env bash
# fuzz.sh [SECONDS] [TARGET...] - build the libFuzzer targets of tests/fuzz with clang under
# ASan+UBSan (build-fuzz/) and run each for SECONDS (default 30), starting from its committed
# seeds (tests/fuzz/corpus/NAME) and what earlier runs found (build-fuzz/corpus/NAME).
# Prints each target's executions per second and coverage (libFuzzer's cov: and ft:). Exits
# non-zero if any target crashed, leaked or broke a property it asserts; the input is kept in
# build-fuzz/artifacts/NAME/ - copy it to tests/fuzz/regress/NAME/ with the fix, and ctest's
# fuzz/NAME replays it in every build from then on.
#   scripts/fuzz.sh 300 config seal    five minutes each for two targets
# Needs clang and libclang-rt-dev (scripts/install-deps.sh installs them).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$(pwd)
seconds=${1:-30}
shift || true
cc=${OFS_FUZZ_CC:-$(command -v clang-14 || command -v clang || true)}
[ -n "$cc" ] || { echo "fuzz.sh: clang not found (scripts/install-deps.sh installs it)" >&2; exit 1; }

echo "=== build-fuzz: configure and build ($cc, ASan+UBSan, libFuzzer)"
if ! CC=$cc cmake -S "$root" -B "$root/build-fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DOFFSITE_SANITIZE=ON -DOFFSITE_FUZZ=ON -DOFFSITE_TESTS=OFF > "$root/build-fuzz.log" 2>&1 ||
   ! cmake --build "$root/build-fuzz" -j"$(nproc 2>/dev/null || echo 2)" >> "$root/build-fuzz.log" 2>&1; then
    tail -40 "$root/build-fuzz.log"
    echo "fuzz.sh: build failed (build-fuzz.log)" >&2
    exit 1
fi

targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    for src in "$root"/tests/fuzz/fuzz_*.c; do
        name=$(basename "$src" .c)
        [ "$name" = fuzz_common ] || targets+=("${name#fuzz_}")
    done
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0
declare -a summary=()
for t in "${targets[@]}"; do
    bin=$root/build-fuzz/fuzz_$t
    [ -x "$bin" ] || { echo "fuzz.sh: no target '$t'" >&2; failed=1; continue; }
    corpus=$root/build-fuzz/corpus/$t
    artifacts=$root/build-fuzz/artifacts/$t
    log=$root/build-fuzz/fuzz_$t.log
    mkdir -p "$corpus" "$artifacts"
    echo "=== fuzz $t: ${seconds}s"
    # new finds go to the first corpus directory (the build's), never to the committed seeds
    "$bin" "$corpus" "$root/tests/fuzz/corpus/$t" -max_total_time="$seconds" \
        -artifact_prefix="$artifacts/" -print_final_stats=1 -max_len=65536 -timeout=20 \
        -rss_limit_mb=2048 > "$log" 2>&1
    rc=$?
    # the last status line: "#N DONE cov: C ft: F corp: ... exec/s: E ..."
    status=$(grep -E '^#[0-9]+' "$log" | tail -1)
    execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{ print $2 }')
    rate=$(grep -E '^stat::average_exec_per_sec' "$log" | awk '{ print $2 }')
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<< "$status")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<< "$status")
    line="$t: ${execs:-?} runs, ${rate:-?} exec/s, cov ${cov:-?}, ft ${ft:-?}"
    if [ "$rc" -ne 0 ]; then
        failed=1
        line="$line - FAILED (exit $rc; $log, input in $artifacts/)"
        grep -E 'ERROR|fuzz:|SUMMARY' "$log" | head -5
    fi
    echo "$line"
    summary+=("$line")
done
echo
echo "=== fuzz summary (${seconds}s each)"
for s in "${summary[@]}"; do echo "$s"; done
exit "$failed"
