/* AVX2+FMA attention of one KV group ("flash" style): positions are walked in tiles of 8 to 64,
 * keeping per query row only a running max, a running sum of weights and a float32 output
 * accumulator (online softmax), so no more than one tile of scores exists at a time. The query
 * rows of a pass (up to IFN_ATTN_MAX_ROWS: the group's heads, for each of a run of consecutive
 * tokens of one sequence) share each tile: its K and V rows are read from the cache once (F16
 * rows converted once into float tiles) and then reused from L1 by every row.
 * Reduction order is fixed by absolute position (tiles start at multiples of the tile size and
 * a row's sums never mix with another row's), so results do not depend on the block layout,
 * the rows in the pass or anything else in the batch. A row whose causal range ends inside a
 * tile sees the rest of the tile masked: scores of -inf, weights of exactly 0, which leave its
 * max, sums and outputs bit for bit as a pass of its own would (adding +0 and fma(0, v, acc)
 * change nothing for finite V); a row whose range ended before a tile skips it. */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/x86/util_avx2.h"
#include "util/status.h"

#define MAX_ROWS IFN_ATTN_MAX_ROWS /* query rows per pass over the KV rows */
#define MAX_HEAD_DIM 512 /* larger heads take the reference path */
#define TILE_FLOATS 2048 /* preferred tile positions * head_dim: K + V tiles stay in L1 */
#define TILE_BUFFER 4096 /* converted tile capacity: 8 positions of MAX_HEAD_DIM */
#define MAX_TILE 64      /* positions per tile */

/* One tile of positions as float rows: the cache rows themselves for F32, converted copies
 * for F16. Entries len..len8-1 repeat row 0 so scores can be computed in groups of 8; their
 * weights are 0. */
typedef struct tile {
    int32_t len, len8;
    const float *k[MAX_TILE];
    const float *v[MAX_TILE];
    float k_buf[TILE_BUFFER]; /* [len][head_dim] F16 K rows as floats */
    float v_buf[TILE_BUFFER];
} tile;

/* The running state of up to MAX_ROWS query rows; rows are ordered by non-decreasing n_kv, so
 * the ones whose range has ended are a prefix [0, first). */
typedef struct group_state {
    int32_t n_rows, head_dim, first;
    const float *q[MAX_ROWS];
    float *out[MAX_ROWS];
    int32_t n_kv[MAX_ROWS];            /* positions [0, n_kv) of each row */
    float max[MAX_ROWS];               /* running max score, -inf before the first tile */
    float sum[MAX_ROWS];               /* running sum of exp(score - max) */
    float rescale[MAX_ROWS];           /* this tile's exp(old max - new max) */
    float acc[MAX_ROWS * MAX_HEAD_DIM]; /* [n_rows][head_dim] unnormalised outputs */
    float w[MAX_ROWS * MAX_TILE];      /* [n_rows][len8] scores, then weights */
} group_state;

static const float *f16_row(const unsigned char *src, int32_t head_dim, float *dst) {
    int32_t d = 0;
    for (; d + 8 <= head_dim; d += 8)
        _mm256_storeu_ps(dst + d, _mm256_cvtph_ps(ifn_avx2_load128(src + 2 * d)));
    for (; d < head_dim; d++)
        dst[d] = ifn_avx2_load_f16(src + 2 * d);
    return dst;
}

/* Fills t with positions [start, start + len). */
static void gather_tile(const ifn_attn_args *a, int32_t start, int32_t len, tile *t) {
    int32_t block = start / a->block_size, row = start % a->block_size;
    t->len = len;
    t->len8 = (len + 7) & ~7;
    for (int32_t j = 0; j < len; j++) {
        const size_t off = (size_t)row * a->row_stride + a->head_offset;
        const unsigned char *k = (const unsigned char *)a->k_blocks[block] + off;
        const unsigned char *v = (const unsigned char *)a->v_blocks[block] + off;
        if (a->kv_type == IFN_DTYPE_F16) {
            t->k[j] = f16_row(k, a->head_dim, t->k_buf + (size_t)j * (size_t)a->head_dim);
            t->v[j] = f16_row(v, a->head_dim, t->v_buf + (size_t)j * (size_t)a->head_dim);
        } else {
            t->k[j] = (const float *)(const void *)k;
            t->v[j] = (const float *)(const void *)v;
        }
        if (++row == a->block_size) {
            row = 0;
            block++;
        }
    }
    for (int32_t j = len; j < t->len8; j++)
        t->k[j] = t->k[0];
}

