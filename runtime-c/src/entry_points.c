/*
 * entry_points.c - the host entry points, and routing them to an installed (optimized) copy.
 *
 * A debug build links this library compiled at -O0. GraphJIT's Swift side then builds the same
 * sources optimized into a shared object, loads it with RTLD_LOCAL and calls gj_runtime_install
 * with that copy's gj_runtime_own_entry_points(). Every public gj_<name> of GJ_HOST_FUNCTIONS is
 * defined here and only routes: to the installed copy if there is one, else to this copy's
 * gj_own_<name>. Inside the loaded copy nothing is ever installed, so its entry points run its own
 * code.
 *
 * The installed pointer is written once (compare-and-swap from NULL) and read with acquire, so a
 * thread that sees it also sees the settings handed over before the swap.
 */
#include <stdatomic.h>

#include "gj_internal.h"

static _Atomic(const gj_runtime_entry_points *) g_installed = NULL;

#define GJ_OWN_ENTRY(result, name, parameters, doc) .name = gj_own_##name,
static const gj_runtime_entry_points g_own = {
    .abi_version = GJ_RUNTIME_ABI_VERSION,
    .size = (int)sizeof(gj_runtime_entry_points),
    GJ_HOST_FUNCTIONS(GJ_OWN_ENTRY)
};
#undef GJ_OWN_ENTRY

const gj_runtime_entry_points *gj_runtime_own_entry_points(void) { return &g_own; }

const gj_runtime_entry_points *gj_runtime_installed(void)
{
    return atomic_load_explicit(&g_installed, memory_order_acquire);
}

/* The copy that serves calls: the installed one, else this one. */
static inline const gj_runtime_entry_points *serving(void)
{
    const gj_runtime_entry_points *installed = gj_runtime_installed();
    return installed ? installed : &g_own;
}

/* ---- The routed public entry points (graphjit_runtime.h) --------------------------------------- */

const gj_runtime *gj_runtime_get(void) { return serving()->runtime_get(); }
void gj_runtime_set_threads(int threads) { serving()->runtime_set_threads(threads); }
int gj_runtime_threads(void) { return serving()->runtime_threads(); }
const char *gj_runtime_cpu_path(void) { return serving()->runtime_cpu_path(); }
int gj_runtime_force_path(const char *name) { return serving()->runtime_force_path(name); }
int gj_runtime_is_optimized(void) { return serving()->runtime_is_optimized(); }
double gj_measure_peak_gflops(void) { return serving()->measure_peak_gflops(); }
double gj_measure_read_bandwidth(size_t bytes, int threads)
{
    return serving()->measure_read_bandwidth(bytes, threads);
}

/* ---- Installing ----------------------------------------------------------------------------------- */

int gj_own_runtime_is_optimized(void)
{
#ifdef __OPTIMIZE__
    return 1;
#else
    return 0;
#endif
}

int gj_runtime_install(const gj_runtime_entry_points *copy)
{
    if (copy == NULL || copy->abi_version != GJ_RUNTIME_ABI_VERSION ||
        copy->size != (int)sizeof(gj_runtime_entry_points))
        return GJ_INSTALL_INVALID;
    if (copy == &g_own) return GJ_INSTALL_SELF;
    if (gj_runtime_installed() != NULL) return GJ_INSTALL_ALREADY;
    /* Hand over this copy's settings: the thread count, and the path (which GJ_RUNTIME_PATH or
     * gj_runtime_force_path may have chosen). */
    copy->runtime_set_threads(gj_own_runtime_threads());
    copy->runtime_force_path(gj_own_runtime_cpu_path());
    const gj_runtime_entry_points *expected = NULL;
    if (!atomic_compare_exchange_strong_explicit(&g_installed, &expected, copy, memory_order_acq_rel,
                                                 memory_order_acquire))
        return GJ_INSTALL_ALREADY;
    return GJ_INSTALL_DONE;
}
