/* Block geometry of every ggml type id (block elements / bytes as ggml defines them). */
#include "kernels/dtype.h"

static const ifn_dtype_info g_dtype_infos[IFN_DTYPE_COUNT] = {
    [IFN_DTYPE_F32] = {"F32", 1, 4, 1},
    [IFN_DTYPE_F16] = {"F16", 1, 2, 1},
    [IFN_DTYPE_Q4_0] = {"Q4_0", 32, 18, 1},
    [IFN_DTYPE_Q4_1] = {"Q4_1", 32, 20, 1},
    [IFN_DTYPE_Q5_0] = {"Q5_0", 32, 22, 1},
    [IFN_DTYPE_Q5_1] = {"Q5_1", 32, 24, 1},
    [IFN_DTYPE_Q8_0] = {"Q8_0", 32, 34, 1},
    [IFN_DTYPE_Q8_1] = {"Q8_1", 32, 36, 0},
    [IFN_DTYPE_Q2_K] = {"Q2_K", 256, 84, 1},
    [IFN_DTYPE_Q3_K] = {"Q3_K", 256, 110, 1},
    [IFN_DTYPE_Q4_K] = {"Q4_K", 256, 144, 1},
    [IFN_DTYPE_Q5_K] = {"Q5_K", 256, 176, 1},
    [IFN_DTYPE_Q6_K] = {"Q6_K", 256, 210, 1},
    [IFN_DTYPE_Q8_K] = {"Q8_K", 256, 292, 0},
    [IFN_DTYPE_IQ2_XXS] = {"IQ2_XXS", 256, 66, 0},
    [IFN_DTYPE_IQ2_XS] = {"IQ2_XS", 256, 74, 0},
    [IFN_DTYPE_IQ3_XXS] = {"IQ3_XXS", 256, 98, 0},
    [IFN_DTYPE_IQ1_S] = {"IQ1_S", 256, 50, 0},
    [IFN_DTYPE_IQ4_NL] = {"IQ4_NL", 32, 18, 1},
    [IFN_DTYPE_IQ3_S] = {"IQ3_S", 256, 110, 0},
    [IFN_DTYPE_IQ2_S] = {"IQ2_S", 256, 82, 0},
    [IFN_DTYPE_IQ4_XS] = {"IQ4_XS", 256, 136, 1},
    [IFN_DTYPE_I8] = {"I8", 1, 1, 0},
    [IFN_DTYPE_I16] = {"I16", 1, 2, 0},
    [IFN_DTYPE_I32] = {"I32", 1, 4, 0},
    [IFN_DTYPE_I64] = {"I64", 1, 8, 0},
    [IFN_DTYPE_F64] = {"F64", 1, 8, 0},
    [IFN_DTYPE_IQ1_M] = {"IQ1_M", 256, 56, 0},
    [IFN_DTYPE_BF16] = {"BF16", 1, 2, 1},
    [IFN_DTYPE_TQ1_0] = {"TQ1_0", 256, 54, 0},
    [IFN_DTYPE_TQ2_0] = {"TQ2_0", 256, 66, 0},
};

const ifn_dtype_info *ifn_dtype_get_info(uint32_t type_id) {
    if (type_id >= IFN_DTYPE_COUNT || !g_dtype_infos[type_id].name) return 0;
    return &g_dtype_infos[type_id];
}

size_t ifn_dtype_row_bytes(ifn_dtype type, int64_t n_elems) {
    const ifn_dtype_info *info = ifn_dtype_get_info((uint32_t)type);
    if (!info || n_elems < 0 || n_elems % info->block_elems != 0) return 0;
    return (size_t)(n_elems / info->block_elems) * (size_t)info->block_bytes;
}
