/*
 * cpu_dispatch.c - choosing the GEMM / vector-math path at run time.
 *
 * The library is compiled for baseline x86-64 (SSE2). At first use we ask the CPU (and, through
 * __builtin_cpu_supports, the OS's XSAVE state) which instruction sets are usable and pick the
 * widest path. The choice lives in one atomic int so every entry point can read it cheaply;
 * gj_runtime_force_path overwrites it (tests, benchmarks).
 *
 * The environment variable GJ_RUNTIME_PATH ("avx512", "avx2", "portable") overrides the
 * detected default if that path is supported.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "gj_internal.h"

static atomic_int g_path = -1;

int gj_path_supported(int path)
{
    switch (path) {
    case GJ_PATH_PORTABLE:
        return 1;
#if defined(__x86_64__) || defined(__i386__)
    case GJ_PATH_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case GJ_PATH_AVX512:
        /* Must match GJ_TARGET_AVX512. */
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    default:
        return 0;
    }
}

static int path_from_name(const char *name)
{
    if (name == NULL) return -1;
    if (strcmp(name, "avx512") == 0) return GJ_PATH_AVX512;
    if (strcmp(name, "avx2") == 0) return GJ_PATH_AVX2;
    if (strcmp(name, "portable") == 0) return GJ_PATH_PORTABLE;
    return -1;
}

static int detect_path(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
#endif
    int forced = path_from_name(getenv("GJ_RUNTIME_PATH"));
    if (forced >= 0 && gj_path_supported(forced)) return forced;
    if (gj_path_supported(GJ_PATH_AVX512)) return GJ_PATH_AVX512;
    if (gj_path_supported(GJ_PATH_AVX2)) return GJ_PATH_AVX2;
    return GJ_PATH_PORTABLE;
}

int gj_current_path(void)
{
    int p = atomic_load_explicit(&g_path, memory_order_relaxed);
    if (p < 0) {
        /* Racing first calls all compute the same answer; a compare-exchange keeps a concurrent
         * gj_runtime_force_path from being overwritten. */
        int expected = -1;
        p = detect_path();
        if (!atomic_compare_exchange_strong(&g_path, &expected, p)) p = expected;
    }
    return p;
}

const gj_path_ops *gj_ops_for(int path)
{
    switch (path) {
    case GJ_PATH_AVX512: return &gj_ops_avx512;
    case GJ_PATH_AVX2: return &gj_ops_avx2;
    default: return &gj_ops_portable;
    }
}

const gj_path_ops *gj_ops(void) { return gj_ops_for(gj_current_path()); }

const char *gj_own_runtime_cpu_path(void) { return gj_ops()->name; }

int gj_own_runtime_force_path(const char *name)
{
    int p = path_from_name(name);
    if (p < 0 || !gj_path_supported(p)) return 0;
    atomic_store(&g_path, p);
    return 1;
}
