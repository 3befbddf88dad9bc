/* K-quant and IQ4_XS decoders behind ifn_dequant_row (internal to kernels/ref). Each decodes
 * n_blocks 256-element super-blocks from `src` (any alignment) into dst[n_blocks * 256].
 * Cannot fail; thread-safe (pure functions). */
#ifndef IFN_KERNELS_REF_DEQUANT_KQUANT_REF_H
#define IFN_KERNELS_REF_DEQUANT_KQUANT_REF_H

#include <stdint.h>

void ifn_dequant_kquant_q2_k(const void *src, float *dst, int64_t n_blocks);
void ifn_dequant_kquant_q3_k(const void *src, float *dst, int64_t n_blocks);
void ifn_dequant_kquant_q4_k(const void *src, float *dst, int64_t n_blocks);
void ifn_dequant_kquant_q5_k(const void *src, float *dst, int64_t n_blocks);
void ifn_dequant_kquant_q6_k(const void *src, float *dst, int64_t n_blocks);
void ifn_dequant_kquant_iq4_xs(const void *src, float *dst, int64_t n_blocks);

#endif
