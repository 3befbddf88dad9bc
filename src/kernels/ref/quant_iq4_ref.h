/* IQ4_NL / IQ4_XS encoders behind ifn_quant_row (internal to kernels/ref): n_blocks blocks of
 * 32 (IQ4_NL) or 256 (IQ4_XS) finite floats from `src` to `dst` (any alignment).
 * Cannot fail; thread-safe (pure functions). */
#ifndef IFN_KERNELS_REF_QUANT_IQ4_REF_H
#define IFN_KERNELS_REF_QUANT_IQ4_REF_H

#include <stdint.h>

void ifn_quant_iq4_nl(const float *src, void *dst, int64_t n_blocks);
void ifn_quant_iq4_xs(const float *src, void *dst, int64_t n_blocks);

#endif
