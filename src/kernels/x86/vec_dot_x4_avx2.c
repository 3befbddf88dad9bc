/* AVX2+FMA four-token dot products for float and 32-element block weights: each weight block
 * (or group of 8 float weights) is loaded and unpacked once and used for four activation rows.
 * Invariant (batch invariance): per token, every float operation and its order is that of the
 * single-token kernel in vec_dot_avx2.c / dot_avx2.c. The integer block sums may be formed in
 * another way (exact integer arithmetic, no saturation reached) but land in the same lanes; the
 * scale products, the FMAs into the same one of the same accumulators, and the final reduction
 * are the same. Anything that changes a single-token kernel's float order must change its
 * counterpart here too; tests/kernels/test_vec_dot_x4.c compares them bit for bit. */
#include "kernels/x86/vec_dot_x4_avx2.h"

#include "kernels/ref/act_blocks.h"
#include "kernels/x86/util_avx2.h"
#include "util/half.h"

#define N_TOK 4

/* ---- float weights: the accumulation of ifn_dot_f32_avx2 / ifn_vec_dot_f16_avx2 ----
 * The single-token kernels keep four accumulators, k taking elements i + 8k of each 32-element
 * chunk, then 8-element groups into accumulator 0, a fixed reduction and a scalar tail. Sixteen
 * accumulators (four tokens) do not fit the 16 YMM registers next to the weights, so the row is
 * swept twice, for two tokens each time: the weights are converted twice instead of four times,
 * and each activation row is still read once, in order (these products are bound by reading
 * the float activations). */

/* The float weight types. Always a constant argument, so the compiler specializes the code
 * below for each type, with no branch left in the loops. */
typedef enum float_kind { FLOAT_F32, FLOAT_F16, FLOAT_BF16 } float_kind;

/* 8 weights starting at element i, as floats. */
static inline __m256 load8(float_kind kind, const unsigned char *w, int64_t i) {
    if (kind == FLOAT_F32) return _mm256_loadu_ps((const float *)(const void *)w + i);
    if (kind == FLOAT_F16) return _mm256_cvtph_ps(ifn_avx2_load128(w + 2 * i));
    const __m256i wide = _mm256_cvtepu16_epi32(ifn_avx2_load128(w + 2 * i));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}

/* Weight i as float. */
static inline float load1(float_kind kind, const unsigned char *w, int64_t i) {
    if (kind == FLOAT_F32) {
        float v;
        memcpy(&v, w + 4 * i, sizeof v);
        return v;
    }
    if (kind == FLOAT_F16) return ifn_avx2_load_f16(w + 2 * i);
    uint16_t b;
    memcpy(&b, w + 2 * i, sizeof b);
    return ifn_bf16_to_f32(b);
}

/* The single-token kernel for two tokens at once (x[0], x[1]): each weight vector is loaded and
 * converted once for both. */
static inline void float_pair(float_kind kind, const unsigned char *w, const float *const x[2],
                              int64_t n, float out[2]) {
    __m256 acc[2][4];
    for (int t = 0; t < 2; t++)
        for (int k = 0; k < 4; k++)
            acc[t][k] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (int k = 0; k < 4; k++) {
            const __m256 wv = load8(kind, w, i + 8 * k);
            for (int t = 0; t < 2; t++)
                acc[t][k] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x[t] + i + 8 * k), acc[t][k]);
        }
    }
    for (; i + 8 <= n; i += 8) {
        const __m256 wv = load8(kind, w, i);
        for (int t = 0; t < 2; t++)
            acc[t][0] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x[t] + i), acc[t][0]);
    }
    for (int t = 0; t < 2; t++) {
        float sum = ifn_avx2_hsum_ps(_mm256_add_ps(_mm256_add_ps(acc[t][0], acc[t][1]),
                                                   _mm256_add_ps(acc[t][2], acc[t][3])));
        for (int64_t e = i; e < n; e++)
            sum += load1(kind, w, e) * x[t][e];
        out[t] = sum;
    }
}

/* Tokens 0 and 1, then 2 and 3; the weight row stays in L1 in between. */
static inline void float_rows(float_kind kind, const void *w_row, const void *act,
                              size_t act_stride, int64_t n, float *out) {
    for (int pair = 0; pair < 2; pair++) {
        const float *x[2];
        for (int t = 0; t < 2; t++)
            x[t] = (const float *)(const void *)((const unsigned char *)act +
                                                 (size_t)(2 * pair + t) * act_stride);
        float_pair(kind, w_row, x, n, out + 2 * pair);
    }
}

