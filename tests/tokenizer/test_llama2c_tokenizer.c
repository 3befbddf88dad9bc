/* llama2.c tokenizer.bin tests: tok512.bin loads with the right texts and types, encodes prompts
 * as run.c does (BOS, dummy prefix only for non-empty text), agrees with the GGUF conversion of
 * the same vocabulary, decodes run.c's greedy ids to exactly the text run.c printed, and hostile
 * files (truncated, huge or negative lengths, NaN scores, absurd counts) give IFN_E_FORMAT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok_fixtures.h"
#include "tokenizer/llama2c_tokenizer.h"
#include "util/alloc.h"

#define STORIES "models/stories260K/"

static ifn_vocab *load_tok512(const char *rel) {
    char path[1024];
    if (!tok_shared_path(rel, path, sizeof path)) return NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fclose(f);
    ifn_vocab *v = NULL;
    ifn_status st = ifn_llama2c_tokenizer_load(path, 512, &v);
    if (st != IFN_OK) fprintf(stderr, "load %s: %s\n", rel, ifn_last_error());
    assert_int_equal(st, IFN_OK);
    return v;
}

static void expect_encode(const ifn_vocab *v, const char *text, const int32_t *want, size_t n) {
    ifn_token_vec got = {0};
    assert_int_equal(ifn_vocab_tokenize(v, text, strlen(text), IFN_TOKENIZE_ADD_SPECIAL, &got),
                     IFN_OK);
    if (!tok_ids_equal(got.ids, got.count, want, n)) {
        fprintf(stderr, "encode \"%s\"\n", text);
        tok_print_ids("want", want, n);
        tok_print_ids("got ", got.ids, got.count);
    }
    assert_true(tok_ids_equal(got.ids, got.count, want, n));
    ifn_token_vec_free(&got);
}

static void test_llama2c_tokenizer_loads_tok512(void **state) {
    (void)state;
    ifn_vocab *v = load_tok512(STORIES "tok512.bin");
    if (!v) skip();
    assert_int_equal(ifn_vocab_size(v), 512);
    assert_int_equal(ifn_vocab_get_kind(v), IFN_VOCAB_SPM);
    assert_int_equal(ifn_vocab_bos(v), 1);
    assert_int_equal(ifn_vocab_eos(v), 2);
    assert_int_equal(ifn_vocab_unk(v), 0);
    assert_true(ifn_vocab_adds_bos(v));
    assert_true(ifn_str_eq_cstr(ifn_vocab_token_text(v, 1), "<s>"));
    assert_true(ifn_str_eq_cstr(ifn_vocab_token_text(v, 2), "</s>"));
    assert_int_equal(ifn_vocab_token_type(v, 0), IFN_TOKEN_TYPE_UNKNOWN);
    assert_int_equal(ifn_vocab_token_type(v, 1), IFN_TOKEN_TYPE_CONTROL);
    assert_int_equal(ifn_vocab_token_type(v, 3), IFN_TOKEN_TYPE_BYTE);
    assert_int_equal(ifn_vocab_token_type(v, 258), IFN_TOKEN_TYPE_BYTE);
    assert_int_equal(ifn_vocab_token_type(v, 259), IFN_TOKEN_TYPE_NORMAL);
    assert_true(ifn_str_eq_cstr(ifn_vocab_token_text(v, 259), "\xe2\x96\x81t")); /* " t" */
    assert_int_equal(ifn_vocab_find(v, "\xe2\x96\x81the", 6), 265);
    assert_true(ifn_vocab_token_score(v, 260) == -1.0f);
    assert_true(ifn_vocab_is_eog(v, 2));
    assert_false(ifn_vocab_is_eog(v, 1));
    ifn_vocab_destroy(v);
}

static void test_llama2c_tokenizer_encodes_like_run_c(void **state) {
    (void)state;
    ifn_vocab *v = load_tok512(STORIES "tok512.bin");
    if (!v) skip();
    expect_encode(v, "Once upon a time", (const int32_t[]){1, 403, 407, 261, 378}, 5);
    expect_encode(v, "Lily went to", (const int32_t[]){1, 317, 263, 377, 267}, 5);
    expect_encode(v, "", (const int32_t[]){1}, 1); /* no dummy prefix for empty text */
    ifn_token_vec got = {0};
    assert_int_equal(ifn_vocab_tokenize(v, "", 0, 0, &got), IFN_OK);
    assert_int_equal(got.count, 0);
    ifn_token_vec_free(&got);
    ifn_vocab_destroy(v);
}

