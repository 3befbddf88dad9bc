/* GGUF vocabulary loading tests on in-memory images: llama.cpp's defaults, out-of-range special
 * ids falling back to the default, add_* flags, and errors that name the offending key for
 * missing or unsupported tokenizers and for wrongly typed or short arrays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "engine/vocab_gguf.h"
#include "support/gguf_builder.h"
#include "util/alloc.h"

static const char *const g_tokens[] = {"<unk>",
                                       "<s>",
                                       "</s>",
                                       "\xe2\x96\x81"
                                       "a",
                                       "a",
                                       "b"};
#define N_TOKENS 6

/* What the image holds; a NULL/negative field leaves the key out. */
typedef struct spec {
    const char *model;
    uint32_t tokens_type; /* element type of tokenizer.ggml.tokens */
    int scores_count;     /* -1: no scores */
    uint32_t types_type;  /* element type of token_type, or GB_ARRAY for none */
    int64_t bos;          /* -1: absent */
    int bos_as_string;
    int add_bos;          /* -1: absent */
    int add_space_prefix; /* -1: absent */
} spec;

static spec default_spec(void) {
    spec s = {"llama", GB_STRING, N_TOKENS, GB_INT32, -1, 0, -1, -1};
    return s;
}

static void put_tokens(gguf_builder *b, const spec *s) {
    gb_kv(b, "tokenizer.ggml.tokens", GB_ARRAY);
    gb_array(b, s->tokens_type, N_TOKENS);
    for (int i = 0; i < N_TOKENS; i++) {
        if (s->tokens_type == GB_STRING)
            gb_str(b, g_tokens[i]);
        else
            gb_u32(b, (uint32_t)i);
    }
}

static uint64_t put_optional(gguf_builder *b, const spec *s) {
    uint64_t n = 0;
    if (s->scores_count >= 0) {
        gb_kv(b, "tokenizer.ggml.scores", GB_ARRAY);
        gb_array(b, GB_FLOAT32, (uint64_t)s->scores_count);
        for (int i = 0; i < s->scores_count; i++)
            gb_f32(b, (float)-i);
        n++;
    }
    if (s->types_type != GB_ARRAY) {
        static const uint32_t types[N_TOKENS] = {2, 3, 3, 1, 1, 1};
        gb_kv(b, "tokenizer.ggml.token_type", GB_ARRAY);
        gb_array(b, s->types_type, N_TOKENS);
        for (int i = 0; i < N_TOKENS; i++) {
            if (s->types_type == GB_STRING)
                gb_str(b, "x");
            else
                gb_u32(b, types[i]);
        }
        n++;
    }
    if (s->bos >= 0 || s->bos_as_string) {
        if (s->bos_as_string)
            gb_kv_str(b, "tokenizer.ggml.bos_token_id", "1");
        else
            gb_kv_u32(b, "tokenizer.ggml.bos_token_id", (uint32_t)s->bos);
        n++;
    }
    const struct {
        const char *key;
        int value;
    } flags[] = {{"tokenizer.ggml.add_bos_token", s->add_bos},
                 {"tokenizer.ggml.add_space_prefix", s->add_space_prefix}};
    for (size_t i = 0; i < 2; i++) {
        if (flags[i].value < 0) continue;
        gb_kv(b, flags[i].key, GB_BOOL);
        gb_u8(b, (uint8_t)flags[i].value);
        n++;
    }
    return n;
}

/* Builds the image, loads it, and returns the status (the vocab in *out when asked). */
static ifn_status load_spec(const spec *s, ifn_vocab **out) {
    gguf_builder b;
    gb_init(&b);
    gb_header(&b, 3, 0, 0);
    uint64_t n_kv = 1;
    put_tokens(&b, s);
    if (s->model) {
        gb_kv_str(&b, "tokenizer.ggml.model", s->model);
        n_kv++;
    }
    n_kv += put_optional(&b, s);
    gb_set_counts(&b, 0, n_kv);
    ifn_gguf *g = NULL;
    ifn_status st = ifn_gguf_open_memory(b.data, b.len, &g);
    assert_int_equal(st, IFN_OK);
    ifn_vocab *v = NULL;
    st = ifn_vocab_gguf_load(g, &v);
    ifn_gguf_close(g);
    gb_free(&b);
    if (out)
        *out = v;
    else
        ifn_vocab_destroy(v);
    return st;
}

static void expect_error(const spec *s, ifn_status want, const char *in_message) {
    ifn_status st = load_spec(s, NULL);
    if (st != want || !strstr(ifn_last_error(), in_message))
        fprintf(stderr, "got %s: %s\n", ifn_status_str(st), ifn_last_error());
    assert_int_equal(st, want);
    assert_non_null(strstr(ifn_last_error(), in_message));
}