void ifn_vec_dot_x4_f32_avx2(const void *w_row, const void *act, size_t act_stride, int64_t n,
                             float *out) {
    float_rows(FLOAT_F32, w_row, act, act_stride, n, out);
}

void ifn_vec_dot_x4_f16_avx2(const void *w_row, const void *act, size_t act_stride, int64_t n,
                             float *out) {
    float_rows(FLOAT_F16, w_row, act, act_stride, n, out);
}

void ifn_vec_dot_x4_bf16_avx2(const void *w_row, const void *act, size_t act_stride, int64_t n,
                              float *out) {
    float_rows(FLOAT_BF16, w_row, act, act_stride, n, out);
}

/* ---- 32-element blocks: the accumulation of run_blocks in vec_dot_avx2.c ----
 * Per block and token: acc += (d_w * d_a) * dot, dot being 8 int32 lanes (lane l = the sum over
 * elements 4l..4l+3) converted to float; blocks alternate between two accumulators; the result
 * is hsum(acc0 + acc1) + (msum0 + msum1), msum the Q4_1 / Q5_1 block mins times the activation
 * sums (zero for the other types). */

/* The 32-element block types. Always a constant argument, so the compiler specializes
 * run_blocks_x4 for each type (a function pointer, as run_blocks uses, left the per-block code
 * out of line here). */
typedef enum block_kind {
    BLOCK_Q4_0,
    BLOCK_Q5_0,
    BLOCK_Q8_0,
    BLOCK_IQ4_NL,
    BLOCK_Q4_1, /* the two with mins, over Q8_1 activations */
    BLOCK_Q5_1,
} block_kind;

static inline int has_min(block_kind kind) {
    return kind == BLOCK_Q4_1 || kind == BLOCK_Q5_1;
}

static inline int64_t weight_block_bytes(block_kind kind) {
    switch (kind) {
    case BLOCK_Q4_0:
        return sizeof(ifn_block_q4_0);
    case BLOCK_Q5_0:
        return sizeof(ifn_block_q5_0);
    case BLOCK_Q8_0:
        return sizeof(ifn_block_q8_0);
    case BLOCK_IQ4_NL:
        return sizeof(ifn_block_iq4_nl);
    case BLOCK_Q4_1:
        return sizeof(ifn_block_q4_1);
    default:
        return sizeof(ifn_block_q5_1);
    }
}

/* The 32 levels of weight block w: signed (Q4_0's u - 8, Q5_0's u - 16, Q8_0's quants, IQ4_NL's
 * table values) or, for the min types, unsigned (0..15, 0..31). */
static inline __m256i block_levels(block_kind kind, const unsigned char *w) {
    switch (kind) {
    case BLOCK_Q4_0:
        return _mm256_sub_epi8(ifn_avx2_unpack_nibbles(w + 2), _mm256_set1_epi8(8));
    case BLOCK_Q5_0: {
        const __m256i u =
            _mm256_or_si256(ifn_avx2_unpack_nibbles(w + 6), ifn_avx2_q5_high_bits(w + 2));
        return _mm256_sub_epi8(u, _mm256_set1_epi8(16));
    }
    case BLOCK_Q8_0:
        return ifn_avx2_load(w + 2);
    case BLOCK_IQ4_NL:
        return _mm256_shuffle_epi8(ifn_avx2_iq4nl_table(), ifn_avx2_unpack_nibbles(w + 2));
    case BLOCK_Q4_1:
        return ifn_avx2_unpack_nibbles(w + 4);
    default:
        return _mm256_or_si256(ifn_avx2_unpack_nibbles(w + 8), ifn_avx2_q5_high_bits(w + 4));
    }
}

/* The F16 scales at the start of the four tokens' activation blocks, packed in 64 bits (built
 * in general registers, which leaves the vector units to the dot products). */
static inline uint64_t act_scale_bits(const unsigned char *const a[N_TOK], int64_t a_off) {
    uint64_t bits = 0;
    for (int j = 0; j < N_TOK; j++) {
        uint16_t h;
        memcpy(&h, a[j] + a_off, sizeof h);
        bits |= (uint64_t)h << (16 * j);
    }
    return bits;
}

