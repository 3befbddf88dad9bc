/* SentencePiece encoder tests on hand-made vocabularies: merges by highest score, leftmost on
 * ties, byte fallback and UNK fallback, invalid UTF-8, agreement with a naive O(n^2) reference
 * merge loop on random text, and linear-ish time on large inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tokenizer/spm.h"
#include "util/alloc.h"
#include "util/rng.h"

#define MARK "\xe2\x96\x81"

typedef struct piece {
    const char *text;
    float score;
} piece;

/* <unk> <s> </s>, optionally <0x00>..<0xFF>, then `pieces` (ids from 3 or 259). */
static ifn_vocab *make_vocab(const piece *pieces, size_t n, int with_bytes) {
    size_t total = 3 + (with_bytes ? 256 : 0) + n, k = 0;
    ifn_str *texts = calloc(total, sizeof *texts);
    float *scores = calloc(total, sizeof *scores);
    int32_t *types = calloc(total, sizeof *types);
    char(*names)[8] = calloc(256, sizeof *names);
    const char *fixed[] = {"<unk>", "<s>", "</s>"};
    for (; k < 3; k++) {
        texts[k] = ifn_str_from_cstr(fixed[k]);
        types[k] = k == 0 ? IFN_TOKEN_TYPE_UNKNOWN : IFN_TOKEN_TYPE_CONTROL;
    }
    for (int b = 0; with_bytes && b < 256; b++, k++) {
        snprintf(names[b], sizeof names[b], "<0x%02X>", b);
        texts[k] = ifn_str_from_cstr(names[b]);
        types[k] = IFN_TOKEN_TYPE_BYTE;
    }
    for (size_t i = 0; i < n; i++, k++) {
        texts[k] = ifn_str_from_cstr(pieces[i].text);
        scores[k] = pieces[i].score;
        types[k] = IFN_TOKEN_TYPE_NORMAL;
    }
    ifn_vocab_params p;
    ifn_vocab_params_init(&p);
    p.kind = IFN_VOCAB_SPM;
    p.n_tokens = (int32_t)total;
    p.tokens = texts;
    p.scores = scores;
    p.token_types = types;
    p.unk_id = 0;
    p.bos_id = 1;
    p.eos_id = 2;
    ifn_vocab *v = NULL;
    assert_int_equal(ifn_vocab_create(&p, &v), IFN_OK);
    free(names);
    free(types);
    free(scores);
    free(texts);
    return v;
}

static void expect_pieces(const ifn_vocab *v, const char *text, size_t len, const char *const *want,
                          size_t n) {
    ifn_token_vec got = {0};
    assert_int_equal(ifn_spm_encode(v, text, len, &got), IFN_OK);
    int same = got.count == n;
    for (size_t i = 0; same && i < n; i++)
        same = ifn_str_eq_cstr(ifn_vocab_token_text(v, got.ids[i]), want[i]);
    if (!same) {
        fprintf(stderr, "encode \"%.*s\" gave", (int)len, text);
        for (size_t i = 0; i < got.count; i++) {
            ifn_str t = ifn_vocab_token_text(v, got.ids[i]);
            fprintf(stderr, " [%.*s]", (int)t.len, t.ptr);
        }
        fprintf(stderr, "\n");
    }
    assert_true(same);
    ifn_token_vec_free(&got);
}

#define EXPECT(v, text, ...)                                                                       \
    do {                                                                                           \
        static const char *const want_[] = {__VA_ARGS__};                                          \
        expect_pieces(v, text, strlen(text), want_, sizeof want_ / sizeof want_[0]);               \
    } while (0)

static void test_spm_merges_highest_score_first(void **state) {
    (void)state;
    static const piece with_abc[] = {{"a", -5},  {"b", -5},     {"c", -5},
                                     {"ab", -1}, {"bc", -0.5f}, {"abc", -2}};
    ifn_vocab *v = make_vocab(with_abc, 6, 1);
    EXPECT(v, "abc", "abc"); /* bc first, then a+bc */
    EXPECT(v, "ab", "ab");
    EXPECT(v, "cab", "c", "ab");
    ifn_vocab_destroy(v);
    static const piece without_abc[] = {{"a", -5}, {"b", -5}, {"c", -5}, {"ab", -1}, {"bc", -0.5f}};
    v = make_vocab(without_abc, 5, 1);
    EXPECT(v, "abc", "a", "bc"); /* bc wins over ab, and "a"+"bc" is no token */
    ifn_vocab_destroy(v);
}

