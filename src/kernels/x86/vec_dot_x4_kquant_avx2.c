/* AVX2+FMA four-token dot products of 256-element super-blocks with Q8_K activations: each
 * super-block's levels and scales are unpacked once, 32 at a time, and each group is multiplied
 * into four per-token integer sums before the next is unpacked.
 * Invariant (batch invariance): per token, every float operation and its order is that of the
 * single-token kernel in vec_dot_kquant_avx2.c: the same int32 lanes (integer sums, exact, so
 * their grouping is free), the same d_a * d products, the same FMAs into acc and acc_min, the
 * same final reduction. Anything that changes a single-token kernel's float order must change
 * its counterpart here too; tests/kernels/test_vec_dot_x4.c compares them bit for bit. */
#include "kernels/x86/vec_dot_x4_kquant_avx2.h"

#include "kernels/ref/act_blocks.h"
#include "kernels/x86/kquant_avx2.h"
#include "kernels/x86/util_avx2.h"

#define N_TOK 4

/* a + b. Written as a blend that keeps every lane of the sum, which costs nothing (the compiler
 * drops it) but stops GCC's out-of-SSA pass (TER) from moving a plain chain of adds down to
 * its final use: that kept all 32 products of a super-block (4 tokens x 8) alive at once and
 * spilled them, costing a quarter or more of the run time. */
static inline __m256i add_i32(__m256i a, __m256i b) {
    return _mm256_blend_epi32(_mm256_add_epi32(a, b), a, 0);
}

/* sumi[j] += scale-weighted dot of 32 unsigned levels u with token j's quants at qs_off in its
 * activation block: 8 int32 lanes each, the lanes of the single-token kernel's dot_scaled. */
static inline void add_scaled_x4(__m256i u, __m256i scales, const unsigned char *const a[N_TOK],
                                 int64_t qs_off, __m256i sumi[N_TOK]) {
    for (int j = 0; j < N_TOK; j++) {
        const __m256i p = _mm256_maddubs_epi16(u, ifn_avx2_load(a[j] + qs_off));
        sumi[j] = add_i32(sumi[j], _mm256_madd_epi16(p, scales));
    }
}

/* acc[j] += (d_a * d) * sumi[j], d_a token j's activation scale (block at a[j] + a_off). */
static inline void scale_into(const unsigned char *const a[N_TOK], int64_t a_off, float d,
                              const __m256i sumi[N_TOK], __m256 acc[N_TOK]) {
    for (int j = 0; j < N_TOK; j++) {
        const float da_d = act_scale(a[j] + a_off) * d;
        acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(da_d), _mm256_cvtepi32_ps(sumi[j]), acc[j]);
    }
}

/* acc_min[j] += (d_a * dmin) * madd(bsums, mins16): the sub-block mins times the activation's
 * 16-element sums. */
static inline void mins_into(const unsigned char *const a[N_TOK], int64_t a_off, float dmin,
                             __m256i mins16, __m256 acc_min[N_TOK]) {
    for (int j = 0; j < N_TOK; j++) {
        const float da_dmin = act_scale(a[j] + a_off) * dmin;
        const __m256i min_dot = _mm256_madd_epi16(act_bsums(a[j] + a_off), mins16);
        acc_min[j] =
            _mm256_fmadd_ps(_mm256_set1_ps(da_dmin), _mm256_cvtepi32_ps(min_dot), acc_min[j]);
    }
}

/* sumi[j] = -shift_left(madd(bsums, scales16), shift): the constant level offset (Q3_K's -4,
 * Q6_K's -32) applied through the activation sums, as the single-token kernel starts. */
static inline void offset_init(const unsigned char *const a[N_TOK], int64_t a_off, __m256i scales16,
                               int shift, __m256i sumi[N_TOK]) {
    for (int j = 0; j < N_TOK; j++) {
        const __m256i offset = _mm256_madd_epi16(act_bsums(a[j] + a_off), scales16);
        sumi[j] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(offset, shift));
    }
}

static inline void zero_sums(__m256i sumi[N_TOK]) {
    for (int j = 0; j < N_TOK; j++)
        sumi[j] = _mm256_setzero_si256();
}