/* d_w * d_a of token j in lanes j and j + 4, d_w the F16 scale of weight block w and d_a that
 * of token j's activation block (at a[j] + a_off): the product the single-token kernel forms
 * per block (float products commute). Both 128-bit halves hold the four, so one in-lane
 * permute broadcasts a token's. */
static inline __m256 block_scales(const unsigned char *w, const unsigned char *const a[N_TOK],
                                  int64_t a_off) {
    const __m256 da = _mm256_cvtph_ps(_mm_set1_epi64x((long long)act_scale_bits(a, a_off)));
    return _mm256_mul_ps(_mm256_set1_ps(ifn_avx2_load_f16(w)), da);
}

/* Token j's lane of block_scales in all 8 lanes. */
static inline __m256 token_scale(__m256 d, int j) {
    return _mm256_permutevar_ps(d, _mm256_set1_epi32(j));
}

/* acc[j] += token_scale(d, j) * dot(weight block w, token j's block at a[j] + a_off) and, for
 * the min types, msum[j] += m_w * s_a. The integer lanes are those of the single-token kernel's
 * dot_signed / dot_offset / with_min, also for Q4_0 / Q5_0, whose levels it offsets after
 * multiplying: here signed levels multiply as |w| (an unsigned byte, so Q8_0's -128 is 128)
 * times the activation with w's sign. Exact while activation quants stay in -127..127, as
 * quantize_act writes them (negating -128 would overflow); the int16 pair sums then stay
 * within 2 * 128 * 127 and cannot saturate. */
static inline void block_x4(block_kind kind, const unsigned char *w,
                            const unsigned char *const a[N_TOK], int64_t a_off, __m256 d,
                            __m256 acc[N_TOK], float msum[N_TOK]) {
    const __m256i levels = block_levels(kind, w);
    const __m256i ones = _mm256_set1_epi16(1);
    if (has_min(kind)) {
        const float m_w = ifn_avx2_load_f16(w + 2);
        for (int j = 0; j < N_TOK; j++) {
            const __m256i y = ifn_avx2_load(a[j] + a_off + 4);
            const __m256i dot = _mm256_madd_epi16(_mm256_maddubs_epi16(levels, y), ones);
            msum[j] += m_w * ifn_avx2_load_f16(a[j] + a_off + 2);
            acc[j] = _mm256_fmadd_ps(token_scale(d, j), _mm256_cvtepi32_ps(dot), acc[j]);
        }
        return;
    }
    const __m256i abs_w = _mm256_sign_epi8(levels, levels);
    for (int j = 0; j < N_TOK; j++) {
        const __m256i y = _mm256_sign_epi8(ifn_avx2_load(a[j] + a_off + 2), levels);
        const __m256i dot = _mm256_madd_epi16(_mm256_maddubs_epi16(abs_w, y), ones);
        acc[j] = _mm256_fmadd_ps(token_scale(d, j), _mm256_cvtepi32_ps(dot), acc[j]);
    }
}

/* One token's step of block_x4 for the signed types: acc + scale * dot(|w|, a signed as w). */
static inline __m256 signed_step(__m256 acc, const unsigned char *a_block, __m256i levels,
                                 __m256i abs_w, __m256 scale) {
    const __m256i y = _mm256_sign_epi8(ifn_avx2_load(a_block + 2), levels);
    const __m256i dot = _mm256_madd_epi16(_mm256_maddubs_epi16(abs_w, y), _mm256_set1_epi16(1));
    return _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(dot), acc);
}

/* block_x4 and run_blocks_x4 for the signed types (Q4_0, Q5_0, Q8_0, IQ4_NL) with the eight
 * accumulators as named values, so they stay in registers: as arrays they were spilled and
 * zeroed through memory on every call, a fifth of the time of a batched step. */
/* d_w * d_a in lanes j and j + 4 as block_scales gives it, from float activation scales
 * (da: the four tokens' scales of this block). */
static inline __m256 block_scales_f32(const unsigned char *w, const float *da) {
    return _mm256_mul_ps(_mm256_set1_ps(ifn_avx2_load_f16(w)),
                         _mm256_broadcast_ps((const __m128 *)(const void *)da));
}