static void test_spm_breaks_ties_leftmost(void **state) {
    (void)state;
    static const piece pieces[] = {{"a", -5}, {"aa", 0}};
    ifn_vocab *v = make_vocab(pieces, 2, 1);
    EXPECT(v, "aaa", "aa", "a");
    EXPECT(v, "aaaaa", "aa", "aa", "a");
    ifn_vocab_destroy(v);
}

static void test_spm_falls_back_to_bytes(void **state) {
    (void)state;
    static const piece pieces[] = {{MARK, -1}, {"h", -2}, {MARK "h", -0.5f}};
    ifn_vocab *v = make_vocab(pieces, 3, 1);
    EXPECT(v, MARK "h\xc3\xa9", MARK "h", "<0xC3>", "<0xA9>");
    EXPECT(v, "\xf0\x9f\xa6\x99", "<0xF0>", "<0x9F>", "<0xA6>", "<0x99>");
    EXPECT(v, "\xff", "<0xFF>");
    /* an invalid lead byte stays one byte: the following characters keep their own tokens */
    EXPECT(v, "\xe2h" MARK, "<0xE2>", "h", MARK);
    EXPECT(v, "h\xe2\x96", "h", "<0xE2>", "<0x96>");
    ifn_vocab_destroy(v);
}

static void test_spm_uses_unk_without_byte_tokens(void **state) {
    (void)state;
    static const piece pieces[] = {{"h", -1}, {"i", -1}, {"hi", 0}};
    ifn_vocab *v = make_vocab(pieces, 3, 0);
    EXPECT(v, "hi\xc3\xa9", "hi", "<unk>", "<unk>");
    ifn_token_vec got = {0};
    assert_int_equal(ifn_spm_encode(v, "", 0, &got), IFN_OK);
    assert_int_equal(got.count, 0);
    ifn_token_vec_free(&got);
    ifn_vocab_destroy(v);
}

/* ---- reference: repeatedly merge the best adjacent pair, O(n^2) -------------------------- */

static void reference_encode(const ifn_vocab *v, const char *text, size_t len, ifn_token_vec *out) {
    size_t *start = malloc((len + 1) * sizeof *start), n = 0;
    for (size_t i = 0; i < len; i++)
        start[n++] = i; /* ASCII-only inputs: one byte per char */
    start[n] = len;
    for (;;) {
        size_t best = SIZE_MAX;
        float best_score = 0;
        for (size_t i = 0; i + 1 < n; i++) {
            int32_t id = ifn_vocab_find(v, text + start[i], start[i + 2] - start[i]);
            if (id < 0) continue;
            float s = ifn_vocab_token_score(v, id);
            if (best == SIZE_MAX || s > best_score) best = i, best_score = s;
        }
        if (best == SIZE_MAX) break;
        memmove(start + best + 1, start + best + 2, (n - best - 1) * sizeof *start);
        n--;
    }
    for (size_t i = 0; i < n; i++) {
        int32_t id = ifn_vocab_find(v, text + start[i], start[i + 1] - start[i]);
        if (id < 0) id = 3 + (unsigned char)text[start[i]]; /* single unknown byte */
        ifn_token_vec_push(out, id);
    }
    free(start);
}

