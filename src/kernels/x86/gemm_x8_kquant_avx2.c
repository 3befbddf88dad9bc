/* AVX2 products of packed eight-row Q4_K and Q6_K groups with Q8_K activations: lane r is row
 * r. Per sub-block, the unsigned levels times up to four tokens' activation quants build 16-bit
 * pair sums, multiply-adds by the rows' sub-block scales widen them into the int32 super-block
 * sum. Q4_K: eight chunks stay below 2^15 (8 * 2 * 15 * 127); the mins term is four
 * multiply-adds of the rows' mins with the token's sub-block sums. Q6_K: see q6_k_tokens. The
 * float steps are the reference's (gemm_x8_kquant_ref.c), so results are bit-identical to it
 * and batch invariant. */
#include "kernels/x86/gemm_x8_kquant_avx2.h"

#include "kernels/ref/act_blocks.h"
#include "kernels/ref/packed_blocks.h"
#include "kernels/x86/util_avx2.h"

#define MAX_TOKENS 4
#define PREFETCH_AHEAD 2048

/* Four activation bytes (elements e..e+3 of a Q8_K block) in every 32-bit lane. */
static inline __m256i act_quad(const unsigned char *block, int e) {
    return ifn_avx2_broadcast4(block + offsetof(ifn_block_q8_k, qs) + e);
}

/* The eight rows' 6-bit scales and mins of one Q4_K super-block, unpacked from their 12-byte
 * sets with the masks and shifts of ifn_kquant_get_scale_min applied to eight rows at once:
 * byte j of 32-bit lane r of v[0] is row r's scale of sub-block j, of v[1] that of sub-block
 * 4 + j; v[2], v[3] hold the mins the same way. (32-bit shifts move bits across bytes; every
 * such bit is masked off before use.) */
typedef struct q4_k_scales {
    __m256i v[4];
} q4_k_scales;

static inline void unpack_q4_k_scales(const ifn_block_q4_kx8 *g, q4_k_scales *out) {
    const __m256i w0 = ifn_avx2_load(g->scale_words[0]), w1 = ifn_avx2_load(g->scale_words[1]);
    const __m256i w2 = ifn_avx2_load(g->scale_words[2]);
    const __m256i low6 = _mm256_set1_epi32(0x3f3f3f3f), low4 = _mm256_set1_epi32(0x0f0f0f0f);
    const __m256i low2 = _mm256_set1_epi32(0x03030303);
    out->v[0] = _mm256_and_si256(w0, low6);
    out->v[1] = _mm256_or_si256(_mm256_and_si256(w2, low4),
                                _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(w0, 6), low2), 4));
    out->v[2] = _mm256_and_si256(w1, low6);
    out->v[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(w2, 4), low4),
                                _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(w1, 6), low2), 4));
}

/* Lane r as the int16 pair (x, y), x = byte j and y = byte j + step of lane r of v (a byte
 * shuffle; index bytes with the top bit set give 0). */
static inline __m256i lane_bytes_to_pair(__m256i v, int j, int step) {
    const __m256i base = _mm256_setr_epi8(0, -128, 0, -128, 4, -128, 4, -128, 8, -128, 8, -128, 12,
                                          -128, 12, -128, 0, -128, 0, -128, 4, -128, 4, -128, 8,
                                          -128, 8, -128, 12, -128, 12, -128);
    const __m256i shift = _mm256_setr_epi8(0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1,
                                           0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0);
    const __m256i index = _mm256_add_epi8(
        _mm256_add_epi8(base, _mm256_set1_epi8((char)j)),
        step ? shift : _mm256_setzero_si256());
    return _mm256_shuffle_epi8(v, index);
}

/* Row r's scale of sub-block s in both int16 halves of lane r. */
static inline __m256i sub_block_scales(const q4_k_scales *sc, int s) {
    return lane_bytes_to_pair(sc->v[s / 4], s % 4, 0);
}

