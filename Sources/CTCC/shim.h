/*
 * shim.h - the small C layer between GraphJIT's Swift backends and libtcc / libdl / libm.
 *
 * Everything here is `static inline`: it is compiled into the Swift module that imports CTCC and
 * adds no library of its own. It exists for two reasons:
 *   1. libtcc's API differs between versions (`tcc_relocate` takes two arguments in Debian's
 *      0.9.27+git20200814 and one in upstream's development branch);
 *   2. some things are awkward or unsafe to spell in Swift (taking the address of a libc/libm
 *      function as a plain `void *`).
 */
#ifndef GRAPHJIT_CTCC_SHIM_H
#define GRAPHJIT_CTCC_SHIM_H

#include <libtcc.h>
#include <dlfcn.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

/* MARK: - Relocation */

/// Relocates the compiled code into memory that the TCCState allocates and owns.
/// Returns 0 on success, -1 on error (undefined symbols are reported through the error callback).
static inline int gj_tcc_relocate_auto(TCCState *s) {
#ifdef TCC_RELOCATE_AUTO
    return tcc_relocate(s, TCC_RELOCATE_AUTO);   /* 0.9.27 and Debian's snapshot: two arguments */
#else
    return tcc_relocate(s);                      /* upstream "mob" branch: one argument */
#endif
}

/* MARK: - tcc's own helpers */

/* x86-64 tcc calls these for conversions between float/double and unsigned 64-bit integers. They
 * normally come from libtcc1.a, which a `-nostdlib` build does not load; clang compiles them here. */
static inline unsigned long long gj_tcc_fixunssfdi(float x) { return (unsigned long long)x; }
static inline unsigned long long gj_tcc_fixunsdfdi(double x) { return (unsigned long long)x; }
static inline float gj_tcc_floatundisf(unsigned long long x) { return (float)x; }
static inline double gj_tcc_floatundidf(unsigned long long x) { return (double)x; }

/* MARK: - External symbols */

/// One symbol that generated code may reference: a C name and the address tcc should bind it to.
typedef struct gj_tcc_symbol {
    const char *name;
    const void *address;
} gj_tcc_symbol;

/// The libc and libm functions GraphJIT's generated C may call, plus the conversion helpers tcc
/// itself emits calls to, terminated by `{NULL, NULL}`.
///
/// ABI assumption: tcc generates System V x86-64 calls, the same convention the host's libc/libm
/// were built for, so binding tcc's call sites to these addresses is sound. Converting a function
/// pointer to `void *` is implementation-defined in ISO C and well-defined on POSIX platforms
/// (`dlsym` relies on it). `memset`/`memcpy` are also emitted implicitly by tcc for large
/// zero-initializations and struct copies.
static inline const gj_tcc_symbol *gj_tcc_standard_symbols(void) {
    static const gj_tcc_symbol symbols[] = {
        /* libc: tcc emits memset/memcpy on its own; memmove for overlapping copies. */
        {"memset", (const void *)&memset},
        {"memcpy", (const void *)&memcpy},
        {"memmove", (const void *)&memmove},
        /* libm, float */
        {"expf", (const void *)&expf},
        {"logf", (const void *)&logf},
        {"tanhf", (const void *)&tanhf},
        {"sqrtf", (const void *)&sqrtf},
        {"fabsf", (const void *)&fabsf},
        {"fmaxf", (const void *)&fmaxf},
        {"fminf", (const void *)&fminf},
        /* libm, double */
        {"exp", (const void *)&exp},
        {"tanh", (const void *)&tanh},
        /* tcc runtime helpers (see above) */
        {"__fixunssfdi", (const void *)&gj_tcc_fixunssfdi},
        {"__fixunsdfdi", (const void *)&gj_tcc_fixunsdfdi},
        {"__floatundisf", (const void *)&gj_tcc_floatundisf},
        {"__floatundidf", (const void *)&gj_tcc_floatundidf},
        {NULL, NULL},
    };
    return symbols;
}

#endif /* GRAPHJIT_CTCC_SHIM_H */
