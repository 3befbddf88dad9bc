/* The kernel table: one function pointer per op, filled once at start-up by dispatch.c with the
 * best variant the CPU supports (scalar reference in ref/, AVX2+FMA in x86/). The reference
 * variants are the definition and the test oracle. Read-only after init: thread-safe. */
#ifndef IFN_KERNELS_KERNELS_H
#define IFN_KERNELS_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/dtype.h"

typedef float (*ifn_dot_f32_fn)(const float *a, const float *b, int64_t n);

/* Converts n floats (whole blocks of act_type) into the activation type a weight type's dot
 * product consumes (Q8_0, Q8_1, Q8_K, F16 or F32). */
typedef void (*ifn_quantize_act_fn)(const float *x, void *out, int64_t n);

/* dot(weight row of n elements in its stored type, activation row in act_type). */
typedef float (*ifn_vec_dot_fn)(const void *w_row, const void *act_row, int64_t n);

/* One weight row times four activation rows: out[j] = vec_dot(w_row, act + j * act_stride, n)
 * for j = 0..3 (act_stride in bytes, 0 allowed; each row keeping the alignment vec_dot needs),
 * unpacking each weight block once for the four tokens. Batch invariant: out[j] is
 * bit-identical to the same table's vec_dot on that row alone, so a token's logits do not
 * depend on which tokens share its batch or its place in a group of four. (The one exception,
 * Q4_0 / Q5_0 activation quants of -128, never comes from quantize_act.) Cannot fail;
 * thread-safe. */
typedef void (*ifn_vec_dot_x4_fn)(const void *w_row, const void *act, size_t act_stride, int64_t n,
                                  float *out /* [4] */);

/* vec_dot_x4 for Q8_0 activations with their block scales already in float: act_scales[4 * b
 * + j] is the scale of token j's block b (ifn_ops fills it once for all the rows of a matmul, so
 * no row converts them again). Same results, bit for bit, as vec_dot_x4. */
typedef void (*ifn_vec_dot_x4_scaled_fn)(const void *w_row, const void *act, size_t act_stride,
                                         const float *act_scales, int64_t n, float *out /* [4] */);

/* ---- packed weights: eight rows per group (layouts in kernels/ref/packed_blocks.h) ---- */

/* Packs eight rows (row_bytes apart, n_cols elements each) into one group at out (the traits'
 * group_block_bytes per block of the weight type). Cannot fail; thread-safe. */
typedef void (*ifn_pack_x8_fn)(const void *rows, size_t row_bytes, int64_t n_cols, void *out);

/* y[t * y_stride + r] = dot(row r of the packed group, token t's activation row) for r < 8 and
 * t < n_tokens (act rows act_stride bytes apart, written by the traits' quantize_act).
 * Batch invariant: each output is computed in one fixed order that depends only on its row and
 * token, never on n_tokens or the token's place among them. Cannot fail; thread-safe. */
typedef void (*ifn_gemm_x8_fn)(const void *group, const void *act, size_t act_stride,
                               int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride);

/* How rows of one weight type are multiplied by activations. */
typedef struct ifn_matmul_traits {
    ifn_dtype act_type;              /* IFN_DTYPE_F32 = activations used as they are */
    ifn_quantize_act_fn quantize_act; /* NULL when act_type is F32 */
    ifn_vec_dot_fn vec_dot;          /* NULL: no kernel for this weight type */
    ifn_vec_dot_x4_fn vec_dot_x4;    /* NULL: call vec_dot once per token */
    ifn_vec_dot_x4_scaled_fn vec_dot_x4_scaled; /* NULL: use vec_dot_x4 (Q8_0 activations only) */
    /* Packed traits only (kernel table's matmul_packed): vec_dot and the x4 forms are NULL. */
    ifn_pack_x8_fn pack_x8;
    ifn_gemm_x8_fn gemm_x8;
    int32_t group_block_bytes; /* bytes of one block (of the weight type) of eight packed rows */
    /* Optional: two consecutive groups at once (16 rows, y[t * y_stride + r] for r < 16), the
     * same bits as two gemm_x8 calls; for kernels whose loads, not arithmetic, are the limit. */
    ifn_gemm_x8_fn gemm_x16;
} ifn_matmul_traits;

/* ---- attention ---- */

/* Query rows (token, head) the AVX2 attention kernel handles per pass over the KV rows: a
 * sequence's consecutive prompt tokens share the pass, so each K/V row is read (and an F16 row
 * converted) once for all of them. */
#define IFN_ATTN_MAX_ROWS 16

/* Attention of n_tok consecutive tokens of one sequence for the query heads of one KV group,
 * over a paged KV cache.
 * Position p lives in block p / block_size at row p % block_size; its K (V) for this KV head
 * starts `head_offset` bytes into that row: k_blocks[p / block_size] + (p % block_size) *
 * row_stride + head_offset. A contiguous cache is one block with block_size = n_ctx.
 * Rows need no alignment beyond their element type (2 bytes for F16, 4 for F32). */
