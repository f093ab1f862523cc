#!/usr/bin/env bash
# The sanitizer step of CI, within a time budget:
#   c     the runtime's C tests under ASan + UBSan, and test_runtime (thread pool, concurrent
#         callers) under TSan                                    (runtime-c/tests/run.sh sanitize|tsan)
#   asan  the whole Swift test suite under AddressSanitizer (+ LeakSanitizer), the C targets also
#         under UndefinedBehaviorSanitizer (swiftc has no -sanitize=undefined on Linux; Swift's own
#         overflow, bounds and precondition checks are on in the debug build)
#   tsan  the concurrency tests under ThreadSanitizer ($TSAN_FILTER; empty runs the whole suite)
#
#   .ci/sanitizers.sh [c] [asan] [tsan]     (default: all three, in that order)
#
# Exits non-zero when a part fails, a sanitizer reports anything, or the budget runs out
# (SANITIZERS_BUDGET seconds for everything, default 1800). Builds go to .build-asan and
# .build-tsan; logs to SANITIZERS_OUT (default a new temporary folder, printed). Code compiled at
# run time (tcc modules, clang's cached shared objects) is not instrumented.
set -euo pipefail
cd "$(dirname "$0")/.."

source .ci/ensure-system-packages.sh

PARTS=${*:-c asan tsan}
BUDGET=${SANITIZERS_BUDGET:-1800}
TSAN_FILTER=${TSAN_FILTER-'CompiledModelTests|TCCCompilerTests/compilesConcurrently'}
OUT=${SANITIZERS_OUT:-$(mktemp -d -t graphjit-sanitizers.XXXXXX)}
mkdir -p "$OUT"
export GRAPHJIT_CACHE_DIR="${GRAPHJIT_CACHE_DIR:-$OUT/kernel-cache}"
export SWIFT_BACKTRACE=enable=no  # the sanitizers print the stacks
# Keep the instrumented runtime-c serving calls: a debug build would otherwise install an
# uninstrumented -O2 copy of it (OptimizedRuntime), which no sanitizer sees.
export GRAPHJIT_OPTIMIZED_RUNTIME=0
DEADLINE=$(( $(date +%s) + BUDGET ))
REPORTS='ERROR: AddressSanitizer|ERROR: LeakSanitizer|WARNING: ThreadSanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer'
status=0
summary=()

# run NAME COMMAND...: runs COMMAND within what is left of the budget, logs it to $OUT/NAME.log,
# and fails on a non-zero exit or any sanitizer report in the log.
run() {
    local name=$1; shift
    local left=$(( DEADLINE - $(date +%s) ))
    if [ "$left" -le 0 ]; then
        echo "sanitizers: $name skipped: the ${BUDGET} s budget is spent"
        summary+=("$name: not run (budget)"); status=1; return
    fi
    local start=$(date +%s) rc=0
    echo "sanitizers: $name ..."
    timeout --kill-after=30 "$left" "$@" >"$OUT/$name.log" 2>&1 || rc=$?
    local took=$(( $(date +%s) - start )) reports
    reports=$(grep -a -c -E "$REPORTS" "$OUT/$name.log" || true)
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        echo "sanitizers: $name ran out of the budget after ${took} s (log: $OUT/$name.log)"
        summary+=("$name: TIMEOUT after ${took} s"); status=1
    elif [ "$rc" -ne 0 ] || [ "$reports" -ne 0 ]; then
        echo "sanitizers: $name FAILED (exit $rc, $reports sanitizer report lines, ${took} s; log: $OUT/$name.log)"
        grep -a -m3 -A30 -E "$REPORTS" "$OUT/$name.log" | head -80 || tail -40 "$OUT/$name.log"
        summary+=("$name: FAILED in ${took} s"); status=1
    else
        echo "sanitizers: $name ok (${took} s)"
        summary+=("$name: ok in ${took} s")
    fi
}

for part in $PARTS; do
    case "$part" in
    c)
        run c-asan-ubsan env OUT="$OUT/runtime-c" sh runtime-c/tests/run.sh sanitize
        run c-tsan env OUT="$OUT/runtime-c" sh runtime-c/tests/run.sh tsan
        ;;
    asan)
        # -fno-sanitize-recover is not used so that a report names every bad site; the log check
        # fails the part on any `runtime error:`.
        ASAN_FLAGS=(--sanitize=address -Xcc -fsanitize=undefined --scratch-path .build-asan)
        run swift-asan-build swift build --build-tests "${ASAN_FLAGS[@]}"
        run swift-asan-test env \
            ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1}" \
            LSAN_OPTIONS="suppressions=$PWD/.ci/lsan-suppressions.txt:print_suppressions=0" \
            UBSAN_OPTIONS="print_stacktrace=1" \
            swift test --skip-build "${ASAN_FLAGS[@]}"
        ;;
    tsan)
        TSAN_FLAGS=(--sanitize=thread --scratch-path .build-tsan)
        filter=()
        [ -n "$TSAN_FILTER" ] && filter=(--filter "$TSAN_FILTER")
        run swift-tsan-build swift build --build-tests "${TSAN_FLAGS[@]}"
        run swift-tsan-test env TSAN_OPTIONS="${TSAN_OPTIONS:-second_deadlock_stack=1}" \
            swift test --skip-build "${TSAN_FLAGS[@]}" "${filter[@]}"
        ;;
    *) echo "sanitizers: unknown part '$part' (c, asan, tsan)" >&2; exit 2 ;;
    esac
done

echo "sanitizers: summary (logs in $OUT)"
for line in "${summary[@]}"; do echo "  $line"; done
exit $status