/* Lane r: sum over sub-blocks s of min[r][s] * (token's quant sum of sub-block s). */
static inline __m256i mins_term(const q4_k_scales *sc, const unsigned char *ablock) {
    const __m256i bsums = ifn_avx2_load(ablock + offsetof(ifn_block_q8_k, bsums));
    /* 128-bit lane 0: sums of sub-blocks 0..3 twice, lane 1: 4..7 twice (|sum| <= 4064). */
    const __m256i sums = _mm256_hadd_epi16(bsums, bsums);
    static const int dword_of_pair[4] = {0, 1, 4, 5};
    __m256i total = _mm256_setzero_si256();
    for (int p = 0; p < 4; p++) {
        const __m256i pair = _mm256_permutevar8x32_epi32(sums, _mm256_set1_epi32(dword_of_pair[p]));
        /* (min of sub-block 2p, min of 2p + 1) per row */
        const __m256i mins = lane_bytes_to_pair(sc->v[2 + p / 2], 2 * (p % 2), 1);
        total = _mm256_add_epi32(total, _mm256_madd_epi16(mins, pair));
    }
    return total;
}

static inline __attribute__((always_inline)) void q4_k_tokens(const unsigned char *group,
                                                             const unsigned char *const a[],
                                                             int n_tok, int64_t n_blocks,
                                                             float *y, int64_t y_stride) {
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    __m256 acc[MAX_TOKENS];
    for (int t = 0; t < n_tok; t++) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < n_blocks; b++) {
        const ifn_block_q4_kx8 *g =
            (const ifn_block_q4_kx8 *)(const void *)(group + (size_t)b * sizeof(ifn_block_q4_kx8));
        const size_t a_off = (size_t)b * sizeof(ifn_block_q8_k);
        /* Decode streams the weights once: ask for them PREFETCH_AHEAD bytes early (prefetches
         * past the matrix's end are harmless: they never fault). */
        if (n_tok <= 2) ifn_avx2_prefetch((const unsigned char *)g + PREFETCH_AHEAD, sizeof *g);
        q4_k_scales sc;
        unpack_q4_k_scales(g, &sc);
        __m256i scaled[MAX_TOKENS];
        for (int t = 0; t < n_tok; t++) scaled[t] = _mm256_setzero_si256();
        if (n_tok <= 2) {
            /* Few tokens: both sub-blocks of a chunk pair from one load, two independent sum
             * chains per token (more work per load, which decode needs to keep up with
             * memory). */
            for (int i = 0; i < 4; i++) {
                __m256i lo16[MAX_TOKENS], hi16[MAX_TOKENS];
                for (int t = 0; t < n_tok; t++) lo16[t] = hi16[t] = _mm256_setzero_si256();
#pragma GCC unroll 2
                for (int k = 0; k < 8; k++) {
                    const __m256i v = ifn_avx2_load(g->qs[i][k]);
                    const __m256i lo = _mm256_and_si256(v, low4);
                    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
                    for (int t = 0; t < n_tok; t++) {
                        lo16[t] = _mm256_add_epi16(
                            lo16[t], _mm256_maddubs_epi16(lo, act_quad(a[t] + a_off, 64 * i + 4 * k)));
                        hi16[t] = _mm256_add_epi16(
                            hi16[t],
                            _mm256_maddubs_epi16(hi, act_quad(a[t] + a_off, 64 * i + 32 + 4 * k)));
                    }
                }
                const __m256i sc_lo = sub_block_scales(&sc, 2 * i);
                const __m256i sc_hi = sub_block_scales(&sc, 2 * i + 1);
                for (int t = 0; t < n_tok; t++)
                    scaled[t] = _mm256_add_epi32(scaled[t],
                                                 _mm256_add_epi32(_mm256_madd_epi16(lo16[t], sc_lo),
                                                                  _mm256_madd_epi16(hi16[t], sc_hi)));
            }
        } else {
            /* More tokens: one sub-block at a time, so their sums fit the registers. */
            for (int s = 0; s < 8; s++) {
                const int i = s / 2, high = s % 2;
                __m256i sum16[MAX_TOKENS];
                for (int t = 0; t < n_tok; t++) sum16[t] = _mm256_setzero_si256();
                /* Unrolled by 2 only (fully unrolled, the sums become a tree that spills). */
#pragma GCC unroll 2
                for (int k = 0; k < 8; k++) {
                    const __m256i v = ifn_avx2_load(g->qs[i][k]);
                    const __m256i nib = high ? _mm256_and_si256(_mm256_srli_epi16(v, 4), low4)
                                             : _mm256_and_si256(v, low4);
                    for (int t = 0; t < n_tok; t++)
                        sum16[t] = _mm256_add_epi16(
                            sum16[t],
                            _mm256_maddubs_epi16(nib, act_quad(a[t] + a_off, 32 * s + 4 * k)));
                }
                const __m256i scales = sub_block_scales(&sc, s);
                for (int t = 0; t < n_tok; t++)
                    scaled[t] = _mm256_add_epi32(scaled[t], _mm256_madd_epi16(sum16[t], scales));
            }
        }
        const __m256 d = _mm256_cvtph_ps(ifn_avx2_load128(g->d));
        const __m256 dmin = _mm256_cvtph_ps(ifn_avx2_load128(g->dmin));
        for (int t = 0; t < n_tok; t++) {
            float da;
            memcpy(&da, a[t] + a_off + offsetof(ifn_block_q8_k, d), sizeof da);
            const __m256 vda = _mm256_set1_ps(da);
            const __m256i mins = mins_term(&sc, a[t] + a_off);
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(scaled[t]), _mm256_mul_ps(d, vda), acc[t]);
            acc[t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(mins), _mm256_mul_ps(dmin, vda), acc[t]);
        }
    }
    for (int t = 0; t < n_tok; t++) _mm256_storeu_ps(y + t * y_stride, acc[t]);
}