typedef struct ifn_attn_args {
    const float *q;              /* [n_q][head_dim]: the query heads of one KV group, token 0 */
    int32_t n_q;                 /* heads in the group (n_head / n_head_kv), >= 1 */
    int32_t n_tok;               /* consecutive tokens (positions n_kv - 1, n_kv, ...); 0 = 1 */
    size_t q_stride;             /* floats from one token's q to the next's (n_tok > 1) */
    size_t out_stride;           /* floats from one token's out to the next's (n_tok > 1) */
    int32_t head_dim;            /* >= 1 */
    const void *const *k_blocks; /* block b holds positions [b*block_size, (b+1)*block_size) */
    const void *const *v_blocks;
    int32_t block_size; /* positions per block, >= 1 */
    size_t row_stride;  /* bytes between consecutive positions inside a block */
    size_t head_offset; /* bytes from the start of a position's row to this KV head */
    ifn_dtype kv_type;  /* IFN_DTYPE_F32 or IFN_DTYPE_F16 */
    int32_t n_kv;       /* token 0 attends to positions [0, n_kv) (causal: pos + 1), >= 1;
                           token i to [0, n_kv + i) */
    float scale;        /* score = scale * dot(q, k), usually 1/sqrt(head_dim) */
    float *out;         /* [n_q][head_dim] per token; must not overlap q or the cache */
} ifn_attn_args;

/* out[i][h] = sum_p softmax_p(scale * q[i][h] . k_p) * v_p for each token i and query head h,
 * p < n_kv + i. One function serves both KV types (args->kv_type); any other type or a field
 * out of range is a bug (IFN_ASSERT). Deterministic: the result for a query head depends only on
 * that head's q, the KV values, its positions and scale, never on n_q, n_tok, the block layout
 * or what else is in the batch.
 * Cannot fail; allocates nothing (the AVX2 variant keeps ~52 KiB of tiles on the stack and
 * hands head_dim > 512 to the reference); thread-safe on disjoint outputs. */
typedef void (*ifn_attn_fn)(const ifn_attn_args *args);

/* ---- element-wise ops (float32 rows; each cannot fail and is thread-safe) ---- */

/* out[i] = x[i] / sqrt(mean(x^2) + eps) * weight[i]; out may alias x. */
typedef void (*ifn_rmsnorm_fn)(float *out, const float *x, const float *weight, int64_t n,
                               float eps);

/* Which elements RoPE rotates together (values equal to the model's ifn_rope_kind). */
typedef enum ifn_rope_mode {
    IFN_ROPE_MODE_NORM = 0, /* adjacent pairs (x[2i], x[2i+1]): llama */
    IFN_ROPE_MODE_NEOX = 1, /* halves (x[i], x[i + n_rot/2]): GPT-NeoX, qwen2 */
} ifn_rope_mode;

/* Rotates, in place, the first n_rot dims of each of the n_heads heads of x
 * ([n_heads][head_dim]): pair i turns by the angle whose cosine and sine are cos[i], sin[i]
 * (i < n_rot / 2; fill them with ifn_elementwise_rope_cos_sin). Dims >= n_rot are left alone.
 * n_rot is even and <= head_dim. */
typedef void (*ifn_rope_fn)(float *x, int32_t n_heads, int32_t head_dim, int32_t n_rot,
                            ifn_rope_mode mode, const float *cos, const float *sin);

/* In-place softmax over x[0..n), n >= 1. */
typedef void (*ifn_softmax_fn)(float *x, int64_t n);

/* out[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + exp(-g)); out may alias gate or up. */
typedef void (*ifn_swiglu_fn)(float *out, const float *gate, const float *up, int64_t n);

/* out[i] = a[i] + b[i]; out may alias a or b. */
typedef void (*ifn_add_fn)(float *out, const float *a, const float *b, int64_t n);

/* float32 -> IEEE half, rounding to nearest even (overflow gives infinity). */
typedef void (*ifn_f32_to_f16_fn)(uint16_t *out, const float *x, int64_t n);

/* IEEE half -> float32 (exact). */
typedef void (*ifn_f16_to_f32_fn)(float *out, const uint16_t *x, int64_t n);

/* Index of the largest x[i] (the lowest such index on ties; NaNs are skipped; 0 when every
 * element is NaN). n >= 1. */
typedef int64_t (*ifn_argmax_fn)(const float *x, int64_t n);

