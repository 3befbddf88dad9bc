/* The kernel table: one function pointer per op, filled once at start-up by dispatch.c with the
 * best variant the CPU supports (scalar reference in ref/, AVX2+FMA in x86/). The reference
 * variants are the definition and the test oracle. Read-only after init: thread-safe. */
#ifndef IFN_KERNELS_KERNELS_H
#define IFN_KERNELS_KERNELS_H

#include <stdint.h>

typedef float (*ifn_dot_f32_fn)(const float *a, const float *b, int64_t n);

typedef struct ifn_kernels {
    const char *isa; /* "ref", "avx2" */
    /* sum_i a[i] * b[i] */
    ifn_dot_f32_fn dot_f32;
} ifn_kernels;

/* The table for this CPU (IFN_ISA=ref|avx2 forces one; an unavailable choice falls back to
 * ref with a warning). Initialised on first call; thread-safe. */
const ifn_kernels *ifn_kernels_get(void);

/* The reference table, for tests. */
const ifn_kernels *ifn_kernels_ref(void);

/* The AVX2 table, or NULL when the CPU or OS lacks AVX2+FMA. */
const ifn_kernels *ifn_kernels_avx2(void);

/* Reference implementations (kernels/ref/). */
float ifn_dot_f32_ref(const float *a, const float *b, int64_t n);

/* AVX2+FMA implementations (kernels/x86/), only to be called when the CPU supports them. */
float ifn_dot_f32_avx2(const float *a, const float *b, int64_t n);

#endif