/* ---- Q2_K: scales[16] at 0, qs[64] at 16, d at 80, dmin at 82 ---- */

static inline void q2_k_x4(const unsigned char *w, const unsigned char *const a[N_TOK],
                           int64_t a_off, __m256 acc[N_TOK], __m256 acc_min[N_TOK]) {
    const __m128i packed = ifn_avx2_load128(w);
    const __m128i scales8 = _mm_and_si128(packed, _mm_set1_epi8(0x0F));
    const __m128i mins8 = _mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0F));
    mins_into(a, a_off, ifn_avx2_load_f16(w + 82), _mm256_cvtepu8_epi16(mins8), acc_min);
    const __m256i pairs = pair_scale_table(scales8);
    __m256i sumi[N_TOK];
    zero_sums(sumi);
    for (int h = 0; h < 2; h++) {
        const __m256i q = ifn_avx2_load(w + 16 + 32 * h);
        for (int j = 0; j < 4; j++) {
            const __m256i u = _mm256_and_si256(_mm256_srli_epi16(q, 2 * j), bytes(3));
            add_scaled_x4(u, one_scale(pairs, 4 * h + j), a, a_off + ACT_QS + 128 * h + 32 * j,
                          sumi);
        }
    }
    scale_into(a, a_off, ifn_avx2_load_f16(w + 80), sumi, acc);
}

/* ---- Q3_K: hmask[32] at 0, qs[64] at 32, scales[12] at 96, d at 108 ---- */

static inline void q3_k_x4(const unsigned char *w, const unsigned char *const a[N_TOK],
                           int64_t a_off, __m256 acc[N_TOK], __m256 acc_min[N_TOK]) {
    (void)acc_min;
    const __m128i scales8 = ifn_avx2_q3_k_scales(w + 96);
    const __m256i pairs = pair_scale_table(scales8);
    __m256i sumi[N_TOK];
    offset_init(a, a_off, _mm256_cvtepi8_epi16(scales8), 2, sumi); /* levels are u - 4 */
    const __m256i hmask = ifn_avx2_load(w);
    for (int h = 0; h < 2; h++) {
        const __m256i q = ifn_avx2_load(w + 32 + 32 * h);
        for (int j = 0; j < 4; j++) {
            const __m256i low = _mm256_and_si256(_mm256_srli_epi16(q, 2 * j), bytes(3));
            const __m256i u = _mm256_or_si256(low, q3_k_high_bit(hmask, 4 * h + j));
            add_scaled_x4(u, one_scale(pairs, 4 * h + j), a, a_off + ACT_QS + 128 * h + 32 * j,
                          sumi);
        }
    }
    scale_into(a, a_off, ifn_avx2_load_f16(w + 108), sumi, acc);
}

/* ---- Q4_K / Q5_K: d at 0, dmin at 2, scales[12] at 4; Q4_K qs[128] at 16; Q5_K qh[32] at
 * 16, qs[128] at 48 ---- */

/* One super-block; qh is NULL for Q4_K. */
static inline void q4_5_k_x4(const unsigned char *w, const unsigned char *qs,
                             const unsigned char *qh, const unsigned char *const a[N_TOK],
                             int64_t a_off, __m256 acc[N_TOK], __m256 acc_min[N_TOK]) {
    const __m128i sm = ifn_avx2_q4_k_scales_mins(w + 4);
    const __m128i mins8 = _mm_unpackhi_epi64(sm, sm);
    /* each min twice: one per 16-element bsum of its 32-element sub-block */
    const __m256i mins16 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mins8, mins8));
    mins_into(a, a_off, ifn_avx2_load_f16(w + 2), mins16, acc_min);
    const __m256i scales16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));
    __m256i high = qh ? ifn_avx2_load(qh) : _mm256_setzero_si256();
    __m256i sumi[N_TOK];
    zero_sums(sumi);
    for (int c = 0; c < 4; c++) {
        const __m256i q = ifn_avx2_load(qs + 32 * c);
        __m256i u0 = _mm256_and_si256(q, bytes(0x0F));
        __m256i u1 = _mm256_and_si256(_mm256_srli_epi16(q, 4), bytes(0x0F));
        if (qh) { /* bit 2c, 2c + 1 of qh[l] is the 5th bit of chunk element l, 32 + l */
            u0 = _mm256_or_si256(u0, _mm256_slli_epi16(_mm256_and_si256(high, bytes(1)), 4));
            u1 = _mm256_or_si256(u1, _mm256_slli_epi16(_mm256_and_si256(high, bytes(2)), 3));
            high = _mm256_srli_epi16(high, 2);
        }
        const int64_t y = a_off + ACT_QS + 64 * c;
        add_scaled_x4(u0, one_scale(scales16, 2 * c), a, y, sumi);
        add_scaled_x4(u1, one_scale(scales16, 2 * c + 1), a, y + 32, sumi);
    }
    scale_into(a, a_off, ifn_avx2_load_f16(w), sumi, acc);
}

