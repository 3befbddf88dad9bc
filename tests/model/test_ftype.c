/* Tests of the file type names and llama-quantize's per-tensor type rules: the layers of a
 * Q4_K_M TinyLlama / Llama-2-7B that get Q6_K (as in the published Q4_K_M files), output.weight
 * in Q6_K for Q4_0, fallbacks for rows that are not whole 256-element blocks, Q2_K and Q3_K_M
 * mixtures, the 70B bump, --pure, and refusal where llama-quantize refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "model/ftype.h"
#include "util/status.h"

#define MAX_LAYERS 80

/* Types chosen for one model, walked in llama-quantize's order. */
typedef struct chosen {
    ifn_dtype output, output_norm, token_embd;
    ifn_dtype attn_k[MAX_LAYERS], attn_norm[MAX_LAYERS], attn_output[MAX_LAYERS],
        attn_q[MAX_LAYERS], attn_v[MAX_LAYERS], ffn_down[MAX_LAYERS], ffn_gate[MAX_LAYERS],
        ffn_norm[MAX_LAYERS], ffn_up[MAX_LAYERS];
} chosen;

typedef struct shape {
    int32_t n_embd, n_layer, n_head, n_head_kv, n_ff;
} shape;

static ifn_dtype choose(ifn_ftype_mix *mix, const char *name, int32_t n_dims, int64_t ne0) {
    ifn_dtype type = IFN_DTYPE_COUNT;
    ifn_status st = ifn_ftype_mix_choose(mix, name, n_dims, ne0, &type);
    if (st != IFN_OK) print_message("unexpected error: %s\n", ifn_last_error());
    assert_int_equal(st, IFN_OK);
    return type;
}