static void test_spm_matches_naive_reference(void **state) {
    (void)state;
    ifn_rng rng;
    ifn_rng_seed(&rng, 42);
    static const char alphabet[] = "abcdz"; /* 'z' is in no longer piece: chunks split there */
    char texts[200][8];
    piece pieces[200];
    size_t n = 0;
    for (int i = 0; i < 5; i++) { /* single letters, then random 2..5-letter pieces */
        texts[n][0] = alphabet[i];
        texts[n][1] = '\0';
        pieces[n] = (piece){texts[n], -10};
        n++;
    }
    while (n < 120) {
        size_t k = 2 + ifn_rng_next_u64(&rng) % 4;
        for (size_t j = 0; j < k; j++)
            texts[n][j] = alphabet[ifn_rng_next_u64(&rng) % 4];
        texts[n][k] = '\0';
        int dup = 0;
        for (size_t j = 0; j < n; j++)
            dup |= strcmp(texts[j], texts[n]) == 0;
        if (dup) continue;
        pieces[n] = (piece){texts[n], (float)(ifn_rng_next_u64(&rng) % 7)}; /* many ties */
        n++;
    }
    ifn_vocab *v = make_vocab(pieces, n, 1);
    char text[300];
    for (int round = 0; round < 2000; round++) {
        size_t len = ifn_rng_next_u64(&rng) % sizeof text;
        for (size_t i = 0; i < len; i++)
            text[i] = alphabet[ifn_rng_next_u64(&rng) % 5];
        ifn_token_vec got = {0}, want = {0};
        assert_int_equal(ifn_spm_encode(v, text, len, &got), IFN_OK);
        reference_encode(v, text, len, &want);
        assert_int_equal(got.count, want.count);
        assert_memory_equal(got.ids, want.ids, got.count * sizeof *got.ids);
        ifn_token_vec_free(&got);
        ifn_token_vec_free(&want);
    }
    ifn_vocab_destroy(v);
}

/* ---- scale ------------------------------------------------------------------------------- */

static double seconds_to_encode(const ifn_vocab *v, const char *text, size_t len, size_t *n_ids) {
    struct timespec t0, t1;
    ifn_token_vec got = {0};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    assert_int_equal(ifn_spm_encode(v, text, len, &got), IFN_OK);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    *n_ids = got.count;
    ifn_token_vec_free(&got);
    return (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
}

static void test_spm_scales_linearly(void **state) {
    (void)state;
    static const piece pieces[] = {{"a", -5},   {"b", -5},    {"ab", -1},        {"aa", -2},
                                   {"abab", 0}, {"aaaa", -3}, {MARK "ab", -0.5f}};
    ifn_vocab *v = make_vocab(pieces, 7, 1);
    size_t big = 1u << 20, small = big / 8, n_small, n_big;
    char *text = malloc(big);
    ifn_rng rng;
    ifn_rng_seed(&rng, 7);
    for (size_t i = 0; i < big; i++)
        text[i] = "aab\xff"[ifn_rng_next_u64(&rng) % 4];
    double t_small = seconds_to_encode(v, text, small, &n_small);
    double t_big = seconds_to_encode(v, text, big, &n_big);
    fprintf(stderr, "spm: %zu bytes in %.3f s, %zu bytes in %.3f s\n", small, t_small, big, t_big);
    assert_true(n_big > n_small && n_small > 0);
    assert_true(t_big < 24 * t_small + 0.05); /* 8x the input; quadratic would be 64x */
    memset(text, 'a', big);                   /* one run: every pair merges, deep heap */
    t_big = seconds_to_encode(v, text, big, &n_big);
    assert_int_equal(n_big, big / 4);
    assert_true(t_big < 30.0);
    free(text);
    ifn_vocab_destroy(v);
}

static void test_spm_cleans_up_on_alloc_failure(void **state) {
    (void)state;
    static const piece pieces[] = {{"a", -5}, {"b", -5}, {"ab", -1}};
    ifn_vocab *v = make_vocab(pieces, 3, 1);
    for (int64_t nth = 1; nth < 50; nth++) {
        ifn_token_vec got = {0};
        size_t live = ifn_alloc_live_bytes();
        ifn_alloc_fail_after(nth);
        ifn_status st = ifn_spm_encode(v, "abababab\xc3", 9, &got);
        ifn_alloc_fail_after(0);
        assert_true(st == IFN_OK || st == IFN_E_NOMEM);
        ifn_token_vec_free(&got);
        assert_int_equal(ifn_alloc_live_bytes(), live);
    }
    ifn_vocab_destroy(v);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spm_merges_highest_score_first),
        cmocka_unit_test(test_spm_breaks_ties_leftmost),
        cmocka_unit_test(test_spm_falls_back_to_bytes),
        cmocka_unit_test(test_spm_uses_unk_without_byte_tokens),
        cmocka_unit_test(test_spm_matches_naive_reference),
        cmocka_unit_test(test_spm_scales_linearly),
        cmocka_unit_test(test_spm_cleans_up_on_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
