/* Byte layouts of the activation blocks that fast-path dot products consume (ggml's block_q8_1
 * and block_q8_K), next to the weight blocks of quant_blocks.h. Activation rows are written by
 * the quantize_act kernels and read by the vec_dot kernels of the same build; they never reach
 * a file. Internal to src/kernels. */
#ifndef IFN_KERNELS_REF_ACT_BLOCKS_H
#define IFN_KERNELS_REF_ACT_BLOCKS_H

#include <stdint.h>

#include "kernels/ref/quant_blocks.h"

/* Q8_0 with s = d * sum(qs) (F16 bits, computed from the unrounded d), so a dot product with
 * Q4_1 / Q5_1 weights folds the weight block's min in as m * s. */
typedef struct ifn_block_q8_1 {
    uint16_t d;
    uint16_t s;
    int8_t qs[IFN_QK_SMALL];
} ifn_block_q8_1;

/* x = d * q over 256 elements (f32 scale, q in -127..127), with the sum of each 16 quants in
 * bsums so K-quant dot products apply sub-block mins and offsets without touching qs. */
typedef struct ifn_block_q8_k {
    float d;
    int8_t qs[IFN_QK_K];
    int16_t bsums[IFN_QK_K / 16];
} ifn_block_q8_k;

_Static_assert(sizeof(ifn_block_q8_1) == 36, "Q8_1 block is 36 bytes");
_Static_assert(sizeof(ifn_block_q8_k) == 292, "Q8_K block is 292 bytes");

#endif