/* Same vocabulary, two containers: tok512.bin and the llama.cpp GGUF conversion. */
static void test_llama2c_tokenizer_agrees_with_gguf(void **state) {
    (void)state;
    char path[1024];
    ifn_vocab *bin = load_tok512(STORIES "tok512.bin"), *gguf = NULL;
    if (!bin || !tok_shared_path(STORIES "stories260Ktok512.gguf", path, sizeof path)) skip();
    assert_int_equal(tok_load_gguf_vocab(path, &gguf), IFN_OK);
    static const char *const texts[] = {
        "Once upon a time, there was a little girl named Lily.", "  two  spaces\nand\ttabs",
        "na\xc3\xafve caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\xa6\x99", "<s>", "1234567890"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        ifn_token_vec a = {0}, b = {0};
        size_t len = strlen(texts[i]);
        assert_int_equal(ifn_vocab_tokenize(bin, texts[i], len, IFN_TOKENIZE_ADD_SPECIAL, &a),
                         IFN_OK);
        assert_int_equal(ifn_vocab_tokenize(gguf, texts[i], len, IFN_TOKENIZE_ADD_SPECIAL, &b),
                         IFN_OK);
        assert_true(tok_ids_equal(a.ids, a.count, b.ids, b.count));
        ifn_token_vec_free(&a);
        ifn_token_vec_free(&b);
    }
    ifn_vocab_destroy(gguf);
    ifn_vocab_destroy(bin);
}

/* run.c prints every piece after BOS (the first without its leading space) plus a final "\n". */
static void check_greedy_text(const char *model_dir, const char *name) {
    char rel[512], ids_path[1024], txt_path[1024];
    snprintf(rel, sizeof rel, "%s/tok512.bin", model_dir);
    ifn_vocab *v = load_tok512(rel);
    snprintf(rel, sizeof rel, "%s/%s.ids.txt", model_dir, name);
    int have = v && tok_shared_path(rel, ids_path, sizeof ids_path);
    snprintf(rel, sizeof rel, "%s/%s.txt", model_dir, name);
    have = have && tok_shared_path(rel, txt_path, sizeof txt_path);
    char *ids_text = have ? read_whole_file(ids_path, NULL) : NULL;
    size_t want_len = 0;
    char *want = have ? read_whole_file(txt_path, &want_len) : NULL;
    if (!ids_text || !want) {
        ifn_vocab_destroy(v);
        free(ids_text);
        free(want);
        skip();
        return; /* cmocka's skip() is not declared noreturn */
    }
    int32_t ids[1024];
    size_t n = 0;
    for (char *p = ids_text; *p && n < 1024;) {
        char *end;
        long id = strtol(p, &end, 10);
        if (end == p) {
            p++;
            continue;
        }
        ids[n++] = (int32_t)id;
        p = end;
    }
    assert_true(n > 2 && ids[0] == 1);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(ifn_vocab_detokenize(v, ids, n, IFN_DETOKENIZE_STRIP_LEADING, &text, &len),
                     IFN_OK);
    assert_true(want_len > 0 && want[want_len - 1] == '\n');
    if (len != want_len - 1 || memcmp(text, want, len) != 0)
        fprintf(stderr, "%s/%s decoded:\n%s\n", model_dir, name, text);
    assert_int_equal(len, want_len - 1);
    assert_memory_equal(text, want, len);

    ifn_detok_stream s; /* the stream gives the same text piece by piece */
    ifn_detok_stream_init(&s, v, IFN_DETOKENIZE_STRIP_LEADING);
    char buf[300], *joined = malloc(len + 16);
    size_t at = 0, got;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ifn_detok_stream_push(&s, ids[i], buf, sizeof buf, &got), IFN_OK);
        assert_true(at + got <= len);
        memcpy(joined + at, buf, got);
        at += got;
    }
    at += ifn_detok_stream_flush(&s, joined + at, 16);
    assert_int_equal(at, len);
    assert_memory_equal(joined, text, len);
    free(joined);
    ifn_free(text);
    free(ids_text);
    free(want);
    ifn_vocab_destroy(v);
}

static void test_llama2c_tokenizer_decodes_run_c_output(void **state) {
    (void)state;
    check_greedy_text("models/stories260K", "greedy_once_upon_a_time");
    check_greedy_text("models/stories260K", "greedy_lily_went_to");
    check_greedy_text("models/stories260K", "greedy_empty");
    check_greedy_text("models/stories260K", "q8_greedy_lily_went_to");
    check_greedy_text("models/aidreams260K", "greedy_the_city");
    check_greedy_text("models/aidreams260K", "greedy_i_dreamed");
}

/* ---- hostile files ----------------------------------------------------------------------- */

typedef struct image {
    unsigned char bytes[256];
    size_t len;
} image;

static void put_i32(image *img, int32_t v) {
    memcpy(img->bytes + img->len, &v, 4);
    img->len += 4;
}

static void put_token(image *img, float score, const char *text) {
    memcpy(img->bytes + img->len, &score, 4);
    img->len += 4;
    put_i32(img, (int32_t)strlen(text));
    memcpy(img->bytes + img->len, text, strlen(text));
    img->len += strlen(text);
}

