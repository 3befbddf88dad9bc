/* CPU feature detection (including OS support for YMM state) and kernel table selection.
 * Chosen once; IFN_ISA forces a variant. */
#include "kernels/kernels.h"

#include <stdlib.h>
#include <string.h>

#include "kernels/ref/gemm_x8_kquant_ref.h"
#include "kernels/ref/gemm_x8_ref.h"
#include "kernels/ref/packed_blocks.h"
#include "kernels/ref/quant_act_ref.h"
#include "kernels/ref/vec_dot_exact_ref.h"
#include "kernels/ref/vec_dot_kquant_ref.h"
#include "kernels/ref/vec_dot_ref.h"
#include "kernels/ref/vec_dot_x4_ref.h"
#include "kernels/x86/gemm_x8_avx2.h"
#include "kernels/x86/gemm_x8_half_avx2.h"
#include "kernels/x86/gemm_x8_kquant_avx2.h"
#include "kernels/x86/quant_act_avx2.h"
#include "kernels/x86/vec_dot_avx2.h"
#include "kernels/x86/vec_dot_exact_avx2.h"
#include "kernels/x86/vec_dot_kquant_avx2.h"
#include "kernels/x86/vec_dot_x4_avx2.h"
#include "kernels/x86/vec_dot_x4_kquant_avx2.h"
#include "util/log.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long read_xcr0(void) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static int cpu_has_avx2_fma(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    int has_fma = (ecx >> 12) & 1, has_osxsave = (ecx >> 27) & 1, has_avx = (ecx >> 28) & 1;
    int has_f16c = (ecx >> 29) & 1;
    if (!has_fma || !has_osxsave || !has_avx || !has_f16c) return 0;
    if ((read_xcr0() & 0x6) != 0x6) return 0; /* OS must save XMM and YMM state */
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    return (ebx >> 5) & 1;
}
#else
static int cpu_has_avx2_fma(void) {
    return 0;
}
#endif

/* Table rows: weights multiplied with float32 activations as they are, or with activations
 * first converted by `quant` to `act`; the _X4 forms add a four-token kernel. */
#define WITH_F32(dot)                                                                              \
    { .act_type = IFN_DTYPE_F32, .quantize_act = NULL, .vec_dot = dot }