/* The scales of weight block w against the four tokens' block at offset off: from the float
 * scales when given (da, [4] per block), else converted from the activation blocks. */
static inline __m256 scales_of(const unsigned char *w, const unsigned char *const a[N_TOK],
                               int64_t off, const float *da, int64_t b) {
    return da ? block_scales_f32(w, da + 4 * b) : block_scales(w, a, off);
}

static inline void run_signed_x4(block_kind kind, const void *w_row, const void *act,
                                 size_t act_stride, const float *da, int64_t n, float *out) {
    const unsigned char *w = w_row;
    const int64_t w_bytes = weight_block_bytes(kind);
    const int64_t a_bytes = sizeof(ifn_block_q8_0);
    const unsigned char *a[N_TOK];
    for (int j = 0; j < N_TOK; j++) a[j] = (const unsigned char *)act + (size_t)j * act_stride;
    __m256 e0 = _mm256_setzero_ps(), e1 = e0, e2 = e0, e3 = e0; /* even blocks (acc0) */
    __m256 o0 = e0, o1 = e0, o2 = e0, o3 = e0;                  /* odd blocks (acc1) */
    const int64_t nb = n / IFN_QK_SMALL;
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        const unsigned char *w0 = w + b * w_bytes, *w1 = w0 + w_bytes;
        const int64_t off0 = b * a_bytes, off1 = off0 + a_bytes;
        ifn_avx2_prefetch(w0 + IFN_AVX2_PREFETCH_AHEAD, 2 * w_bytes);
        __m256i levels = block_levels(kind, w0), abs_w = _mm256_sign_epi8(levels, levels);
        __m256 d = scales_of(w0, a, off0, da, b);
        e0 = signed_step(e0, a[0] + off0, levels, abs_w, token_scale(d, 0));
        e1 = signed_step(e1, a[1] + off0, levels, abs_w, token_scale(d, 1));
        e2 = signed_step(e2, a[2] + off0, levels, abs_w, token_scale(d, 2));
        e3 = signed_step(e3, a[3] + off0, levels, abs_w, token_scale(d, 3));
        levels = block_levels(kind, w1);
        abs_w = _mm256_sign_epi8(levels, levels);
        d = scales_of(w1, a, off1, da, b + 1);
        o0 = signed_step(o0, a[0] + off1, levels, abs_w, token_scale(d, 0));
        o1 = signed_step(o1, a[1] + off1, levels, abs_w, token_scale(d, 1));
        o2 = signed_step(o2, a[2] + off1, levels, abs_w, token_scale(d, 2));
        o3 = signed_step(o3, a[3] + off1, levels, abs_w, token_scale(d, 3));
    }
    if (b < nb) {
        const unsigned char *w0 = w + b * w_bytes;
        const int64_t off0 = b * a_bytes;
        const __m256i levels = block_levels(kind, w0), abs_w = _mm256_sign_epi8(levels, levels);
        const __m256 d = scales_of(w0, a, off0, da, b);
        e0 = signed_step(e0, a[0] + off0, levels, abs_w, token_scale(d, 0));
        e1 = signed_step(e1, a[1] + off0, levels, abs_w, token_scale(d, 1));
        e2 = signed_step(e2, a[2] + off0, levels, abs_w, token_scale(d, 2));
        e3 = signed_step(e3, a[3] + off0, levels, abs_w, token_scale(d, 3));
    }
    const float no_min = 0.0f + 0.0f; /* the single-token kernel adds msum0 + msum1 = +0 */
    out[0] = ifn_avx2_hsum_ps(_mm256_add_ps(e0, o0)) + no_min;
    out[1] = ifn_avx2_hsum_ps(_mm256_add_ps(e1, o1)) + no_min;
    out[2] = ifn_avx2_hsum_ps(_mm256_add_ps(e2, o2)) + no_min;
    out[3] = ifn_avx2_hsum_ps(_mm256_add_ps(e3, o3)) + no_min;
}

