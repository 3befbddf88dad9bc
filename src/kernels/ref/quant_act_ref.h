/* Scalar reference activation quantizers (kernels/ref): float32 rows to the activation types
 * that fast-path dot products consume. Each converts n floats (whole blocks of its type) from
 * `x` into `out`, which holds ifn_dtype_row_bytes(type, n) bytes; `out` needs the alignment of
 * its block's widest field (4 bytes for Q8_K, 2 otherwise). Cannot fail; thread-safe. */
#ifndef IFN_KERNELS_REF_QUANT_ACT_REF_H
#define IFN_KERNELS_REF_QUANT_ACT_REF_H

#include <stdint.h>

/* ggml's quantize_row_q8_0_ref: d = amax / 127 (stored as F16), q = roundf(x / d). */
void ifn_quant_act_q8_0_ref(const float *x, void *out, int64_t n);
/* ggml's quantize_row_q8_1_ref: Q8_0 plus s = F16(d * sum(q)). */
void ifn_quant_act_q8_1_ref(const float *x, void *out, int64_t n);
/* ggml's quantize_row_q8_K_ref: q = nearest(-127 / max * x) where max is the element of largest
 * magnitude (the first one on ties) with its sign, d = 1 / (-127 / max), and bsums. An all-zero
 * block gets d = 0 and zero quants and sums (ggml leaves its sums unwritten). */
void ifn_quant_act_q8_k_ref(const float *x, void *out, int64_t n);
/* Round to nearest even F16 (n elements, any n). */
void ifn_quant_act_f16_ref(const float *x, void *out, int64_t n);

#endif
