/* Encoding of float32 rows into stored tensor types (scalar reference, for `inferneo quantize`
 * and synthetic models). Each encoder follows the one llama-quantize runs without an importance
 * matrix (ggml's quantize_row_*_ref, and quantize_iq4_nl/quantize_iq4_xs for the IQ4 types),
 * same formulas and operation order, so it writes the same bytes for the same input. */
#ifndef IFN_KERNELS_QUANT_H
#define IFN_KERNELS_QUANT_H

#include <stdint.h>

#include "inferneo/status.h"
#include "kernels/dtype.h"

/* Encodes n floats (a whole number of blocks) from `src` into `dst`, which must hold
 * ifn_dtype_row_bytes(type, n) bytes (any alignment). Types: F32, F16, BF16, Q4_0, Q4_1, Q5_0,
 * Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS.
 * Errors: IFN_E_UNSUPPORTED for other types; IFN_E_INVALID if n is not whole blocks or `src`
 * holds a NaN or infinity (dst is then untouched). Thread-safe (pure function). */
ifn_status ifn_quant_row(ifn_dtype type, const float *src, void *dst, int64_t n);

/* 1 if ifn_quant_row encodes `type`, else 0. Cannot fail. */
int ifn_quant_can_encode(ifn_dtype type);

#endif