typedef struct ifn_kernels {
    const char *isa; /* "ref", "avx2" */
    /* sum_i a[i] * b[i] */
    ifn_dot_f32_fn dot_f32;
    /* Fast path per weight type: activations rounded to 8-bit blocks (or F16) so integer / half
     * dot products apply, as llama.cpp does. Logits move by up to ~0.3 on quantized weights. */
    ifn_matmul_traits matmul[IFN_DTYPE_COUNT];
    /* Exact path per weight type: weights decoded exactly, float32 activations, float32
     * accumulation (matches the float64 reference within 1e-4). */
    ifn_matmul_traits matmul_exact[IFN_DTYPE_COUNT];
    /* Fast path for weights repacked at load time into eight-row groups (pack_x8, gemm_x8);
     * empty rows for types without such kernels. Its own activation format may differ from
     * matmul's for the same weight type. */
    ifn_matmul_traits matmul_packed[IFN_DTYPE_COUNT];
    /* Attention of one token's KV group, F32 or F16 KV (args->kv_type). */
    ifn_attn_fn attn;
    ifn_rmsnorm_fn rmsnorm;
    ifn_rope_fn rope;
    ifn_softmax_fn softmax;
    ifn_swiglu_fn swiglu;
    ifn_add_fn add;
    ifn_f32_to_f16_fn f32_to_f16; /* F16 KV cache store */
    ifn_f16_to_f32_fn f16_to_f32; /* F16 KV cache load */
    ifn_argmax_fn argmax;
} ifn_kernels;

/* The table for this CPU (IFN_ISA=ref|avx2 forces one; an unavailable choice falls back to
 * ref with a warning). Initialised on first call; thread-safe. */
const ifn_kernels *ifn_kernels_get(void);

/* The reference table, for tests. */
const ifn_kernels *ifn_kernels_ref(void);

/* The AVX2 table, or NULL when the CPU or OS lacks AVX2+FMA. */
const ifn_kernels *ifn_kernels_avx2(void);

/* Reference implementations (kernels/ref/). */
float ifn_dot_f32_ref(const float *a, const float *b, int64_t n);

/* Attention and element-wise references (kernels/ref/attention_ref.c, elementwise_ref.c). */
void ifn_attention_ref(const ifn_attn_args *args);
void ifn_elementwise_rmsnorm_ref(float *out, const float *x, const float *weight, int64_t n,
                                 float eps);
void ifn_elementwise_rope_ref(float *x, int32_t n_heads, int32_t head_dim, int32_t n_rot,
                              ifn_rope_mode mode, const float *cos, const float *sin);
void ifn_elementwise_softmax_ref(float *x, int64_t n);
void ifn_elementwise_swiglu_ref(float *out, const float *gate, const float *up, int64_t n);
void ifn_elementwise_add_ref(float *out, const float *a, const float *b, int64_t n);
void ifn_elementwise_f32_to_f16_ref(uint16_t *out, const float *x, int64_t n);
void ifn_elementwise_f16_to_f32_ref(float *out, const uint16_t *x, int64_t n);
int64_t ifn_elementwise_argmax_ref(const float *x, int64_t n);

/* The RoPE angles of one position, shared by every ISA: angle_i = pos * inv_freq[i], evaluated
 * in double, cos_out[i] = cos(angle_i), sin_out[i] = sin(angle_i) for i < n_half (= n_rot / 2).
 * Compute them once per token and reuse them for its Q and K rows in every layer. */
void ifn_elementwise_rope_cos_sin(const float *inv_freq, int32_t n_half, int32_t pos,
                                  float *cos_out, float *sin_out);

/* AVX2+FMA implementations (kernels/x86/), only to be called when the CPU supports them. */
float ifn_dot_f32_avx2(const float *a, const float *b, int64_t n);

void ifn_attention_avx2(const ifn_attn_args *args);
void ifn_elementwise_rmsnorm_avx2(float *out, const float *x, const float *weight, int64_t n,
                                  float eps);
void ifn_elementwise_rope_avx2(float *x, int32_t n_heads, int32_t head_dim, int32_t n_rot,
                               ifn_rope_mode mode, const float *cos, const float *sin);
void ifn_elementwise_softmax_avx2(float *x, int64_t n);
void ifn_elementwise_swiglu_avx2(float *out, const float *gate, const float *up, int64_t n);
void ifn_elementwise_add_avx2(float *out, const float *a, const float *b, int64_t n);
void ifn_elementwise_f32_to_f16_avx2(uint16_t *out, const float *x, int64_t n);
void ifn_elementwise_f16_to_f32_avx2(float *out, const uint16_t *x, int64_t n);
int64_t ifn_elementwise_argmax_avx2(const float *x, int64_t n);
/* In-place x[i] = exp(x[i]) (the attention and softmax kernels' exponential): relative error
 * below 1e-6 for x in [-87.3, 88.3]; 0 below about -87.3 (no subnormals), +inf above about
 * 88.4, NaN stays NaN. */
void ifn_elementwise_exp_avx2(float *x, int64_t n);

#endif