/* Q6_K: chunks 2h and 2h + 1 (four elements of each row) of sub-block s as levels 0..63. In
 * chunk 3 the 16-bit shifts move no bits across bytes: each byte is masked to bits 6..7 first. */
static inline void q6_k_chunk_pair(const ifn_block_q6_kx8 *g, int s, int h, __m256i *first,
                                   __m256i *second) {
    const __m256i low6 = _mm256_set1_epi8(0x3f), top2 = _mm256_set1_epi8((char)0xc0);
    if (h == 0) {
        *first = _mm256_and_si256(ifn_avx2_load(g->qs[s][0]), low6);
        *second = _mm256_and_si256(ifn_avx2_load(g->qs[s][1]), low6);
        return;
    }
    *first = _mm256_and_si256(ifn_avx2_load(g->qs[s][2]), low6);
    *second = _mm256_or_si256(
        _mm256_or_si256(_mm256_srli_epi16(_mm256_and_si256(ifn_avx2_load(g->qs[s][0]), top2), 6),
                        _mm256_srli_epi16(_mm256_and_si256(ifn_avx2_load(g->qs[s][1]), top2), 4)),
        _mm256_srli_epi16(_mm256_and_si256(ifn_avx2_load(g->qs[s][2]), top2), 2));
}

/* Lane r: scale * (dot of two chunks' levels with the token's quants from element e on), the
 * chunks' pair sums added in 16 bits. `scale` holds row r's scale in both halves of lane r. */
static inline __m256i q6_k_chunk_dot(__m256i first, __m256i second, const unsigned char *ablock,
                                     int e, __m256i scale) {
    const __m256i sum16 = _mm256_add_epi16(_mm256_maddubs_epi16(first, act_quad(ablock, e)),
                                           _mm256_maddubs_epi16(second, act_quad(ablock, e + 4)));
    return _mm256_madd_epi16(sum16, scale);
}

