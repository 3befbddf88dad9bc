/* Decoding of stored tensor rows to float32 (scalar reference, the test oracle).
 * Formulas follow ggml's reference decoders exactly (same operation order, no FMA), so results
 * are bit-identical to ggml's to_float. */
#ifndef IFN_KERNELS_DEQUANT_H
#define IFN_KERNELS_DEQUANT_H

#include <stdint.h>

#include "inferneo/status.h"
#include "kernels/dtype.h"

/* Decodes n elements (a whole number of blocks) from `src` into `dst`.
 * IFN_E_UNSUPPORTED if the type has no decoder, IFN_E_INVALID if n is not whole blocks.
 * Thread-safe (pure function). */
ifn_status ifn_dequant_row(ifn_dtype type, const void *src, float *dst, int64_t n);

#endif