static void test_vocab_gguf_loads_llama_with_defaults(void **state) {
    (void)state;
    spec s = default_spec();
    ifn_vocab *v = NULL;
    assert_int_equal(load_spec(&s, &v), IFN_OK);
    assert_int_equal(ifn_vocab_get_kind(v), IFN_VOCAB_SPM);
    assert_int_equal(ifn_vocab_size(v), N_TOKENS);
    assert_int_equal(ifn_vocab_bos(v), 1);
    assert_int_equal(ifn_vocab_eos(v), 2);
    assert_int_equal(ifn_vocab_unk(v), 0);
    assert_true(ifn_vocab_adds_bos(v));
    assert_true(ifn_vocab_adds_space_prefix(v));
    assert_true(ifn_vocab_token_score(v, 4) == -4.0f);
    assert_int_equal(ifn_vocab_token_type(v, 1), IFN_TOKEN_TYPE_CONTROL);
    ifn_token_vec ids = {0};
    assert_int_equal(ifn_vocab_tokenize(v, "a", 1, IFN_TOKENIZE_ADD_SPECIAL, &ids), IFN_OK);
    assert_int_equal(ids.count, 2);
    assert_int_equal(ids.ids[0], 1);
    assert_int_equal(ids.ids[1], 3);
    ifn_token_vec_free(&ids);
    ifn_vocab_destroy(v);
}

static void test_vocab_gguf_reads_flags_and_ids(void **state) {
    (void)state;
    spec s = default_spec();
    s.bos = 5;
    s.add_bos = 0;
    s.add_space_prefix = 0;
    s.scores_count = -1;
    s.types_type = GB_ARRAY;
    ifn_vocab *v = NULL;
    assert_int_equal(load_spec(&s, &v), IFN_OK);
    assert_int_equal(ifn_vocab_bos(v), 5);
    assert_false(ifn_vocab_adds_bos(v));
    assert_false(ifn_vocab_adds_space_prefix(v));
    assert_int_equal(ifn_vocab_token_type(v, 4), IFN_TOKEN_TYPE_NORMAL);
    ifn_vocab_destroy(v);
    s = default_spec();
    s.bos = 4000; /* out of range: llama.cpp keeps the default */
    assert_int_equal(load_spec(&s, &v), IFN_OK);
    assert_int_equal(ifn_vocab_bos(v), 1);
    ifn_vocab_destroy(v);
}

static void test_vocab_gguf_refuses_missing_or_other_tokenizers(void **state) {
    (void)state;
    spec s = default_spec();
    s.model = NULL;
    expect_error(&s, IFN_E_UNSUPPORTED, "no tokenizer");
    s.model = "none";
    expect_error(&s, IFN_E_UNSUPPORTED, "no tokenizer");
    s.model = "t5";
    expect_error(&s, IFN_E_UNSUPPORTED, "\"t5\"");
    s.model = "rwkv";
    expect_error(&s, IFN_E_UNSUPPORTED, "\"rwkv\"");
    s.model = "gpt2"; /* a BPE vocab needs merges */
    expect_error(&s, IFN_E_FORMAT, "tokenizer.ggml.merges");
}

static void test_vocab_gguf_names_the_bad_key(void **state) {
    (void)state;
    spec s = default_spec();
    s.tokens_type = GB_UINT32;
    expect_error(&s, IFN_E_FORMAT, "tokenizer.ggml.tokens");
    s = default_spec();
    s.scores_count = N_TOKENS - 1;
    expect_error(&s, IFN_E_FORMAT, "tokenizer.ggml.scores");
    s = default_spec();
    s.types_type = GB_STRING;
    expect_error(&s, IFN_E_FORMAT, "tokenizer.ggml.token_type");
    s = default_spec();
    s.bos_as_string = 1;
    expect_error(&s, IFN_E_FORMAT, "tokenizer.ggml.bos_token_id");
}

static void test_vocab_gguf_cleans_up_on_alloc_failure(void **state) {
    (void)state;
    spec s = default_spec();
    for (int64_t nth = 1; nth < 300; nth++) {
        gguf_builder b; /* built outside the failure window */
        gb_init(&b);
        gb_header(&b, 3, 0, 0);
        put_tokens(&b, &s);
        gb_kv_str(&b, "tokenizer.ggml.model", s.model);
        gb_set_counts(&b, 0, 2 + put_optional(&b, &s));
        ifn_gguf *g = NULL;
        assert_int_equal(ifn_gguf_open_memory(b.data, b.len, &g), IFN_OK);
        size_t live = ifn_alloc_live_bytes();
        ifn_vocab *v = NULL;
        ifn_alloc_fail_after(nth);
        ifn_status st = ifn_vocab_gguf_load(g, &v);
        ifn_alloc_fail_after(0);
        assert_true(st == IFN_OK || st == IFN_E_NOMEM);
        ifn_vocab_destroy(v);
        assert_int_equal(ifn_alloc_live_bytes(), live);
        ifn_gguf_close(g);
        gb_free(&b);
        if (st == IFN_OK) return;
    }
    fail_msg("never succeeded");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vocab_gguf_loads_llama_with_defaults),
        cmocka_unit_test(test_vocab_gguf_reads_flags_and_ids),
        cmocka_unit_test(test_vocab_gguf_refuses_missing_or_other_tokenizers),
        cmocka_unit_test(test_vocab_gguf_names_the_bad_key),
        cmocka_unit_test(test_vocab_gguf_cleans_up_on_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
