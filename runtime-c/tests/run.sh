#!/bin/sh
# Builds and runs the runtime's C tests (test_runtime, test_transposed, test_nonfinite, test_bf16) and GEMM
# micro-benchmarks.
#   sh run.sh            tests + benchmarks with clang
#   sh run.sh test       tests only
#   sh run.sh sanitize   tests only, under AddressSanitizer + UndefinedBehaviorSanitizer (-O1; any
#                        report fails the run)
#   sh run.sh tsan       test_runtime only (its thread-pool and concurrency cases), under ThreadSanitizer
#   CC=gcc sh run.sh     another compiler
# Flags mirror Package.swift's GraphJITRuntime target (no -march: SIMD paths are dispatched).
set -eu
cd "$(dirname "$0")/.."
CC=${CC:-$(command -v clang || echo /opt/swift/usr/bin/clang)}
[ -x "$CC" ] || CC=/opt/swift/usr/bin/clang
MODE=${1:-all}
FLAGS="-std=c11 -O3 -fno-math-errno -ffp-contract=fast -Wall -Wextra -Iinclude -Isrc"
OUT=${OUT:-/tmp/gj-runtime-tests}
case "$MODE" in
sanitize | tsan)
    if [ "$MODE" = sanitize ]; then
        # -fno-sanitize-recover: the first report aborts, so a report cannot pass unnoticed.
        SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
        export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}"
        export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
        TESTS="test_runtime test_transposed test_nonfinite test_bf16"
    else
        SAN="-fsanitize=thread"
        # The Swift toolchain's TSan runtime carries libdispatch interceptors: link libdispatch.
        SWIFT_LIBS=$(dirname "$(readlink -f "$CC")")/../lib/swift/linux
        if [ -f "$SWIFT_LIBS/libdispatch.so" ]; then
            SAN="$SAN -L$SWIFT_LIBS -Wl,-rpath,$SWIFT_LIBS -ldispatch -lBlocksRuntime"
        fi
        export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"
        TESTS="test_runtime"
    fi
    FLAGS="-std=c11 -O1 -g -fno-omit-frame-pointer -fno-math-errno -ffp-contract=fast -Wall -Wextra -Iinclude -Isrc $SAN"
    OUT="$OUT-$MODE"
    mkdir -p "$OUT"
    for t in $TESTS; do
        $CC $FLAGS -o "$OUT/$t" "tests/$t.c" src/*.c -lm -lpthread
    done
    for t in $TESTS; do
        echo "== $t ($MODE)"
        "$OUT/$t"
    done
    exit 0
    ;;
esac
mkdir -p "$OUT"
$CC $FLAGS -o "$OUT/test_runtime" tests/test_runtime.c src/*.c -lm -lpthread
$CC $FLAGS -o "$OUT/test_transposed" tests/test_transposed.c src/*.c -lm -lpthread
$CC $FLAGS -o "$OUT/test_nonfinite" tests/test_nonfinite.c src/*.c -lm -lpthread
$CC $FLAGS -o "$OUT/test_bf16" tests/test_bf16.c src/*.c -lm -lpthread
$CC $FLAGS -o "$OUT/bench_gemm" tests/bench_gemm.c src/*.c -lm -lpthread
"$OUT/test_runtime"
"$OUT/test_transposed"
"$OUT/test_nonfinite"
"$OUT/test_bf16"
if [ "$MODE" != test ]; then "$OUT/bench_gemm"; "$OUT/test_transposed" bench; fi