/* Lane j = sum of the lanes of a[j]; every lane is summed in the same pairwise order. */
static inline __m256 sum_lanes8(const __m256 a[8]) {
    const __m256 s0123 = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]), _mm256_hadd_ps(a[2], a[3]));
    const __m256 s4567 = _mm256_hadd_ps(_mm256_hadd_ps(a[4], a[5]), _mm256_hadd_ps(a[6], a[7]));
    return _mm256_add_ps(_mm256_permute2f128_ps(s0123, s4567, 0x20),
                         _mm256_permute2f128_ps(s0123, s4567, 0x31));
}

/* Scaled scores of heads qa, qb against the whole tile, into sa, sb ([len8] each). Four rows
 * at a time against both heads: 8 FMA chains on 6 loads per 8 FMAs. Dims past the last
 * multiple of 8 are added in scalar code. */
static void scores_2_heads(const float *qa, const float *qb, const tile *t, int32_t head_dim,
                           float scale, float *sa, float *sb) {
    const int32_t dims8 = head_dim & ~7;
    for (int32_t j0 = 0; j0 < t->len8; j0 += 4) {
        const float *const *k = t->k + j0;
        __m256 acc[8];
        for (int i = 0; i < 8; i++)
            acc[i] = _mm256_setzero_ps();
        for (int32_t d = 0; d < dims8; d += 8) {
            const __m256 a = _mm256_loadu_ps(qa + d), b = _mm256_loadu_ps(qb + d);
            for (int j = 0; j < 4; j++) {
                const __m256 kj = _mm256_loadu_ps(k[j] + d);
                acc[j] = _mm256_fmadd_ps(a, kj, acc[j]);
                acc[4 + j] = _mm256_fmadd_ps(b, kj, acc[4 + j]);
            }
        }
        float tail[8] = {0};
        for (int j = 0; j < 4; j++)
            for (int32_t i = dims8; i < head_dim; i++) {
                tail[j] += qa[i] * k[j][i];
                tail[4 + j] += qb[i] * k[j][i];
            }
        const __m256 dots = _mm256_add_ps(sum_lanes8(acc), _mm256_loadu_ps(tail));
        const __m256 scaled = _mm256_mul_ps(dots, _mm256_set1_ps(scale));
        _mm_storeu_ps(sa + j0, _mm256_castps256_ps128(scaled));
        _mm_storeu_ps(sb + j0, _mm256_extractf128_ps(scaled, 1));
    }
}

/* As scores_2_heads for a single head, eight rows at a time; each score is summed in the same
 * order as there. */
static void scores_1_head(const float *q, const tile *t, int32_t head_dim, float scale, float *s) {
    const int32_t dims8 = head_dim & ~7;
    for (int32_t j0 = 0; j0 < t->len8; j0 += 8) {
        const float *const *k = t->k + j0;
        __m256 acc[8];
        for (int i = 0; i < 8; i++)
            acc[i] = _mm256_setzero_ps();
        for (int32_t d = 0; d < dims8; d += 8) {
            const __m256 a = _mm256_loadu_ps(q + d);
            for (int j = 0; j < 8; j++)
                acc[j] = _mm256_fmadd_ps(a, _mm256_loadu_ps(k[j] + d), acc[j]);
        }
        float tail[8] = {0};
        for (int j = 0; j < 8; j++)
            for (int32_t i = dims8; i < head_dim; i++)
                tail[j] += q[i] * k[j][i];
        const __m256 dots = _mm256_add_ps(sum_lanes8(acc), _mm256_loadu_ps(tail));
        _mm256_storeu_ps(s + j0, _mm256_mul_ps(dots, _mm256_set1_ps(scale)));
    }
}

/* Scaled scores of the active rows against the tile (starting at position `start`), into g->w
 * ([row][len8]), rows in pairs; positions past a row's range and the padding get -inf. */
static void tile_scores(group_state *g, float scale, const tile *t, int32_t start) {
    const int32_t len8 = t->len8, head_dim = g->head_dim;
    int32_t h = g->first;
    for (; h + 2 <= g->n_rows; h += 2) {
        float *sa = g->w + (size_t)h * (size_t)len8;
        scores_2_heads(g->q[h], g->q[h + 1], t, head_dim, scale, sa, sa + len8);
    }
    if (h < g->n_rows)
        scores_1_head(g->q[h], t, head_dim, scale, g->w + (size_t)h * (size_t)len8);
    for (h = g->first; h < g->n_rows; h++) {
        const int32_t limit = g->n_kv[h] - start < t->len ? g->n_kv[h] - start : t->len;
        for (int32_t j = limit; j < len8; j++) g->w[(size_t)h * (size_t)len8 + j] = -INFINITY;
    }
}

static float max_of(const float *x, int32_t n8) {
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    for (int32_t j = 0; j < n8; j += 8)
        vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(x + j));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    return _mm_cvtss_f32(_mm_max_ss(m4, _mm_movehdup_ps(m4)));
}

/* Online softmax step: each head's new running max, the tile's weights exp(score - max), the
 * factors exp(old max - new max) that rescale the old sums and outputs, and the new sums. */
