/* K-quant encoders behind ifn_quant_row (internal to kernels/ref). Each encodes
 * n_blocks * 256 finite floats from `src` into n_blocks super-blocks at `dst` (any alignment).
 * Cannot fail; thread-safe (pure functions). */
#ifndef IFN_KERNELS_REF_QUANT_KQUANT_REF_H
#define IFN_KERNELS_REF_QUANT_KQUANT_REF_H

#include <stdint.h>

void ifn_quant_kquant_q2_k(const float *src, void *dst, int64_t n_blocks);
void ifn_quant_kquant_q3_k(const float *src, void *dst, int64_t n_blocks);
void ifn_quant_kquant_q4_k(const float *src, void *dst, int64_t n_blocks);
void ifn_quant_kquant_q5_k(const float *src, void *dst, int64_t n_blocks);
void ifn_quant_kquant_q6_k(const float *src, void *dst, int64_t n_blocks);

#endif