#define WITH_ACT(act, quant, dot)                                                                  \
    { .act_type = IFN_DTYPE_##act, .quantize_act = quant, .vec_dot = dot }
#define WITH_F32_X4(dot, dot_x4)                                                                   \
    { IFN_DTYPE_F32, NULL, dot, dot_x4 }
#define WITH_ACT_X4(act, quant, dot, dot_x4)                                                       \
    { IFN_DTYPE_##act, quant, dot, dot_x4, NULL }
#define WITH_Q8_0_X4S(quant, dot, dot_x4, dot_x4s)                                                 \
    { IFN_DTYPE_Q8_0, quant, dot, dot_x4, dot_x4s }
/* Packed eight-row groups over float activations (16-bit float weights). */
#define PACKED_F32(pack, gemm)                                                                     \
    { .act_type = IFN_DTYPE_F32, .quantize_act = NULL, .pack_x8 = pack, .gemm_x8 = gemm,            \
      .group_block_bytes = 16 }
#define PACKED_F32_X16(pack, gemm, gemm16)                                                         \
    { .act_type = IFN_DTYPE_F32, .quantize_act = NULL, .pack_x8 = pack, .gemm_x8 = gemm,            \
      .group_block_bytes = 16, .gemm_x16 = gemm16 }
/* Packed eight-row groups over 8-bit activation blocks with sums (ifn_block_q8s). */
#define PACKED_Q8S(quant, pack, gemm, block_bytes)                                                 \
    { .act_type = IFN_DTYPE_Q8_0, .quantize_act = quant, .pack_x8 = pack, .gemm_x8 = gemm,           \
      .group_block_bytes = block_bytes }
/* Packed eight-row groups of K-quant super-blocks over Q8_K activations. */
#define PACKED_Q8K(quant, pack, gemm, block_bytes)                                                 \
    { .act_type = IFN_DTYPE_Q8_K, .quantize_act = quant, .pack_x8 = pack, .gemm_x8 = gemm,           \
      .group_block_bytes = block_bytes }

/* F16 weights take float32 activations on the fast path too: the weights need converting with
 * F16C either way, bench_kernels measures F16 activations no faster ("F16xF16"), and float
 * activations are exact. Types without a row here (Q8_1, Q8_K, the IQ1..IQ3 and TQ types) have
 * no kernel. */
static const ifn_kernels g_kernels_ref = {
    .isa = "ref",
    .dot_f32 = ifn_dot_f32_ref,
    .matmul =
        {
            [IFN_DTYPE_F32] = WITH_F32_X4(ifn_vec_dot_f32_ref, ifn_vec_dot_x4_f32_ref),
            [IFN_DTYPE_F16] = WITH_F32_X4(ifn_vec_dot_f16_ref, ifn_vec_dot_x4_f16_ref),
            [IFN_DTYPE_BF16] = WITH_F32_X4(ifn_vec_dot_bf16_ref, ifn_vec_dot_x4_bf16_ref),
            [IFN_DTYPE_Q4_0] = WITH_ACT_X4(Q8_0, ifn_quant_act_q8_0_ref, ifn_vec_dot_q4_0_ref,
                                           ifn_vec_dot_x4_q4_0_ref),
            [IFN_DTYPE_Q4_1] = WITH_ACT_X4(Q8_1, ifn_quant_act_q8_1_ref, ifn_vec_dot_q4_1_ref,
                                           ifn_vec_dot_x4_q4_1_ref),
            [IFN_DTYPE_Q5_0] = WITH_ACT_X4(Q8_0, ifn_quant_act_q8_0_ref, ifn_vec_dot_q5_0_ref,
                                           ifn_vec_dot_x4_q5_0_ref),
            [IFN_DTYPE_Q5_1] = WITH_ACT_X4(Q8_1, ifn_quant_act_q8_1_ref, ifn_vec_dot_q5_1_ref,
                                           ifn_vec_dot_x4_q5_1_ref),
            [IFN_DTYPE_Q8_0] = WITH_ACT_X4(Q8_0, ifn_quant_act_q8_0_ref, ifn_vec_dot_q8_0_ref,
                                           ifn_vec_dot_x4_q8_0_ref),
            [IFN_DTYPE_IQ4_NL] = WITH_ACT_X4(Q8_0, ifn_quant_act_q8_0_ref, ifn_vec_dot_iq4_nl_ref,
                                             ifn_vec_dot_x4_iq4_nl_ref),
            [IFN_DTYPE_Q2_K] = WITH_ACT_X4(Q8_K, ifn_quant_act_q8_k_ref,
                                           ifn_vec_dot_kquant_q2_k_ref, ifn_vec_dot_x4_q2_k_ref),
            [IFN_DTYPE_Q3_K] = WITH_ACT_X4(Q8_K, ifn_quant_act_q8_k_ref,
                                           ifn_vec_dot_kquant_q3_k_ref, ifn_vec_dot_x4_q3_k_ref),
            [IFN_DTYPE_Q4_K] = WITH_ACT_X4(Q8_K, ifn_quant_act_q8_k_ref,
                                           ifn_vec_dot_kquant_q4_k_ref, ifn_vec_dot_x4_q4_k_ref),
            [IFN_DTYPE_Q5_K] = WITH_ACT_X4(Q8_K, ifn_quant_act_q8_k_ref,
                                           ifn_vec_dot_kquant_q5_k_ref, ifn_vec_dot_x4_q5_k_ref),
            [IFN_DTYPE_Q6_K] = WITH_ACT_X4(Q8_K, ifn_quant_act_q8_k_ref,
                                           ifn_vec_dot_kquant_q6_k_ref, ifn_vec_dot_x4_q6_k_ref),
            [IFN_DTYPE_IQ4_XS] =
                WITH_ACT_X4(Q8_K, ifn_quant_act_q8_k_ref, ifn_vec_dot_kquant_iq4_xs_ref,
                            ifn_vec_dot_x4_iq4_xs_ref),
        },
    .matmul_exact =
        {
            [IFN_DTYPE_F32] = WITH_F32_X4(ifn_vec_dot_f32_ref, ifn_vec_dot_x4_f32_ref),
            [IFN_DTYPE_F16] = WITH_F32(ifn_vec_dot_exact_f16_ref),
            [IFN_DTYPE_BF16] = WITH_F32(ifn_vec_dot_exact_bf16_ref),
            [IFN_DTYPE_Q4_0] = WITH_F32(ifn_vec_dot_exact_q4_0_ref),
            [IFN_DTYPE_Q4_1] = WITH_F32(ifn_vec_dot_exact_q4_1_ref),
            [IFN_DTYPE_Q5_0] = WITH_F32(ifn_vec_dot_exact_q5_0_ref),
            [IFN_DTYPE_Q5_1] = WITH_F32(ifn_vec_dot_exact_q5_1_ref),
            [IFN_DTYPE_Q8_0] = WITH_F32(ifn_vec_dot_exact_q8_0_ref),
            [IFN_DTYPE_IQ4_NL] = WITH_F32(ifn_vec_dot_exact_iq4_nl_ref),
            [IFN_DTYPE_Q2_K] = WITH_F32(ifn_vec_dot_exact_q2_k_ref),
            [IFN_DTYPE_Q3_K] = WITH_F32(ifn_vec_dot_exact_q3_k_ref),
            [IFN_DTYPE_Q4_K] = WITH_F32(ifn_vec_dot_exact_q4_k_ref),
            [IFN_DTYPE_Q5_K] = WITH_F32(ifn_vec_dot_exact_q5_k_ref),
            [IFN_DTYPE_Q6_K] = WITH_F32(ifn_vec_dot_exact_q6_k_ref),
            [IFN_DTYPE_IQ4_XS] = WITH_F32(ifn_vec_dot_exact_iq4_xs_ref),
        },
    .matmul_packed =
        {
            [IFN_DTYPE_Q4_0] = PACKED_Q8S(ifn_quant_act_q8s_ref, ifn_pack_x8_q4_0,
                                          ifn_gemm_x8_q4_0_ref, sizeof(ifn_block_q4_0x8)),
            [IFN_DTYPE_Q8_0] = PACKED_Q8S(ifn_quant_act_q8s_ref, ifn_pack_x8_q8_0,
                                          ifn_gemm_x8_q8_0_ref, sizeof(ifn_block_q8_0x8)),
            [IFN_DTYPE_Q4_K] = PACKED_Q8K(ifn_quant_act_q8_k_ref, ifn_pack_x8_q4_k,
                                          ifn_gemm_x8_q4_k_ref, sizeof(ifn_block_q4_kx8)),
            [IFN_DTYPE_Q6_K] = PACKED_Q8K(ifn_quant_act_q8_k_ref, ifn_pack_x8_q6_k,
                                          ifn_gemm_x8_q6_k_ref, sizeof(ifn_block_q6_kx8)),
            [IFN_DTYPE_F16] = PACKED_F32(ifn_pack_x8_16bit, ifn_gemm_x8_f16_ref),
            [IFN_DTYPE_BF16] = PACKED_F32(ifn_pack_x8_16bit, ifn_gemm_x8_bf16_ref),
        },
    .attn = ifn_attention_ref,
    .rmsnorm = ifn_elementwise_rmsnorm_ref,
    .rope = ifn_elementwise_rope_ref,
    .softmax = ifn_elementwise_softmax_ref,
    .swiglu = ifn_elementwise_swiglu_ref,
    .add = ifn_elementwise_add_ref,
    .f32_to_f16 = ifn_elementwise_f32_to_f16_ref,
    .f16_to_f32 = ifn_elementwise_f16_to_f32_ref,
    .argmax = ifn_elementwise_argmax_ref,
};

#if defined(__x86_64__)
static const ifn_kernels g_kernels_avx2 = {
    .isa = "avx2",
    .dot_f32 = ifn_dot_f32_avx2,
    .matmul =
        {
            [IFN_DTYPE_F32] = WITH_F32_X4(ifn_vec_dot_f32_avx2, ifn_vec_dot_x4_f32_avx2),
            [IFN_DTYPE_F16] = WITH_F32_X4(ifn_vec_dot_f16_avx2, ifn_vec_dot_x4_f16_avx2),
            [IFN_DTYPE_BF16] = WITH_F32_X4(ifn_vec_dot_bf16_avx2, ifn_vec_dot_x4_bf16_avx2),
            [IFN_DTYPE_Q4_0] = WITH_Q8_0_X4S(ifn_quant_act_q8_0_avx2, ifn_vec_dot_q4_0_avx2,
                                             ifn_vec_dot_x4_q4_0_avx2,
                                             ifn_vec_dot_x4s_q4_0_avx2),
            [IFN_DTYPE_Q4_1] = WITH_ACT_X4(Q8_1, ifn_quant_act_q8_1_avx2, ifn_vec_dot_q4_1_avx2,
                                           ifn_vec_dot_x4_q4_1_avx2),
            [IFN_DTYPE_Q5_0] = WITH_Q8_0_X4S(ifn_quant_act_q8_0_avx2, ifn_vec_dot_q5_0_avx2,
                                             ifn_vec_dot_x4_q5_0_avx2,
                                             ifn_vec_dot_x4s_q5_0_avx2),
            [IFN_DTYPE_Q5_1] = WITH_ACT_X4(Q8_1, ifn_quant_act_q8_1_avx2, ifn_vec_dot_q5_1_avx2,
                                           ifn_vec_dot_x4_q5_1_avx2),
            [IFN_DTYPE_Q8_0] = WITH_Q8_0_X4S(ifn_quant_act_q8_0_avx2, ifn_vec_dot_q8_0_avx2,
                                             ifn_vec_dot_x4_q8_0_avx2,
                                             ifn_vec_dot_x4s_q8_0_avx2),
            [IFN_DTYPE_IQ4_NL] = WITH_Q8_0_X4S(ifn_quant_act_q8_0_avx2, ifn_vec_dot_iq4_nl_avx2,
                                             ifn_vec_dot_x4_iq4_nl_avx2,
                                             ifn_vec_dot_x4s_iq4_nl_avx2),
            [IFN_DTYPE_Q2_K] =
                WITH_ACT_X4(Q8_K, ifn_quant_act_q8_k_avx2, ifn_vec_dot_kquant_q2_k_avx2,
                            ifn_vec_dot_x4_kquant_q2_k_avx2),
            [IFN_DTYPE_Q3_K] =
                WITH_ACT_X4(Q8_K, ifn_quant_act_q8_k_avx2, ifn_vec_dot_kquant_q3_k_avx2,
                            ifn_vec_dot_x4_kquant_q3_k_avx2),
            [IFN_DTYPE_Q4_K] =
                WITH_ACT_X4(Q8_K, ifn_quant_act_q8_k_avx2, ifn_vec_dot_kquant_q4_k_avx2,
                            ifn_vec_dot_x4_kquant_q4_k_avx2),
            [IFN_DTYPE_Q5_K] =
                WITH_ACT_X4(Q8_K, ifn_quant_act_q8_k_avx2, ifn_vec_dot_kquant_q5_k_avx2,
                            ifn_vec_dot_x4_kquant_q5_k_avx2),
            [IFN_DTYPE_Q6_K] =
                WITH_ACT_X4(Q8_K, ifn_quant_act_q8_k_avx2, ifn_vec_dot_kquant_q6_k_avx2,
                            ifn_vec_dot_x4_kquant_q6_k_avx2),
            [IFN_DTYPE_IQ4_XS] =
                WITH_ACT_X4(Q8_K, ifn_quant_act_q8_k_avx2, ifn_vec_dot_kquant_iq4_xs_avx2,
                            ifn_vec_dot_x4_kquant_iq4_xs_avx2),
        },
    .matmul_exact =
        {
            [IFN_DTYPE_F32] = WITH_F32_X4(ifn_vec_dot_f32_avx2, ifn_vec_dot_x4_f32_avx2),
            [IFN_DTYPE_F16] = WITH_F32_X4(ifn_vec_dot_f16_avx2, ifn_vec_dot_x4_f16_avx2),
            [IFN_DTYPE_BF16] = WITH_F32_X4(ifn_vec_dot_bf16_avx2, ifn_vec_dot_x4_bf16_avx2),
            [IFN_DTYPE_Q4_0] = WITH_F32(ifn_vec_dot_exact_q4_0_avx2),
            [IFN_DTYPE_Q4_1] = WITH_F32(ifn_vec_dot_exact_q4_1_avx2),
            [IFN_DTYPE_Q5_0] = WITH_F32(ifn_vec_dot_exact_q5_0_avx2),
            [IFN_DTYPE_Q5_1] = WITH_F32(ifn_vec_dot_exact_q5_1_avx2),
            [IFN_DTYPE_Q8_0] = WITH_F32(ifn_vec_dot_exact_q8_0_avx2),
            [IFN_DTYPE_IQ4_NL] = WITH_F32(ifn_vec_dot_exact_iq4_nl_avx2),
            [IFN_DTYPE_Q2_K] = WITH_F32(ifn_vec_dot_exact_q2_k_avx2),
            [IFN_DTYPE_Q3_K] = WITH_F32(ifn_vec_dot_exact_q3_k_avx2),
            [IFN_DTYPE_Q4_K] = WITH_F32(ifn_vec_dot_exact_q4_k_avx2),
            [IFN_DTYPE_Q5_K] = WITH_F32(ifn_vec_dot_exact_q5_k_avx2),
            [IFN_DTYPE_Q6_K] = WITH_F32(ifn_vec_dot_exact_q6_k_avx2),
            [IFN_DTYPE_IQ4_XS] = WITH_F32(ifn_vec_dot_exact_iq4_xs_avx2),
        },
    .matmul_packed =
        {
            [IFN_DTYPE_Q4_0] = PACKED_Q8S(ifn_quant_act_q8s_avx2, ifn_pack_x8_q4_0,
                                          ifn_gemm_x8_q4_0_avx2, sizeof(ifn_block_q4_0x8)),
            [IFN_DTYPE_Q8_0] = PACKED_Q8S(ifn_quant_act_q8s_avx2, ifn_pack_x8_q8_0,
                                          ifn_gemm_x8_q8_0_avx2, sizeof(ifn_block_q8_0x8)),
            [IFN_DTYPE_Q4_K] = PACKED_Q8K(ifn_quant_act_q8_k_avx2, ifn_pack_x8_q4_k,
                                          ifn_gemm_x8_q4_k_avx2, sizeof(ifn_block_q4_kx8)),
            [IFN_DTYPE_Q6_K] = PACKED_Q8K(ifn_quant_act_q8_k_avx2, ifn_pack_x8_q6_k,
                                          ifn_gemm_x8_q6_k_avx2, sizeof(ifn_block_q6_kx8)),
            [IFN_DTYPE_F16] = PACKED_F32_X16(ifn_pack_x8_16bit, ifn_gemm_x8_f16_avx2,
                                             ifn_gemm_x16_f16_avx2),
            [IFN_DTYPE_BF16] = PACKED_F32_X16(ifn_pack_x8_16bit, ifn_gemm_x8_bf16_avx2,
                                              ifn_gemm_x16_bf16_avx2),
        },
    .attn = ifn_attention_avx2,
    .rmsnorm = ifn_elementwise_rmsnorm_avx2,
    .rope = ifn_elementwise_rope_avx2,
    .softmax = ifn_elementwise_softmax_avx2,
    .swiglu = ifn_elementwise_swiglu_avx2,
    .add = ifn_elementwise_add_avx2,
    .f32_to_f16 = ifn_elementwise_f32_to_f16_avx2,
    .f16_to_f32 = ifn_elementwise_f16_to_f32_avx2,
    .argmax = ifn_elementwise_argmax_avx2,
};
#endif

const ifn_kernels *ifn_kernels_ref(void) {
    return &g_kernels_ref;
}

const ifn_kernels *ifn_kernels_avx2(void) {
#if defined(__x86_64__)
    if (cpu_has_avx2_fma()) return &g_kernels_avx2;
#endif
    return NULL;
}

static const ifn_kernels *choose(void) {
    const char *forced = getenv("IFN_ISA");
    const ifn_kernels *avx2 = ifn_kernels_avx2();
    if (forced && strcmp(forced, "ref") == 0) return &g_kernels_ref;
    if (forced && strcmp(forced, "avx2") == 0 && !avx2)
        IFN_LOG_WARN("kernels", "IFN_ISA=avx2 but this CPU lacks AVX2+FMA; using ref");
    else if (forced && strcmp(forced, "avx2") != 0)
        IFN_LOG_WARN("kernels", "unknown IFN_ISA=%s (use ref or avx2); choosing automatically",
                     forced);
    return avx2 ? avx2 : &g_kernels_ref;
}

const ifn_kernels *ifn_kernels_get(void) {
    static const ifn_kernels *_Atomic chosen;
    const ifn_kernels *k = chosen;
    if (k) return k;
    k = choose();
    IFN_LOG_DEBUG("kernels", "selected isa=%s", k->isa);
    chosen = k;
    return k;
}