static void tile_weights(group_state *g, const tile *t) {
    const int32_t len8 = t->len8, first = g->first, rows = g->n_rows - first;
    for (int32_t h = first; h < g->n_rows; h++) {
        float *s = g->w + (size_t)h * (size_t)len8;
        const float tile_max = max_of(s, len8);
        const float new_max = tile_max > g->max[h] ? tile_max : g->max[h];
        g->rescale[h] = g->max[h] - new_max; /* -inf on the first tile: exp gives 0 */
        g->max[h] = new_max;
        const __m256 vm = _mm256_set1_ps(new_max);
        for (int32_t j = 0; j < len8; j += 8)
            _mm256_storeu_ps(s + j, _mm256_sub_ps(_mm256_loadu_ps(s + j), vm));
    }
    ifn_elementwise_exp_avx2(g->w + (size_t)first * (size_t)len8, (int64_t)rows * len8);
    ifn_elementwise_exp_avx2(g->rescale + first, rows);
    for (int32_t h = first; h < g->n_rows; h++) {
        const float *w = g->w + (size_t)h * (size_t)len8;
        __m256 vsum = _mm256_setzero_ps();
        for (int32_t j = 0; j < len8; j += 8)
            vsum = _mm256_add_ps(vsum, _mm256_loadu_ps(w + j));
        g->sum[h] = g->sum[h] * g->rescale[h] + ifn_avx2_hsum_ps(vsum);
    }
}

/* The V update, acc = acc * rescale + sum_j w[j] * v_j, over a block of dims for one or two
 * heads. Each shape keeps its accumulators in registers for the whole tile; two heads share
 * every V load. */

/* Heads h, h + 1; dims [d0, d0 + 32). */
static void weigh_v_2x4(group_state *g, const tile *t, int32_t h, int32_t d0) {
    const int32_t len8 = t->len8;
    const float *wa = g->w + (size_t)h * (size_t)len8, *wb = wa + len8;
    float *oa = g->acc + (size_t)h * (size_t)g->head_dim + d0, *ob = oa + g->head_dim;
    const __m256 ra = _mm256_set1_ps(g->rescale[h]), rb = _mm256_set1_ps(g->rescale[h + 1]);
    __m256 a[4], b[4];
    for (int c = 0; c < 4; c++) {
        a[c] = _mm256_mul_ps(_mm256_loadu_ps(oa + 8 * c), ra);
        b[c] = _mm256_mul_ps(_mm256_loadu_ps(ob + 8 * c), rb);
    }
    for (int32_t j = 0; j < t->len; j++) {
        const float *v = t->v[j] + d0;
        const __m256 xa = _mm256_broadcast_ss(wa + j), xb = _mm256_broadcast_ss(wb + j);
        for (int c = 0; c < 4; c++) {
            const __m256 vc = _mm256_loadu_ps(v + 8 * c);
            a[c] = _mm256_fmadd_ps(xa, vc, a[c]);
            b[c] = _mm256_fmadd_ps(xb, vc, b[c]);
        }
    }
    for (int c = 0; c < 4; c++) {
        _mm256_storeu_ps(oa + 8 * c, a[c]);
        _mm256_storeu_ps(ob + 8 * c, b[c]);
    }
}

/* Head h; dims [d0, d0 + 64). */
static void weigh_v_1x8(group_state *g, const tile *t, int32_t h, int32_t d0) {
    const float *w = g->w + (size_t)h * (size_t)t->len8;
    float *o = g->acc + (size_t)h * (size_t)g->head_dim + d0;
    const __m256 r = _mm256_set1_ps(g->rescale[h]);
    __m256 a[8];
    for (int c = 0; c < 8; c++)
        a[c] = _mm256_mul_ps(_mm256_loadu_ps(o + 8 * c), r);
    for (int32_t j = 0; j < t->len; j++) {
        const float *v = t->v[j] + d0;
        const __m256 x = _mm256_broadcast_ss(w + j);
        for (int c = 0; c < 8; c++)
            a[c] = _mm256_fmadd_ps(x, _mm256_loadu_ps(v + 8 * c), a[c]);
    }
    for (int c = 0; c < 8; c++)
        _mm256_storeu_ps(o + 8 * c, a[c]);
}

/* Head h; dims [d0, d0 + 8): what the wider blocks leave. */
static void weigh_v_1x1(group_state *g, const tile *t, int32_t h, int32_t d0) {
    const float *w = g->w + (size_t)h * (size_t)t->len8;
    float *o = g->acc + (size_t)h * (size_t)g->head_dim + d0;
    __m256 a = _mm256_mul_ps(_mm256_loadu_ps(o), _mm256_set1_ps(g->rescale[h]));
    for (int32_t j = 0; j < t->len; j++)
        a = _mm256_fmadd_ps(_mm256_broadcast_ss(w + j), _mm256_loadu_ps(t->v[j] + d0), a);
    _mm256_storeu_ps(o, a);
}