static void walk(const shape *s, ifn_ftype ftype, int is_pure, chosen *c) {
    ifn_ftype_mix mix;
    ifn_ftype_mix_init(&mix, ftype, s->n_layer, s->n_head, s->n_head_kv, is_pure);
    c->output = choose(&mix, "output.weight", 2, s->n_embd);
    c->output_norm = choose(&mix, "output_norm.weight", 1, s->n_embd);
    c->token_embd = choose(&mix, "token_embd.weight", 2, s->n_embd);
    for (int i = 0; i < s->n_layer; i++) {
        char name[64];
#define CHOOSE(field, n_dims, ne0)                                                                 \
    snprintf(name, sizeof name, "blk.%d." #field ".weight", i);                                    \
    c->field[i] = choose(&mix, name, n_dims, ne0)
        CHOOSE(attn_k, 2, s->n_embd);
        CHOOSE(attn_norm, 1, s->n_embd);
        CHOOSE(attn_output, 2, s->n_embd);
        CHOOSE(attn_q, 2, s->n_embd);
        CHOOSE(attn_v, 2, s->n_embd);
        CHOOSE(ffn_down, 2, s->n_ff);
        CHOOSE(ffn_gate, 2, s->n_embd);
        CHOOSE(ffn_norm, 1, s->n_embd);
        CHOOSE(ffn_up, 2, s->n_embd);
#undef CHOOSE
    }
}

static const shape g_tinyllama = {2048, 22, 32, 4, 5632};
static const shape g_llama7b = {4096, 32, 32, 32, 11008};
static const shape g_stories15m = {288, 6, 6, 6, 768};

static void test_ftype_parses_llama_quantize_names(void **state) {
    (void)state;
    ifn_ftype f;
    assert_int_equal(ifn_ftype_parse("Q4_K_M", &f), IFN_OK);
    assert_int_equal(f, IFN_FTYPE_Q4_K_M);
    assert_int_equal(ifn_ftype_parse("q4_k", &f), IFN_OK); /* alias, any case */
    assert_int_equal(f, IFN_FTYPE_Q4_K_M);
    assert_int_equal(ifn_ftype_parse("Q3_K", &f), IFN_OK);
    assert_int_equal(f, IFN_FTYPE_Q3_K_M);
    assert_int_equal(ifn_ftype_parse("bf16", &f), IFN_OK);
    assert_int_equal(f, 32);
    assert_int_equal(ifn_ftype_parse("Q2_K_S", &f), IFN_E_INVALID);
    assert_non_null(strstr(ifn_last_error(), "Q4_K_M"));
    assert_string_equal(ifn_ftype_name(IFN_FTYPE_Q5_K_M), "Q5_K_M");
    assert_int_equal(ifn_ftype_base_type(IFN_FTYPE_Q5_K_M), IFN_DTYPE_Q5_K);
    assert_int_equal(ifn_ftype_base_type(IFN_FTYPE_Q8_0), IFN_DTYPE_Q8_0);
}

static void test_ftype_q4_k_m_gives_tinyllama_the_published_mixture(void **state) {
    (void)state;
    static chosen c;
    walk(&g_tinyllama, IFN_FTYPE_Q4_K_M, 0, &c);
    assert_int_equal(c.output, IFN_DTYPE_Q6_K);
    assert_int_equal(c.token_embd, IFN_DTYPE_Q4_K);
    assert_int_equal(c.output_norm, IFN_DTYPE_F32);
    const int more_bits[22] = {1, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 1, 1};
    for (int i = 0; i < 22; i++) {
        ifn_dtype want = more_bits[i] ? IFN_DTYPE_Q6_K : IFN_DTYPE_Q4_K;
        assert_int_equal(c.attn_v[i], want);
        assert_int_equal(c.ffn_down[i], want);
        assert_int_equal(c.attn_q[i], IFN_DTYPE_Q4_K);
        assert_int_equal(c.attn_k[i], IFN_DTYPE_Q4_K);
        assert_int_equal(c.attn_output[i], IFN_DTYPE_Q4_K);
        assert_int_equal(c.ffn_gate[i], IFN_DTYPE_Q4_K);
        assert_int_equal(c.ffn_up[i], IFN_DTYPE_Q4_K);
        assert_int_equal(c.attn_norm[i], IFN_DTYPE_F32);
        assert_int_equal(c.ffn_norm[i], IFN_DTYPE_F32);
    }
}

static void test_ftype_q4_k_m_on_llama7b_and_q5_k_m(void **state) {
    (void)state;
    static chosen c;
    walk(&g_llama7b, IFN_FTYPE_Q4_K_M, 0, &c);
    for (int i = 0; i < 32; i++) {
        int more = i < 4 || i >= 28 || (i - 4) % 3 == 2; /* 0-3, 6, 9, ..., 27, 28-31 */
        assert_int_equal(c.ffn_down[i], more ? IFN_DTYPE_Q6_K : IFN_DTYPE_Q4_K);
    }
    assert_int_equal(c.ffn_down[6], IFN_DTYPE_Q6_K);
    assert_int_equal(c.ffn_down[7], IFN_DTYPE_Q4_K);
    walk(&g_llama7b, IFN_FTYPE_Q5_K_M, 0, &c);
    assert_int_equal(c.attn_v[0], IFN_DTYPE_Q6_K);
    assert_int_equal(c.attn_v[4], IFN_DTYPE_Q5_K);
    assert_int_equal(c.ffn_down[27], IFN_DTYPE_Q6_K);
    assert_int_equal(c.attn_q[0], IFN_DTYPE_Q5_K);
    assert_int_equal(c.output, IFN_DTYPE_Q6_K);
}

static void test_ftype_legacy_types_keep_output_in_q6_k(void **state) {
    (void)state;
    static chosen c;
    walk(&g_tinyllama, IFN_FTYPE_Q4_0, 0, &c);
    assert_int_equal(c.output, IFN_DTYPE_Q6_K);
    assert_int_equal(c.token_embd, IFN_DTYPE_Q4_0);
    assert_int_equal(c.attn_v[0], IFN_DTYPE_Q4_0);
    assert_int_equal(c.ffn_down[0], IFN_DTYPE_Q4_0);
    walk(&g_tinyllama, IFN_FTYPE_Q8_0, 0, &c);
    assert_int_equal(c.output, IFN_DTYPE_Q8_0);
    /* dim 288 is not whole 256 blocks: output Q6_K falls back to Q8_0 */
    walk(&g_stories15m, IFN_FTYPE_Q4_0, 0, &c);
    assert_int_equal(c.output, IFN_DTYPE_Q8_0);
    assert_int_equal(c.attn_q[3], IFN_DTYPE_Q4_0);
    walk(&g_tinyllama, IFN_FTYPE_F16, 0, &c);
    assert_int_equal(c.output, IFN_DTYPE_F16);
    assert_int_equal(c.token_embd, IFN_DTYPE_F16);
    assert_int_equal(c.ffn_norm[0], IFN_DTYPE_F32);
}

static void test_ftype_k_quants_fall_back_on_short_rows(void **state) {
    (void)state;
    static chosen c;
    walk(&g_stories15m, IFN_FTYPE_Q4_K_M, 0, &c);
    assert_int_equal(c.output, IFN_DTYPE_Q8_0);
    assert_int_equal(c.token_embd, IFN_DTYPE_Q5_0); /* Q4_K -> Q5_0 */
    assert_int_equal(c.attn_v[2], IFN_DTYPE_Q8_0);  /* Q6_K -> Q8_0 (layers 2 and 5) */
    assert_int_equal(c.attn_v[5], IFN_DTYPE_Q8_0);
    assert_int_equal(c.attn_v[0], IFN_DTYPE_Q5_0);
    assert_int_equal(c.ffn_down[2], IFN_DTYPE_Q6_K); /* 768 = 3 blocks: no fallback */
    assert_int_equal(c.ffn_down[1], IFN_DTYPE_Q4_K);
    walk(&g_stories15m, IFN_FTYPE_Q5_K_S, 0, &c);
    assert_int_equal(c.attn_q[0], IFN_DTYPE_Q5_1); /* Q5_K -> Q5_1 */
    walk(&g_stories15m, IFN_FTYPE_IQ4_XS, 0, &c);
    assert_int_equal(c.attn_q[0], IFN_DTYPE_IQ4_NL);
    /* 48 is not even whole 32-element blocks: Q4_K -> Q5_0 -> F16; but llama-quantize
     * refuses Q4_0 rows, and output.weight (Q8_0 when not whole 256 blocks), of that size */
    ifn_ftype_mix mix;
    ifn_dtype type;
    ifn_ftype_mix_init(&mix, IFN_FTYPE_Q4_K_M, 2, 2, 2, 0);
    assert_int_equal(choose(&mix, "blk.0.attn_q.weight", 2, 48), IFN_DTYPE_F16);
    assert_int_equal(ifn_ftype_mix_choose(&mix, "output.weight", 2, 48, &type), IFN_E_UNSUPPORTED);
    ifn_ftype_mix_init(&mix, IFN_FTYPE_Q4_0, 2, 2, 2, 0);
    assert_int_equal(ifn_ftype_mix_choose(&mix, "blk.0.attn_q.weight", 2, 48, &type),
                     IFN_E_UNSUPPORTED);
    assert_non_null(strstr(ifn_last_error(), "blk.0.attn_q.weight"));
}

static void test_ftype_low_bit_mixtures(void **state) {
    (void)state;
    static chosen c;
    walk(&g_tinyllama, IFN_FTYPE_Q2_K, 0, &c);
    assert_int_equal(c.attn_v[5], IFN_DTYPE_Q4_K); /* 8 heads share a KV head */
    assert_int_equal(c.ffn_down[5], IFN_DTYPE_Q3_K);
    assert_int_equal(c.attn_output[5], IFN_DTYPE_Q3_K);
    assert_int_equal(c.attn_q[5], IFN_DTYPE_Q2_K);
    walk(&g_llama7b, IFN_FTYPE_Q2_K, 0, &c);
    assert_int_equal(c.attn_v[5], IFN_DTYPE_Q3_K);
    walk(&g_llama7b, IFN_FTYPE_Q3_K_M, 0, &c);
    assert_int_equal(c.attn_v[1], IFN_DTYPE_Q5_K);
    assert_int_equal(c.attn_v[2], IFN_DTYPE_Q4_K);
    assert_int_equal(c.ffn_down[1], IFN_DTYPE_Q5_K); /* i < 32/16 */
    assert_int_equal(c.ffn_down[2], IFN_DTYPE_Q4_K);
    assert_int_equal(c.attn_output[0], IFN_DTYPE_Q4_K);
    assert_int_equal(c.ffn_up[0], IFN_DTYPE_Q3_K);
    walk(&g_llama7b, IFN_FTYPE_Q4_K_S, 0, &c);
    assert_int_equal(c.attn_v[3], IFN_DTYPE_Q5_K);
    assert_int_equal(c.attn_v[4], IFN_DTYPE_Q4_K);
    assert_int_equal(c.ffn_down[3], IFN_DTYPE_Q5_K);
    assert_int_equal(c.ffn_down[4], IFN_DTYPE_Q4_K);
}

static void test_ftype_70b_attn_v_gets_q5_k(void **state) {
    (void)state;
    static chosen c;
    const shape llama70b = {8192, 80, 64, 8, 28672};
    walk(&llama70b, IFN_FTYPE_Q4_K_S, 0, &c);
    assert_int_equal(c.attn_v[40], IFN_DTYPE_Q5_K);
    assert_int_equal(c.attn_k[40], IFN_DTYPE_Q4_K);
}

static void test_ftype_pure_uses_the_base_type(void **state) {
    (void)state;
    static chosen c;
    walk(&g_tinyllama, IFN_FTYPE_Q4_K_M, 1, &c);
    assert_int_equal(c.output, IFN_DTYPE_Q4_K);
    assert_int_equal(c.attn_v[0], IFN_DTYPE_Q4_K);
    assert_int_equal(c.ffn_down[0], IFN_DTYPE_Q4_K);
    assert_int_equal(c.ffn_norm[0], IFN_DTYPE_F32);
    walk(&g_stories15m, IFN_FTYPE_Q6_K, 1, &c);
    assert_int_equal(c.attn_q[0], IFN_DTYPE_Q8_0); /* the fallback still applies */
    assert_int_equal(c.ffn_down[0], IFN_DTYPE_Q6_K);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ftype_parses_llama_quantize_names),
        cmocka_unit_test(test_ftype_q4_k_m_gives_tinyllama_the_published_mixture),
        cmocka_unit_test(test_ftype_q4_k_m_on_llama7b_and_q5_k_m),
        cmocka_unit_test(test_ftype_legacy_types_keep_output_in_q6_k),
        cmocka_unit_test(test_ftype_k_quants_fall_back_on_short_rows),
        cmocka_unit_test(test_ftype_low_bit_mixtures),
        cmocka_unit_test(test_ftype_70b_attn_v_gets_q5_k),
        cmocka_unit_test(test_ftype_pure_uses_the_base_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