static inline void q4_k_x4(const unsigned char *w, const unsigned char *const a[N_TOK],
                           int64_t a_off, __m256 acc[N_TOK], __m256 acc_min[N_TOK]) {
    q4_5_k_x4(w, w + 16, NULL, a, a_off, acc, acc_min);
}

static inline void q5_k_x4(const unsigned char *w, const unsigned char *const a[N_TOK],
                           int64_t a_off, __m256 acc[N_TOK], __m256 acc_min[N_TOK]) {
    q4_5_k_x4(w, w + 48, w + 16, a, a_off, acc, acc_min);
}

/* ---- Q6_K: ql[128] at 0, qh[64] at 128, scales[16] at 192, d at 208 ---- */

static inline void q6_k_x4(const unsigned char *w, const unsigned char *const a[N_TOK],
                           int64_t a_off, __m256 acc[N_TOK], __m256 acc_min[N_TOK]) {
    (void)acc_min;
    const __m128i scales8 = ifn_avx2_load128(w + 192);
    const __m256i pairs = pair_scale_table(scales8);
    __m256i sumi[N_TOK];
    offset_init(a, a_off, _mm256_cvtepi8_epi16(scales8), 5, sumi); /* levels are u - 32 */
    for (int h = 0; h < 2; h++) {
        const __m256i ql0 = ifn_avx2_load(w + 64 * h);
        const __m256i ql1 = ifn_avx2_load(w + 64 * h + 32);
        const __m256i qh = ifn_avx2_load(w + 128 + 32 * h);
        __m256i u[4];
        ifn_avx2_q6_k_unpack(ql0, ql1, qh, u);
        for (int j = 0; j < 4; j++)
            add_scaled_x4(u[j], one_scale(pairs, 4 * h + j), a, a_off + ACT_QS + 128 * h + 32 * j,
                          sumi);
    }
    scale_into(a, a_off, ifn_avx2_load_f16(w + 208), sumi, acc);
}

/* ---- IQ4_XS: d at 0, scales_h at 2, scales_l[4] at 4, qs[128] at 8 ---- */

static inline void iq4_xs_x4(const unsigned char *w, const unsigned char *const a[N_TOK],
                             int64_t a_off, __m256 acc[N_TOK], __m256 acc_min[N_TOK]) {
    (void)acc_min;
    const __m256i table = ifn_avx2_iq4nl_table();
    const __m256i scales16 = iq4_xs_scales(w);
    __m256i sumi[N_TOK];
    zero_sums(sumi);
    for (int s = 0; s < 8; s++) {
        const __m256i v = _mm256_shuffle_epi8(table, ifn_avx2_unpack_nibbles(w + 8 + 16 * s));
        const __m256i abs_v = _mm256_sign_epi8(v, v);
        const __m256i scale = one_scale(scales16, s);
        for (int j = 0; j < N_TOK; j++) {
            const __m256i y = ifn_avx2_load(a[j] + a_off + ACT_QS + 32 * s);
            const __m256i p = _mm256_maddubs_epi16(abs_v, _mm256_sign_epi8(y, v));
            sumi[j] = add_i32(sumi[j], _mm256_madd_epi16(p, scale));
        }
    }
    scale_into(a, a_off, ifn_avx2_load_f16(w), sumi, acc);
}

/* ---- row loop ---- */