/* A valid 5-token file: <unk>, \n<s>\n, \n</s>\n, " a", "b". */
static image valid_image(void) {
    image img = {{0}, 0};
    put_i32(&img, 7);
    put_token(&img, 0.0f, "<unk>");
    put_token(&img, 0.0f, "\n<s>\n");
    put_token(&img, 0.0f, "\n</s>\n");
    put_token(&img, -1.0f, " a");
    put_token(&img, -2.0f, "b");
    return img;
}

static ifn_status load_image(const image *img, size_t len, int32_t expected) {
    ifn_vocab *v = NULL;
    ifn_status st = ifn_llama2c_tokenizer_load_memory(img->bytes, len, expected, &v);
    ifn_vocab_destroy(v);
    return st;
}

static void test_llama2c_tokenizer_rejects_hostile_files(void **state) {
    (void)state;
    image img = valid_image();
    assert_int_equal(load_image(&img, img.len, 5), IFN_OK);
    assert_int_equal(load_image(&img, img.len, 0), IFN_OK); /* count from the file size */
    assert_int_equal(load_image(&img, img.len, 4), IFN_OK); /* trailing bytes ignored */
    for (size_t cut = 0; cut < img.len; cut++)              /* every truncation */
        assert_int_equal(load_image(&img, cut, 5), IFN_E_FORMAT);
    for (size_t cut = 0; cut < img.len; cut++) { /* reading to EOF: fails or stops early */
        ifn_status st = load_image(&img, cut, 0);
        assert_true(st == IFN_E_FORMAT || st == IFN_OK);
    }
    assert_int_equal(load_image(&img, img.len, 6), IFN_E_FORMAT);
    assert_int_equal(load_image(&img, img.len, INT32_MAX), IFN_E_FORMAT); /* no huge alloc */
    assert_int_equal(load_image(&img, img.len, 2), IFN_E_FORMAT);         /* < 3 tokens */

    image bad = img; /* length of token 3 becomes huge, then negative */
    size_t len_at = 4 + (8 + 5) + (8 + 5) + (8 + 6) + 4;
    int32_t huge = INT32_MAX, negative = -5;
    memcpy(bad.bytes + len_at, &huge, 4);
    assert_int_equal(load_image(&bad, bad.len, 5), IFN_E_FORMAT);
    memcpy(bad.bytes + len_at, &negative, 4);
    assert_int_equal(load_image(&bad, bad.len, 5), IFN_E_FORMAT);
    bad = img;
    float nan_score = NAN;
    memcpy(bad.bytes + len_at - 4, &nan_score, 4);
    assert_int_equal(load_image(&bad, bad.len, 5), IFN_E_FORMAT);
    bad = img;
    memcpy(bad.bytes, &negative, 4); /* max_token_length */
    assert_int_equal(load_image(&bad, img.len, 5), IFN_E_FORMAT);

    ifn_vocab *v = NULL;
    assert_int_equal(ifn_llama2c_tokenizer_load("/nonexistent/tok.bin", 512, &v), IFN_E_IO);
    assert_null(v);
}

static void test_llama2c_tokenizer_survives_random_bytes(void **state) {
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int round = 0; round < 2000; round++) {
        image img = valid_image();
        for (int k = 0; k < 1 + round % 4; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            img.bytes[x % img.len] = (unsigned char)(x >> 32);
        }
        ifn_status st = load_image(&img, img.len, round % 2 ? 5 : 0);
        assert_true(st == IFN_OK || st == IFN_E_FORMAT);
    }
}

static void test_llama2c_tokenizer_cleans_up_on_alloc_failure(void **state) {
    (void)state;
    image img = valid_image();
    for (int64_t nth = 1; nth < 200; nth++) {
        size_t live = ifn_alloc_live_bytes();
        ifn_alloc_fail_after(nth);
        ifn_status st = load_image(&img, img.len, 5);
        ifn_alloc_fail_after(0);
        assert_true(st == IFN_OK || st == IFN_E_NOMEM);
        assert_int_equal(ifn_alloc_live_bytes(), live);
        if (st == IFN_OK) break;
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llama2c_tokenizer_loads_tok512),
        cmocka_unit_test(test_llama2c_tokenizer_encodes_like_run_c),
        cmocka_unit_test(test_llama2c_tokenizer_agrees_with_gguf),
        cmocka_unit_test(test_llama2c_tokenizer_decodes_run_c_output),
        cmocka_unit_test(test_llama2c_tokenizer_rejects_hostile_files),
        cmocka_unit_test(test_llama2c_tokenizer_survives_random_bytes),
        cmocka_unit_test(test_llama2c_tokenizer_cleans_up_on_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
