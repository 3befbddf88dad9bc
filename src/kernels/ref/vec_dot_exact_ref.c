/* Scalar exact-path dot products: the weight row is decoded by ifn_dequant_row itself, one
 * chunk of whole blocks (at most 256 elements) at a time into a stack buffer, so the values are
 * those of the decoder by construction. Each chunk's products are summed in float32 and the
 * chunk totals added in row order, which keeps rounding error near that of a pairwise sum. */
#include "kernels/ref/vec_dot_exact_ref.h"

#include "kernels/dequant.h"
#include "kernels/dtype.h"
#include "util/compiler.h"

#define CHUNK_ELEMS 256

static float dot_decoded(ifn_dtype type, const void *w_row, const float *x, int64_t n) {
    const ifn_dtype_info *info = ifn_dtype_get_info((uint32_t)type);
    const int64_t block_elems = info->block_elems;
    const int64_t chunk_elems = block_elems > CHUNK_ELEMS ? block_elems : CHUNK_ELEMS;
    const int64_t chunk_bytes = chunk_elems / block_elems * info->block_bytes;
    float w[CHUNK_ELEMS] IFN_ALIGNED(32);
    float sum = 0.0f;
    for (int64_t i = 0, c = 0; i < n; i += chunk_elems, c++) {
        const int64_t len = n - i < chunk_elems ? n - i : chunk_elems;
        /* Cannot fail: the type decodes and len is whole blocks. */
        (void)ifn_dequant_row(type, (const unsigned char *)w_row + c * chunk_bytes, w, len);
        float partial = 0.0f;
        for (int64_t j = 0; j < len; j++)
            partial += w[j] * x[i + j];
        sum += partial;
    }
    return sum;
}

#define DEFINE_EXACT_DOT(name, type)                                                               \
    float ifn_vec_dot_exact_##name##_ref(const void *w_row, const void *x, int64_t n) {            \
        return dot_decoded(type, w_row, x, n);                                                     \
    }

DEFINE_EXACT_DOT(f16, IFN_DTYPE_F16)
DEFINE_EXACT_DOT(bf16, IFN_DTYPE_BF16)
DEFINE_EXACT_DOT(q4_0, IFN_DTYPE_Q4_0)
DEFINE_EXACT_DOT(q4_1, IFN_DTYPE_Q4_1)
DEFINE_EXACT_DOT(q5_0, IFN_DTYPE_Q5_0)
DEFINE_EXACT_DOT(q5_1, IFN_DTYPE_Q5_1)
DEFINE_EXACT_DOT(q8_0, IFN_DTYPE_Q8_0)
DEFINE_EXACT_DOT(iq4_nl, IFN_DTYPE_IQ4_NL)
DEFINE_EXACT_DOT(q2_k, IFN_DTYPE_Q2_K)
DEFINE_EXACT_DOT(q3_k, IFN_DTYPE_Q3_K)
DEFINE_EXACT_DOT(q4_k, IFN_DTYPE_Q4_K)
DEFINE_EXACT_DOT(q5_k, IFN_DTYPE_Q5_K)
DEFINE_EXACT_DOT(q6_k, IFN_DTYPE_Q6_K)
DEFINE_EXACT_DOT(iq4_xs, IFN_DTYPE_IQ4_XS)