/* Weight block b of a row (prefetching the one IFN_AVX2_PREFETCH_AHEAD bytes later). */
static inline const unsigned char *weight_block(const void *w_row, int64_t b, int64_t block_bytes) {
    const unsigned char *wb = (const unsigned char *)w_row + b * block_bytes;
    ifn_avx2_prefetch(wb + IFN_AVX2_PREFETCH_AHEAD, block_bytes);
    return wb;
}

/* Token j's activation row and zeroed accumulators. */
static inline void begin_x4(const void *act, size_t act_stride, const unsigned char *a[N_TOK],
                            __m256 acc[N_TOK], __m256 acc_min[N_TOK]) {
    for (int j = 0; j < N_TOK; j++) {
        a[j] = (const unsigned char *)act + (size_t)j * act_stride;
        acc[j] = _mm256_setzero_ps();
        acc_min[j] = _mm256_setzero_ps();
    }
}

/* The single-token kernels' results: hsum(acc) (- hsum(acc_min) for types with mins). */
static inline void end_x4(const __m256 acc[N_TOK], const __m256 acc_min[N_TOK], int has_mins,
                          float *out) {
    for (int j = 0; j < N_TOK; j++)
        out[j] = has_mins ? ifn_avx2_hsum_ps(acc[j]) - ifn_avx2_hsum_ps(acc_min[j])
                          : ifn_avx2_hsum_ps(acc[j]);
}

/* One super-block of a type, for four tokens (the q*_x4 functions above). */
typedef void (*superblock_x4_fn)(const unsigned char *w, const unsigned char *const a[N_TOK],
                                 int64_t a_off, __m256 acc[N_TOK], __m256 acc_min[N_TOK]);

/* The row loop every type shares; `block` is a constant at each call, so it is inlined. */
static inline void run_rows_x4(superblock_x4_fn block, int64_t block_bytes, int has_mins,
                               const void *w_row, const void *act, size_t act_stride, int64_t n,
                               float *out) {
    const unsigned char *a[N_TOK];
    __m256 acc[N_TOK], acc_min[N_TOK];
    begin_x4(act, act_stride, a, acc, acc_min);
    for (int64_t b = 0; b < n / IFN_QK_K; b++) {
        const int64_t a_off = b * (int64_t)sizeof(ifn_block_q8_k);
        block(weight_block(w_row, b, block_bytes), a, a_off, acc, acc_min);
    }
    end_x4(acc, acc_min, has_mins, out);
}

void ifn_vec_dot_x4_kquant_q2_k_avx2(const void *w_row, const void *act, size_t act_stride,
                                  int64_t n, float *out) {
    run_rows_x4(q2_k_x4, sizeof(ifn_block_q2_k), 1, w_row, act, act_stride, n, out);
}

void ifn_vec_dot_x4_kquant_q3_k_avx2(const void *w_row, const void *act, size_t act_stride,
                                  int64_t n, float *out) {
    run_rows_x4(q3_k_x4, sizeof(ifn_block_q3_k), 0, w_row, act, act_stride, n, out);
}

void ifn_vec_dot_x4_kquant_q4_k_avx2(const void *w_row, const void *act, size_t act_stride,
                                  int64_t n, float *out) {
    run_rows_x4(q4_k_x4, sizeof(ifn_block_q4_k), 1, w_row, act, act_stride, n, out);
}

void ifn_vec_dot_x4_kquant_q5_k_avx2(const void *w_row, const void *act, size_t act_stride,
                                  int64_t n, float *out) {
    run_rows_x4(q5_k_x4, sizeof(ifn_block_q5_k), 1, w_row, act, act_stride, n, out);
}

void ifn_vec_dot_x4_kquant_q6_k_avx2(const void *w_row, const void *act, size_t act_stride,
                                  int64_t n, float *out) {
    run_rows_x4(q6_k_x4, sizeof(ifn_block_q6_k), 0, w_row, act, act_stride, n, out);
}

void ifn_vec_dot_x4_kquant_iq4_xs_avx2(const void *w_row, const void *act, size_t act_stride,
                                  int64_t n, float *out) {
    run_rows_x4(iq4_xs_x4, sizeof(ifn_block_iq4_xs), 0, w_row, act, act_stride, n, out);
}
