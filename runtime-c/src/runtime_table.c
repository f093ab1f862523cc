/*
 * runtime_table.c - the gj_runtime function table handed to generated kernels, and the thin
 * dispatching entry points behind it.
 *
 * ABI assumptions (shared with the generated code's copy of the struct):
 *   - field order and types exactly as in graphjit_runtime.h, abi_version = GJ_RUNTIME_ABI_VERSION;
 *   - all pointers in the table use the platform C calling convention (SysV x86-64), which tcc
 *     and clang both follow, so generated code can call them directly;
 *   - the table is static, never freed, and does not change when the path is switched: every
 *     entry dispatches on the current path at call time;
 *   - once an optimized copy of the runtime is installed (entry_points.c), gj_runtime_get returns
 *     that copy's table instead; this one stays valid (gj_own_runtime_get).
 */
#include <math.h>

#include "gemm_transposed.h"
#include "gj_internal.h"

void gj_activate(float *x, long n, int activation)
{
    if (n <= 0 || activation == GJ_ACT_LINEAR) return;
    const gj_path_ops *ops = gj_ops();
    if (gj_act_vectorized(ops, activation)) ops->activate(x, n, activation);
    else gj_activate_portable(x, n, activation);
}

void gj_softmax_rows(float *x, long rows, int n)
{
    if (rows <= 0 || n <= 0) return;
    gj_ops()->softmax_rows(x, rows, n);
}

void gj_lstm_cell(int rows, int units, const float *z, int ldz, float *c, int ldc, float *h, int ldh,
                  int activation, int recurrent_activation)
{
    if (rows <= 0 || units <= 0) return;
    const gj_path_ops *ops = gj_ops();
    if (gj_act_vectorized(ops, activation) && gj_act_vectorized(ops, recurrent_activation))
        ops->lstm_cell(rows, units, z, ldz, c, ldc, h, ldh, activation, recurrent_activation);
    else
        gj_lstm_cell_portable(rows, units, z, ldz, c, ldc, h, ldh, activation, recurrent_activation);
}

float gj_expf(float x) { return expf(x); }

/* Every entry of GJ_ABI_FUNCTIONS is the function gj_<name>, declared in gj_internal.h. */
static const gj_runtime g_runtime = {
    .abi_version = GJ_RUNTIME_ABI_VERSION,
#define GJ_TABLE_ENTRY(result, name, parameters, doc) .name = gj_##name,
    GJ_ABI_FUNCTIONS(GJ_TABLE_ENTRY)
#undef GJ_TABLE_ENTRY
};

const gj_runtime *gj_own_runtime_get(void) { return &g_runtime; }
