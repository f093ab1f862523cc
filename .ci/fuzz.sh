#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer) of the NPY reader, the safetensors reader, model
# construction from random specs and the Keras file reader: builds Fuzz/ (its own SwiftPM package) with the fuzzer and address
# sanitizers (UBSan too for the C targets), then runs each fuzzer for a bounded time from its seed
# corpus in Fuzz/Corpus/.
#
#   .ci/fuzz.sh [SECONDS]            fuzz each fuzzer SECONDS (default 60); non-zero exit on any crash
#   .ci/fuzz.sh --replay [FUZZER...] run the reproducers in Fuzz/Crashes/<Fuzzer>/ once each and say
#                                    which still crash (non-zero exit if any does)
#   .ci/fuzz.sh --write-seeds        regenerate the valid seeds in Fuzz/Corpus/ from the library
#
# Environment: FUZZERS="FuzzNPY FuzzSafetensors FuzzModelSpec FuzzKerasFile" (which to run), FUZZ_OUT (where crash
# inputs and logs go; default a new temporary folder, printed), FUZZ_JOBS (libFuzzer -fork jobs, default
# 0 = one process that stops at its first crash), FUZZ_CONFIGURATION (debug, the default, or release).
# See Fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

source .ci/ensure-system-packages.sh

MODE=fuzz
case "${1:-}" in
--replay) MODE=replay; shift ;;
--write-seeds) MODE=seeds; shift ;;
esac
SECONDS_EACH=60
if [ "$MODE" = fuzz ] && [ $# -gt 0 ]; then SECONDS_EACH=$1; shift; fi
ALL_FUZZERS="FuzzNPY FuzzSafetensors FuzzModelSpec FuzzKerasFile"
if [ "$MODE" = replay ] && [ $# -gt 0 ]; then FUZZERS="$*"; fi
FUZZERS=${FUZZERS:-$ALL_FUZZERS}
CONFIGURATION=${FUZZ_CONFIGURATION:-debug}
JOBS=${FUZZ_JOBS:-0}

OUT=${FUZZ_OUT:-$(mktemp -d -t graphjit-fuzz.XXXXXX)}
mkdir -p "$OUT"
export GRAPHJIT_CACHE_DIR="${GRAPHJIT_CACHE_DIR:-$OUT/kernel-cache}"
# Swift's own crash backtracer would race libFuzzer's and ASan's handlers; they print the stack.
export SWIFT_BACKTRACE=enable=no
# Keep the instrumented runtime-c serving calls: a debug build would otherwise install an
# uninstrumented -O2 copy of it (OptimizedRuntime), which no sanitizer sees.
export GRAPHJIT_OPTIMIZED_RUNTIME=0
# Foundation's Process leaks 32 bytes per run (a toolchain leak, not ours: see the suppressions file).
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/.ci/lsan-suppressions.txt:print_suppressions=0}"
# (A Swift trap is a SIGILL, which libFuzzer reports as a deadly signal, with the stack.) The C
# targets are also built with UBSan (swiftc has no -sanitize=undefined on Linux); its first report
# stops the fuzzer like a crash.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

# 1. Build: one product at a time (a plain `swift build` would also link the main package's
#    `graphjit` tool, whose `main` clashes with libFuzzer's).
build_start=$(date +%s)
for fuzzer in $FUZZERS; do
    if ! swift build --package-path Fuzz -c "$CONFIGURATION" --sanitize=fuzzer --sanitize=address \
        -Xcc -fsanitize=undefined --product "$fuzzer" >"$OUT/build-$fuzzer.log" 2>&1; then
        grep -v "warning: Cannot export local symbol" "$OUT/build-$fuzzer.log" | tail -40 >&2
        echo "fuzz: building $fuzzer failed (log: $OUT/build-$fuzzer.log)" >&2
        exit 1
    fi
done
BIN=$(swift build --package-path Fuzz -c "$CONFIGURATION" --sanitize=fuzzer --sanitize=address \
    -Xcc -fsanitize=undefined --show-bin-path)
echo "fuzz: built $FUZZERS in $(( $(date +%s) - build_start )) s ($CONFIGURATION, fuzzer+address sanitizers, UBSan for C)"

if [ "$MODE" = seeds ]; then
    for fuzzer in $FUZZERS; do
        GRAPHJIT_FUZZ_WRITE_SEEDS="$PWD/Fuzz/Corpus/$fuzzer" "$BIN/$fuzzer"
    done
    exit 0
fi

# libhdf5 allocates sizes it reads from a file's metadata. For an impossible size glibc's malloc
# returns NULL, libhdf5 reports an error and GraphJIT throws; ASan by default aborts instead
# ("allocation-size-too-big" inside H5C_protect), which is not what the library does in use.
# Let ASan's allocator return NULL as glibc does (libFuzzer's own malloc and RSS limits still apply).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}allocator_may_return_null=1"

status=0
if [ "$MODE" = replay ]; then
    # The timeout reproducer needs the orthogonal-initialization guard lifted.
    export GRAPHJIT_FUZZ_MAX_ORTHOGONAL_WORK=1000000000000
    for fuzzer in $FUZZERS; do
        for input in Fuzz/Crashes/"$fuzzer"/*; do
            [ -f "$input" ] || continue
            case "$input" in *.md | *.txt) continue ;; esac
            if "$BIN/$fuzzer" -rss_limit_mb=2048 -timeout=10 "$input" >"$OUT/$(basename "$input").log" 2>&1; then
                echo "fixed:   $input"
            else
                echo "crashes: $input  (log: $OUT/$(basename "$input").log)"
                status=1
            fi
        done
    done
    exit $status
fi

# 2. Fuzz each for SECONDS_EACH: new inputs go to a scratch corpus (the committed one is only read),
#    crash inputs to $OUT/<fuzzer>/.
for fuzzer in $FUZZERS; do
    mkdir -p "$OUT/$fuzzer" "$OUT/$fuzzer.corpus"
    log="$OUT/$fuzzer.log"
    echo "fuzz: $fuzzer for ${SECONDS_EACH} s ..."
    fork=()
    [ "$JOBS" -gt 0 ] && fork=(-fork="$JOBS" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
    set +e
    # `timeout` bounds a hung run (libFuzzer's own -timeout covers one input, not its shutdown).
    timeout --kill-after=30 $(( SECONDS_EACH + 120 )) \
        "$BIN/$fuzzer" "${fork[@]}" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$OUT/$fuzzer/" \
        "$OUT/$fuzzer.corpus" "Fuzz/Corpus/$fuzzer" >"$log" 2>&1
    rc=$?
    set -e
    runs=$(grep -a -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    [ -n "$runs" ] || runs=$(grep -a -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
    crashes=$(find "$OUT/$fuzzer" -type f | wc -l)
    if [ "$rc" -ne 0 ] || [ "$crashes" -gt 0 ]; then
        echo "fuzz: $fuzzer FAILED (exit $rc, ${runs:-?} inputs, $crashes crash/timeout/oom inputs in $OUT/$fuzzer/)"
        grep -a -m1 -B2 -A25 -E 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|Fatal error' "$log" | head -60 || true
        echo "fuzz: full log $log; reproduce with: $BIN/$fuzzer <input> (GRAPHJIT_FUZZ_VERBOSE=1 prints a model spec as Swift)"
        status=1
    else
        echo "fuzz: $fuzzer ok (${runs:-?} inputs)"
    fi
done
echo "fuzz: crash inputs and logs in $OUT"
exit $status
