/* Tensor element types, numbered as GGUF/ggml numbers them, with their block geometry.
 * A quantized row of n elements is n / block_elems blocks of block_bytes each. */
#ifndef IFN_KERNELS_DTYPE_H
#define IFN_KERNELS_DTYPE_H

#include <stddef.h>
#include <stdint.h>

typedef enum ifn_dtype {
    IFN_DTYPE_F32 = 0,
    IFN_DTYPE_F16 = 1,
    IFN_DTYPE_Q4_0 = 2,
    IFN_DTYPE_Q4_1 = 3,
    IFN_DTYPE_Q5_0 = 6,
    IFN_DTYPE_Q5_1 = 7,
    IFN_DTYPE_Q8_0 = 8,
    IFN_DTYPE_Q8_1 = 9,
    IFN_DTYPE_Q2_K = 10,
    IFN_DTYPE_Q3_K = 11,
    IFN_DTYPE_Q4_K = 12,
    IFN_DTYPE_Q5_K = 13,
    IFN_DTYPE_Q6_K = 14,
    IFN_DTYPE_Q8_K = 15,
    IFN_DTYPE_IQ2_XXS = 16,
    IFN_DTYPE_IQ2_XS = 17,
    IFN_DTYPE_IQ3_XXS = 18,
    IFN_DTYPE_IQ1_S = 19,
    IFN_DTYPE_IQ4_NL = 20,
    IFN_DTYPE_IQ3_S = 21,
    IFN_DTYPE_IQ2_S = 22,
    IFN_DTYPE_IQ4_XS = 23,
    IFN_DTYPE_I8 = 24,
    IFN_DTYPE_I16 = 25,
    IFN_DTYPE_I32 = 26,
    IFN_DTYPE_I64 = 27,
    IFN_DTYPE_F64 = 28,
    IFN_DTYPE_IQ1_M = 29,
    IFN_DTYPE_BF16 = 30,
    IFN_DTYPE_TQ1_0 = 34,
    IFN_DTYPE_TQ2_0 = 35,
    IFN_DTYPE_COUNT = 36,
} ifn_dtype;

typedef struct ifn_dtype_info {
    const char *name;     /* "Q4_K"; NULL for ids that ggml retired or never used */
    int32_t block_elems;  /* elements per block (1 for plain types) */
    int32_t block_bytes;  /* bytes per block */
    int can_dequantize;   /* 1 if kernels/ref decodes it to float */
} ifn_dtype_info;

/* Geometry of a type id as read from a file; NULL if the id is unknown. Cannot fail otherwise. */
const ifn_dtype_info *ifn_dtype_get_info(uint32_t type_id);

/* Bytes of a row of n_elems elements; 0 if n_elems is not a whole number of blocks or the id is
 * unknown. */
size_t ifn_dtype_row_bytes(ifn_dtype type, int64_t n_elems);

#endif