/* run_blocks of vec_dot_avx2.c for four tokens (the types with mins; see run_signed_x4). */
static inline void run_blocks_x4(block_kind kind, const void *w_row, const void *act,
                                 size_t act_stride, int64_t n, float *out) {
    const unsigned char *w = w_row;
    const int64_t w_bytes = weight_block_bytes(kind);
    const int64_t a_bytes = has_min(kind) ? sizeof(ifn_block_q8_1) : sizeof(ifn_block_q8_0);
    const unsigned char *a[N_TOK];
    __m256 acc0[N_TOK], acc1[N_TOK];
    float msum0[N_TOK], msum1[N_TOK];
    for (int j = 0; j < N_TOK; j++) {
        a[j] = (const unsigned char *)act + (size_t)j * act_stride;
        acc0[j] = acc1[j] = _mm256_setzero_ps();
        msum0[j] = msum1[j] = 0.0f;
    }
    const int64_t nb = n / IFN_QK_SMALL;
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        const unsigned char *w0 = w + b * w_bytes, *w1 = w0 + w_bytes;
        ifn_avx2_prefetch(w0 + IFN_AVX2_PREFETCH_AHEAD, 2 * w_bytes);
        block_x4(kind, w0, a, b * a_bytes, block_scales(w0, a, b * a_bytes), acc0, msum0);
        block_x4(kind, w1, a, (b + 1) * a_bytes, block_scales(w1, a, (b + 1) * a_bytes), acc1,
                 msum1);
    }
    if (b < nb)
        block_x4(kind, w + b * w_bytes, a, b * a_bytes,
                 block_scales(w + b * w_bytes, a, b * a_bytes), acc0, msum0);
    for (int j = 0; j < N_TOK; j++)
        out[j] = ifn_avx2_hsum_ps(_mm256_add_ps(acc0[j], acc1[j])) + (msum0[j] + msum1[j]);
}

void ifn_vec_dot_x4_q4_0_avx2(const void *w_row, const void *act, size_t act_stride, int64_t n,
                              float *out) {
    run_signed_x4(BLOCK_Q4_0, w_row, act, act_stride, NULL, n, out);
}

void ifn_vec_dot_x4_q5_0_avx2(const void *w_row, const void *act, size_t act_stride, int64_t n,
                              float *out) {
    run_signed_x4(BLOCK_Q5_0, w_row, act, act_stride, NULL, n, out);
}

void ifn_vec_dot_x4_q8_0_avx2(const void *w_row, const void *act, size_t act_stride, int64_t n,
                              float *out) {
    run_signed_x4(BLOCK_Q8_0, w_row, act, act_stride, NULL, n, out);
}

void ifn_vec_dot_x4_iq4_nl_avx2(const void *w_row, const void *act, size_t act_stride, int64_t n,
                                float *out) {
    run_signed_x4(BLOCK_IQ4_NL, w_row, act, act_stride, NULL, n, out);
}

void ifn_vec_dot_x4_q4_1_avx2(const void *w_row, const void *act, size_t act_stride, int64_t n,
                              float *out) {
    run_blocks_x4(BLOCK_Q4_1, w_row, act, act_stride, n, out);
}

void ifn_vec_dot_x4_q5_1_avx2(const void *w_row, const void *act, size_t act_stride, int64_t n,
                              float *out) {
    run_blocks_x4(BLOCK_Q5_1, w_row, act, act_stride, n, out);
}

void ifn_vec_dot_x4s_q4_0_avx2(const void *w_row, const void *act, size_t act_stride,
                          const float *act_scales, int64_t n, float *out) {
    run_signed_x4(BLOCK_Q4_0, w_row, act, act_stride, act_scales, n, out);
}

void ifn_vec_dot_x4s_q5_0_avx2(const void *w_row, const void *act, size_t act_stride,
                          const float *act_scales, int64_t n, float *out) {
    run_signed_x4(BLOCK_Q5_0, w_row, act, act_stride, act_scales, n, out);
}

void ifn_vec_dot_x4s_q8_0_avx2(const void *w_row, const void *act, size_t act_stride,
                          const float *act_scales, int64_t n, float *out) {
    run_signed_x4(BLOCK_Q8_0, w_row, act, act_stride, act_scales, n, out);
}

void ifn_vec_dot_x4s_iq4_nl_avx2(const void *w_row, const void *act, size_t act_stride,
                          const float *act_scales, int64_t n, float *out) {
    run_signed_x4(BLOCK_IQ4_NL, w_row, act, act_stride, act_scales, n, out);
}
