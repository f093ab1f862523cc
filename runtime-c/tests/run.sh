#!/bin/sh
# Builds and runs the runtime's C tests (test_runtime, test_transposed, test_nonfinite) and GEMM
# micro-benchmarks.
#   sh run.sh            tests + benchmarks with clang
#   sh run.sh test       tests only
#   CC=gcc sh run.sh     another compiler
# Flags mirror Package.swift's GraphJITRuntime target (no -march: SIMD paths are dispatched).
set -eu
cd "$(dirname "$0")/.."
CC=${CC:-$(command -v clang || echo /opt/swift/usr/bin/clang)}
[ -x "$CC" ] || CC=/opt/swift/usr/bin/clang
FLAGS="-std=c11 -O3 -fno-math-errno -ffp-contract=fast -Wall -Wextra -Iinclude -Isrc"
OUT=${OUT:-/tmp/gj-runtime-tests}
mkdir -p "$OUT"
$CC $FLAGS -o "$OUT/test_runtime" tests/test_runtime.c src/*.c -lm -lpthread
$CC $FLAGS -o "$OUT/test_transposed" tests/test_transposed.c src/*.c -lm -lpthread
$CC $FLAGS -o "$OUT/test_nonfinite" tests/test_nonfinite.c src/*.c -lm -lpthread
$CC $FLAGS -o "$OUT/bench_gemm" tests/bench_gemm.c src/*.c -lm -lpthread
"$OUT/test_runtime"
"$OUT/test_transposed"
"$OUT/test_nonfinite"
if [ "${1:-all}" != test ]; then "$OUT/bench_gemm"; "$OUT/test_transposed" bench; fi