/* Head h; dim d (past the last multiple of 8). */
static void weigh_v_scalar(group_state *g, const tile *t, int32_t h, int32_t d) {
    const float *w = g->w + (size_t)h * (size_t)t->len8;
    float *o = g->acc + (size_t)h * (size_t)g->head_dim + d;
    float a = *o * g->rescale[h];
    for (int32_t j = 0; j < t->len; j++)
        a += w[j] * t->v[j][d];
    *o = a;
}

static void weigh_v(group_state *g, const tile *t) {
    const int32_t head_dim = g->head_dim, dims8 = head_dim & ~7;
    int32_t h = g->first;
    for (; h + 2 <= g->n_rows; h += 2) {
        int32_t d = 0;
        for (; d + 32 <= dims8; d += 32)
            weigh_v_2x4(g, t, h, d);
        for (; d < dims8; d += 8) {
            weigh_v_1x1(g, t, h, d);
            weigh_v_1x1(g, t, h + 1, d);
        }
    }
    if (h < g->n_rows) {
        int32_t d = 0;
        for (; d + 64 <= dims8; d += 64)
            weigh_v_1x8(g, t, h, d);
        for (; d < dims8; d += 8)
            weigh_v_1x1(g, t, h, d);
    }
    for (int32_t d = dims8; d < head_dim; d++)
        for (h = g->first; h < g->n_rows; h++)
            weigh_v_scalar(g, t, h, d);
}

/* Attention of the rows set up in g (q, out, n_kv, n_rows <= MAX_ROWS). */
static void attend_rows(const ifn_attn_args *a, group_state *g, tile *t) {
    const int32_t head_dim = a->head_dim;
    int32_t tile_len = (TILE_FLOATS / head_dim) & ~7;
    tile_len = tile_len < 8 ? 8 : tile_len > MAX_TILE ? MAX_TILE : tile_len;
    g->head_dim = head_dim;
    g->first = 0;
    for (int32_t h = 0; h < g->n_rows; h++) {
        g->max[h] = -INFINITY;
        g->sum[h] = 0.0f;
    }
    memset(g->acc, 0, (size_t)g->n_rows * (size_t)head_dim * sizeof(float));
    const int32_t n_kv = g->n_kv[g->n_rows - 1];
    for (int32_t start = 0; start < n_kv; start += tile_len) {
        while (g->n_kv[g->first] <= start) g->first++;
        const int32_t len = n_kv - start < tile_len ? n_kv - start : tile_len;
        gather_tile(a, start, len, t);
        tile_scores(g, a->scale, t, start);
        tile_weights(g, t);
        weigh_v(g, t);
    }
    for (int32_t h = 0; h < g->n_rows; h++) {
        const float *acc = g->acc + (size_t)h * (size_t)head_dim;
        float *o = g->out[h];
        const __m256 sum = _mm256_set1_ps(g->sum[h]);
        int32_t d = 0;
        for (; d + 8 <= head_dim; d += 8)
            _mm256_storeu_ps(o + d, _mm256_div_ps(_mm256_loadu_ps(acc + d), sum));
        for (; d < head_dim; d++)
            o[d] = acc[d] / g->sum[h];
    }
}

void ifn_attention_avx2(const ifn_attn_args *a) {
    IFN_ASSERT(a->kv_type == IFN_DTYPE_F32 || a->kv_type == IFN_DTYPE_F16);
    IFN_ASSERT(a->n_q >= 1 && a->head_dim >= 1 && a->block_size >= 1 && a->n_kv >= 1);
    if (a->head_dim > MAX_HEAD_DIM) {
        ifn_attention_ref(a);
        return;
    }
    group_state g;
    tile t;
    const int32_t n_tok = a->n_tok > 1 ? a->n_tok : 1;
    const int64_t n_rows = (int64_t)n_tok * a->n_q;
    /* Rows token-major (n_kv non-decreasing), MAX_ROWS per pass. */
    for (int64_t r0 = 0; r0 < n_rows; r0 += MAX_ROWS) {
        g.n_rows = (int32_t)(n_rows - r0 < MAX_ROWS ? n_rows - r0 : MAX_ROWS);
        for (int32_t i = 0; i < g.n_rows; i++) {
            const int64_t r = r0 + i, tok = r / a->n_q, h = r % a->n_q;
            const size_t off = (size_t)h * (size_t)a->head_dim;
            g.q[i] = a->q + (size_t)tok * a->q_stride + off;
            g.out[i] = a->out + (size_t)tok * a->out_stride + off;
            g.n_kv[i] = a->n_kv + (int32_t)tok;
        }
        attend_rows(a, &g, &t);
    }
}
