/* Byte layouts of weights repacked at load time eight rows at a time ("x8 groups"), and of the
 * activation blocks their matrix kernels read. In a group, block b of the eight rows is stored
 * together and its quants are interleaved so that one 32-byte vector holds four consecutive
 * elements of each of the eight rows: lane r of a dot product is row r, so a product of one
 * group with one token needs no horizontal sums, and eight rows share every activation load.
 * A group is exactly as large as the eight original rows. Internal to src/kernels. */
#ifndef IFN_KERNELS_REF_PACKED_BLOCKS_H
#define IFN_KERNELS_REF_PACKED_BLOCKS_H

#include <stdint.h>

#include "kernels/ref/quant_blocks.h"

#define IFN_PACK_ROWS 8 /* rows per packed group */

/* Block b of eight Q8_0 rows: d[r] is row r's F16 scale; qs[32 * k + 4 * r + i] is element
 * 4 * k + i of row r (k = 0..7, i = 0..3). */
typedef struct ifn_block_q8_0x8 {
    uint16_t d[IFN_PACK_ROWS];
    int8_t qs[IFN_PACK_ROWS * IFN_QK_SMALL];
} ifn_block_q8_0x8;

/* Block b of eight Q4_0 rows: d[r] as above; byte 32 * j + 4 * r + i (j = 0..3) holds element
 * 4 * j + i of row r in its low nibble and element 16 + 4 * j + i in its high nibble, i.e. the
 * original byte qs[4 * j + i] of row r, so one 32-byte load gives two interleaved chunks. */
typedef struct ifn_block_q4_0x8 {
    uint16_t d[IFN_PACK_ROWS];
    uint8_t qs[IFN_PACK_ROWS * IFN_QK_SMALL / 2];
} ifn_block_q4_0x8;

/* Super-block b of eight Q4_K rows (256 elements each): d[r], dmin[r] are row r's F16
 * super-scales; scale_words[w][r] is bytes 4w..4w+3 of row r's 12 packed 6-bit scale/min bytes
 * (ggml's layout, see ifn_kquant_get_scale_min), so three vector loads give every row's scales
 * and a few shifts and masks unpack them; qs[i][k][4r + j] = row r's original qs byte
 * 32i + 4k + j: its low nibble is element 32(2i) + 4k + j, its high nibble element
 * 32(2i + 1) + 4k + j. 1152 bytes, exactly eight Q4_K blocks (decode reads no extra bytes). */
typedef struct ifn_block_q4_kx8 {
    uint16_t d[IFN_PACK_ROWS];
    uint16_t dmin[IFN_PACK_ROWS];
    uint32_t scale_words[3][IFN_PACK_ROWS];
    uint8_t qs[4][8][4 * IFN_PACK_ROWS];
} ifn_block_q4_kx8;

/* Super-block b of eight Q6_K rows (256 elements each, 16 sub-blocks of 16), levels kept whole:
 * d[r] is row r's F16 super-scale; scales[p][2r + i] = row r's int8 scale of sub-block 2p + i
 * (sign-extended, one vector pairs both sub-blocks of a row's lane for a 16-bit multiply-add
 * with two activation sums; a byte shuffle doubles either one for the levels' sums). Element
 * 16s + 4c + j of row r (chunk c of sub-block s, j = 0..3) has the 6-bit level q (value
 * d * scale * (q - 32)); for c = 0, 1, 2 it is the low 6 bits of qs[s][c][4r + j], whose top
 * two bits hold bits 2c, 2c + 1 of chunk 3's level, so chunks 0..2 decode with one AND each and
 * chunk 3 from the three top bit pairs. 1680 bytes, exactly eight Q6_K blocks. */
typedef struct ifn_block_q6_kx8 {
    uint16_t d[IFN_PACK_ROWS];
    int8_t scales[8][2 * IFN_PACK_ROWS];
    uint8_t qs[16][3][4 * IFN_PACK_ROWS];
} ifn_block_q6_kx8;

/* Eight F16 (or BF16) rows: element e of row r is the 16-bit value at index 8 * e + r, so the
 * eight rows' element e are one 16-byte vector. Any row length. */

/* The activations of the packed 8-bit kernels: a Q8_0 block (same quants, its F16 scale
 * widened to float) plus the sum of its quants, which Q4_0 weights need to apply their -8
 * offset after an unsigned product. Written by the quantize_act of the packed traits. */
typedef struct ifn_block_q8s {
    float d;
    int32_t sum;
    int8_t qs[IFN_QK_SMALL];
} ifn_block_q8s;

_Static_assert(sizeof(ifn_block_q8_0x8) == 8 * sizeof(ifn_block_q8_0), "Q8_0x8 = 8 Q8_0 blocks");
_Static_assert(sizeof(ifn_block_q4_0x8) == 8 * sizeof(ifn_block_q4_0), "Q4_0x8 = 8 Q4_0 blocks");
_Static_assert(sizeof(ifn_block_q4_kx8) == 8 * sizeof(ifn_block_q4_k), "Q4_Kx8 = 8 Q4_K blocks");
_Static_assert(sizeof(ifn_block_q6_kx8) == 8 * sizeof(ifn_block_q6_k), "Q6_Kx8 = 8 Q6_K blocks");
_Static_assert(sizeof(ifn_block_q8s) == 40, "Q8S block is 40 bytes");

#endif