/* Row r's scale of sub-block s in both 16-bit halves of lane r. */
static inline __m256i q6_k_scale(const ifn_block_q6_kx8 *g, int s) {
    /* Byte shuffles that copy the first (second) 16-bit scale of a lane into both halves. */
    static const uint8_t dup[2][32] = {
        {0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13,
         0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13},
        {2, 3, 2, 3, 6, 7, 6, 7, 10, 11, 10, 11, 14, 15, 14, 15,
         2, 3, 2, 3, 6, 7, 6, 7, 10, 11, 10, 11, 14, 15, 14, 15},
    };
    const __m256i pair = _mm256_cvtepi8_epi16(ifn_avx2_load128(g->scales[s / 2]));
    return _mm256_shuffle_epi8(pair, ifn_avx2_load(dup[s % 2]));
}

/* The activation sums of sub-blocks 2p and 2p + 1 as one 32-bit pair in every lane. */
static inline __m256i bsum_pair(const unsigned char *ablock, int p) {
    int32_t v;
    memcpy(&v, ablock + offsetof(ifn_block_q8_k, bsums) + 4 * p, sizeof v);
    return _mm256_set1_epi32(v);
}

/* Adds sub-block s of every token to its lane sums. */
static inline __attribute__((always_inline)) void q6_k_sub_block(const ifn_block_q6_kx8 *g, int s,
                                                                 const unsigned char *const a[],
                                                                 size_t a_off, int n_tok,
                                                                 __m256i total[]) {
    const __m256i scale = q6_k_scale(g, s);
    for (int h = 0; h < 2; h++) {
        __m256i first, second;
        q6_k_chunk_pair(g, s, h, &first, &second);
        for (int t = 0; t < n_tok; t++)
            total[t] = _mm256_add_epi32(
                total[t], q6_k_chunk_dot(first, second, a[t] + a_off, 16 * s + 8 * h, scale));
    }
}

/* Q6_K with levels q = 0..63 standing for q - 32: lane r gets
 *   T = sum_s scale_s * dot(q, a)_s - sum_p 32 * (scale_2p * bsum_2p + scale_2p+1 * bsum_2p+1),
 * the reference's int32 total. Bounds (|a| <= 127, |scale| <= 128, |bsum| <= 16 * 127 = 2032):
 * a maddubs pair sum is at most 2 * 63 * 127 = 16002, two of them added 32004 < 2^15; the
 * multiply-add by a scale pair at most 2 * 32004 * 128 = 8,193,024, so the 32 of one super-block
 * sum to at most 262,176,768; 32 * scale fits 16 bits (4096), each offset multiply-add is at most
 * 2 * 4096 * 2032 = 16,646,144 and the eight 133,169,152. Every partial sum therefore stays
 * below 395,345,920 < 2^31: integer arithmetic is exact, its order free. */
