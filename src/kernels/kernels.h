/* The kernel table: one function pointer per op, filled once at start-up by dispatch.c with the
 * best variant the CPU supports (scalar reference in ref/, AVX2+FMA in x86/). The reference
 * variants are the definition and the test oracle. Read-only after init: thread-safe. */
#ifndef IFN_KERNELS_KERNELS_H
#define IFN_KERNELS_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/dtype.h"

typedef float (*ifn_dot_f32_fn)(const float *a, const float *b, int64_t n);

/* Converts n floats (whole blocks of act_type) into the activation type a weight type's dot
 * product consumes (Q8_0, Q8_1, Q8_K, F16 or F32). */
typedef void (*ifn_quantize_act_fn)(const float *x, void *out, int64_t n);

/* dot(weight row of n elements in its stored type, activation row in act_type). */
typedef float (*ifn_vec_dot_fn)(const void *w_row, const void *act_row, int64_t n);

/* How rows of one weight type are multiplied by activations. */
typedef struct ifn_matmul_traits {
    ifn_dtype act_type;              /* IFN_DTYPE_F32 = activations used as they are */
    ifn_quantize_act_fn quantize_act; /* NULL when act_type is F32 */
    ifn_vec_dot_fn vec_dot;          /* NULL: no kernel for this weight type */
} ifn_matmul_traits;

typedef struct ifn_kernels {
    const char *isa; /* "ref", "avx2" */
    /* sum_i a[i] * b[i] */
    ifn_dot_f32_fn dot_f32;
    /* Fast path per weight type: activations rounded to 8-bit blocks (or F16) so integer / half
     * dot products apply, as llama.cpp does. Logits move by up to ~0.3 on quantized weights. */
    ifn_matmul_traits matmul[IFN_DTYPE_COUNT];
    /* Exact path per weight type: weights decoded exactly, float32 activations, float32
     * accumulation (matches the float64 reference within 1e-4). */
    ifn_matmul_traits matmul_exact[IFN_DTYPE_COUNT];
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