static inline __attribute__((always_inline)) void q6_k_tokens(const unsigned char *group,
                                                              const unsigned char *const a[],
                                                              int n_tok, int64_t n_blocks, float *y,
                                                              int64_t y_stride) {
    /* The float sums live in y between super-blocks: in registers they would push four tokens'
     * integer sums onto the stack. */
    for (int t = 0; t < n_tok; t++)
        _mm256_storeu_ps(y + t * y_stride, _mm256_setzero_ps());
    for (int64_t b = 0; b < n_blocks; b++) {
        const ifn_block_q6_kx8 *g =
            (const ifn_block_q6_kx8 *)(const void *)(group + (size_t)b * sizeof(ifn_block_q6_kx8));
        const size_t a_off = (size_t)b * sizeof(ifn_block_q8_k);
        __m256i total[MAX_TOKENS];
        for (int t = 0; t < n_tok; t++)
            total[t] = _mm256_setzero_si256();
#pragma GCC unroll 1
        for (int p = 0; p < 8; p++) { /* the -32 offset (kept rolled: unrolled, it spills) */
            const __m256i pair32 =
                _mm256_slli_epi16(_mm256_cvtepi8_epi16(ifn_avx2_load128(g->scales[p])), 5);
            for (int t = 0; t < n_tok; t++)
                total[t] = _mm256_sub_epi32(total[t],
                                            _mm256_madd_epi16(pair32, bsum_pair(a[t] + a_off, p)));
        }
        /* One sub-block per iteration, so four tokens' sums fit the registers. */
#pragma GCC unroll 1
        for (int s = 0; s < 16; s++) {
            /* Decode streams the weights once: one line in two, PREFETCH_AHEAD bytes early,
             * spread over the sub-blocks (the L2's adjacent-line prefetcher brings the other).
             * One thread on Zen 3 streamed 10-15 % slower prefetching every line or all lines
             * at once; two threads saturate memory either way. */
            if (n_tok <= 2) _mm_prefetch((const char *)g + PREFETCH_AHEAD + 128 * s, _MM_HINT_T0);
            q6_k_sub_block(g, s, a, a_off, n_tok, total);
        }
        const __m256 d = _mm256_cvtph_ps(ifn_avx2_load128(g->d));
        for (int t = 0; t < n_tok; t++) {
            float da;
            memcpy(&da, a[t] + a_off + offsetof(ifn_block_q8_k, d), sizeof da);
            const __m256 acc = _mm256_loadu_ps(y + t * y_stride);
            _mm256_storeu_ps(y + t * y_stride,
                             _mm256_fmadd_ps(_mm256_cvtepi32_ps(total[t]),
                                             _mm256_mul_ps(d, _mm256_set1_ps(da)), acc));
        }
    }
}

typedef enum kquant_kind { KQUANT_Q4_K, KQUANT_Q6_K } kquant_kind;

static inline __attribute__((always_inline)) void run_tokens(kquant_kind kind,
                                                            const unsigned char *group,
                                                            const unsigned char *const a[],
                                                            int n_tok, int64_t n_blocks, float *y,
                                                            int64_t y_stride) {
    if (kind == KQUANT_Q4_K)
        q4_k_tokens(group, a, n_tok, n_blocks, y, y_stride);
    else
        q6_k_tokens(group, a, n_tok, n_blocks, y, y_stride);
}

/* Tokens four at a time, then the 1..3 left, each count a constant so that every case is its
 * own unrolled kernel. */
static inline __attribute__((always_inline)) void gemm(kquant_kind kind, const void *group,
                                                      const void *act, size_t act_stride,
                                                      int64_t n_tokens, int64_t n_cols, float *y,
                                                      int64_t y_stride) {
    const int64_t n_blocks = n_cols / IFN_QK_K;
    const unsigned char *a[MAX_TOKENS];
    for (int64_t t = 0; t < n_tokens; t += MAX_TOKENS) {
        const int64_t left = n_tokens - t;
        const int n_tok = left < MAX_TOKENS ? (int)left : MAX_TOKENS;
        for (int j = 0; j < n_tok; j++)
            a[j] = (const unsigned char *)act + (size_t)(t + j) * act_stride;
        float *yt = y + t * y_stride;
        switch (n_tok) {
        case 4:
            run_tokens(kind, group, a, 4, n_blocks, yt, y_stride);
            break;
        case 3:
            run_tokens(kind, group, a, 3, n_blocks, yt, y_stride);
            break;
        case 2:
            run_tokens(kind, group, a, 2, n_blocks, yt, y_stride);
            break;
        default:
            run_tokens(kind, group, a, 1, n_blocks, yt, y_stride);
            break;
        }
    }
}

void ifn_gemm_x8_q4_k_avx2(const void *group, const void *act, size_t act_stride,
                           int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride) {
    gemm(KQUANT_Q4_K, group, act, act_stride, n_tokens, n_cols, y, y_stride);
}

void ifn_gemm_x8_q6_k_avx2(const void *group, const void *act, size_t act_stride, int64_t n_tokens,
                           int64_t n_cols, float *y, int64_t y_stride) {
    gemm(KQUANT_Q6_K, group, act, act_stride, n_tokens, n_cols, y, y_stride);
}
