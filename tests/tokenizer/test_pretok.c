/* Pre-tokenizer tests: every table name compiles, unknown names are refused, known strings split
 * as the regex definitions say (gpt-2, llama3, qwen2, starcoder, deepseek-coder/llm/v3, gpt-4o,
 * superbpe...), invalid UTF-8 is isolated, pieces always tile the input, and 1 MB splits fast. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tokenizer/pretok.h"
#include "util/alloc.h"
#include "util/rng.h"

/* Splits `text` with pre-tokenizer `name` and checks the pieces against want[0..n). */
static void expect_split(const char *name, const char *text, const char *const *want, size_t n) {
    ifn_pretok *pt = NULL;
    assert_int_equal(ifn_pretok_create(name, &pt), IFN_OK);
    ifn_pretok_pieces pieces = {0};
    assert_int_equal(ifn_pretok_split(pt, text, strlen(text), &pieces), IFN_OK);
    int same = pieces.count == n;
    for (size_t i = 0; same && i < n; i++) {
        same = pieces.items[i].len == strlen(want[i]) &&
               memcmp(text + pieces.items[i].offset, want[i], strlen(want[i])) == 0;
    }
    if (!same) {
        fprintf(stderr, "%s split of \"%s\" gave %zu pieces:", name, text, pieces.count);
        for (size_t i = 0; i < pieces.count; i++) {
            fprintf(stderr, " [%.*s]", (int)pieces.items[i].len, text + pieces.items[i].offset);
        }
        fprintf(stderr, "\n");
    }
    assert_true(same);
    ifn_pretok_pieces_free(&pieces);
    ifn_pretok_destroy(pt);
}

#define EXPECT_SPLIT(name, text, ...)                                                              \
    do {                                                                                           \
        static const char *const want_[] = {__VA_ARGS__};                                          \
        expect_split(name, text, want_, sizeof want_ / sizeof want_[0]);                           \
    } while (0)

/* Checks that pieces are non-empty, in order, and cover text[0..len) exactly. */
static void assert_tiles(const ifn_pretok_pieces *pieces, size_t len) {
    size_t pos = 0;
    for (size_t i = 0; i < pieces->count; i++) {
        assert_int_equal(pieces->items[i].offset, pos);
        assert_true(pieces->items[i].len > 0);
        pos += pieces->items[i].len;
    }
    assert_int_equal(pos, len);
}

static void test_pretok_every_table_name_compiles(void **state) {
    (void)state;
    assert_true(ifn_pretok_name_count() > 80);
    for (int i = 0; i < ifn_pretok_name_count(); i++) {
        ifn_pretok *pt = NULL;
        ifn_status st = ifn_pretok_create(ifn_pretok_name_at(i), &pt);
        if (st != IFN_OK) fprintf(stderr, "%s: %s\n", ifn_pretok_name_at(i), ifn_last_error());
        assert_int_equal(st, IFN_OK);
        assert_true(ifn_pretok_regex_count(pt) >= 1);
        ifn_pretok_destroy(pt);
    }
    assert_null(ifn_pretok_name_at(ifn_pretok_name_count()));
}

static void test_pretok_unknown_name_is_unsupported_and_named(void **state) {
    (void)state;
    ifn_pretok *pt = NULL;
    ifn_pretok_info info;
    assert_int_equal(ifn_pretok_create("no-such-pre", &pt), IFN_E_UNSUPPORTED);
    assert_null(pt);
    assert_non_null(strstr(ifn_last_error(), "no-such-pre"));
    assert_int_equal(ifn_pretok_lookup("bert-bge", &info), IFN_E_UNSUPPORTED);
    assert_non_null(strstr(ifn_last_error(), "bert-bge"));
}

static void test_pretok_null_and_empty_mean_default(void **state) {
    (void)state;
    ifn_pretok_info info;
    assert_int_equal(ifn_pretok_lookup(NULL, &info), IFN_OK);
    assert_string_equal(info.name, "default");
    assert_int_equal(ifn_pretok_lookup("", &info), IFN_OK);
    assert_string_equal(info.name, "default");
    assert_int_equal(info.byte_encode, 1);
    assert_int_equal(info.clean_spaces, 1);
}

static void test_pretok_family_switches_follow_llama_cpp(void **state) {
    (void)state;
    ifn_pretok_info info;
    assert_int_equal(ifn_pretok_lookup("llama-bpe", &info), IFN_OK);
    assert_int_equal(info.ignore_merges, 1);
    assert_int_equal(info.add_bos, 1);
    assert_int_equal(ifn_pretok_lookup("qwen2", &info), IFN_OK);
    assert_int_equal(info.ignore_merges, 0);
    assert_int_equal(info.clean_spaces, 0);
    assert_int_equal(ifn_pretok_lookup("gpt-2", &info), IFN_OK);
    assert_int_equal(info.clean_spaces, 1);
    assert_int_equal(info.add_bos, -1);
    assert_int_equal(ifn_pretok_lookup("gemma4", &info), IFN_OK);
    assert_int_equal(info.byte_encode, 0);
    assert_int_equal(info.escape_whitespaces, 1);
    assert_int_equal(ifn_pretok_lookup("roberta-bpe", &info), IFN_OK);
    assert_int_equal(info.add_sep, 1);
}

static void test_pretok_gpt2_splits(void **state) {
    (void)state;
    EXPECT_SPLIT("gpt-2", "Hello world's  test\n\n 123abc !!  x", "Hello", " world", "'s", " ",
                 " test", "\n\n", " 123", "abc", " !!", " ", " x");
    EXPECT_SPLIT("gpt-2", "I'M  don't\t\n\n  1234567 ,,\n\nfoo  ", "I", "'", "M", " ", " don", "'t",
                 "\t\n\n ", " 1234567", " ,,", "\n", "\n", "foo", "  ");
    EXPECT_SPLIT("gpt-2",
                 "caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87"
                 "abc 12",
                 "caf\xc3\xa9",
                 " \xe4\xb8\xad\xe6\x96\x87"
                 "abc",
                 " 12");
}

static void test_pretok_llama3_splits(void **state) {
    (void)state;
    EXPECT_SPLIT("llama3", "Hello world's  test\n\n 123abc !!  x", "Hello", " world", "'s", " ",
                 " test", "\n\n", " ", "123", "abc", " !!", " ", " x");
    EXPECT_SPLIT("llama-bpe", "I'M  don't\t\n\n  1234567 ,,\n\nfoo  ", "I", "'M", " ", " don", "'t",
                 "\t\n\n", " ", " ", "123", "456", "7", " ,,\n\n", "foo", "  ");
}

static void test_pretok_qwen2_splits_digits_one_by_one(void **state) {
    (void)state;
    EXPECT_SPLIT("qwen2", "I'M  don't\t\n\n  1234567 ,,\n\nfoo  ", "I", "'M", " ", " don", "'t",
                 "\t\n\n", " ", " ", "1", "2", "3", "4", "5", "6", "7", " ,,\n\n", "foo", "  ");
}

static void test_pretok_starcoder_isolates_digits_first(void **state) {
    (void)state;
    EXPECT_SPLIT("starcoder", "Hello world's  test\n\n 123abc !!  x", "Hello", " world", "'s", " ",
                 " test", "\n\n ", "1", "2", "3", "abc", " !!", " ", " x");
}

static void test_pretok_deepseek_coder_splits(void **state) {
    (void)state;
    EXPECT_SPLIT("deepseek-coder", "I'M  don't\t\n\n  1234567 ,,\n\nfoo  ", "I", "'", "M", " ",
                 " don", "'", "t", "\t", "\n", "\n", "  ", "1", "2", "3", "4", "5", "6", "7", " ,,",
                 "\n", "\n", "foo", "  ");
    /* the CJK range regex cuts ideographs out of letter runs */
    EXPECT_SPLIT("deepseek-coder",
                 "caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87"
                 "abc 12",
                 "caf\xc3\xa9", " ", "\xe4\xb8\xad\xe6\x96\x87", "abc", " ", "1", "2");
}

static void test_pretok_deepseek_llm_and_v3_splits(void **state) {
    (void)state;
    /* \s?[cased letters]+, then \s?[punctuation]+, then trailing \s+$, then \p{N}+ */
    EXPECT_SPLIT("deepseek-llm", "Hi there, 42 apples!\n  ", "Hi", " there", ",", " ", "42",
                 " apples", "!", "\n", "  ");
    /* \p{N}{1,3} first; then "[punct][A-Za-z]+" and "[^\r\n L P S]?[L M]+" */
    EXPECT_SPLIT("deepseek-v3", "x=1234.5 .net\n", "x", "=", "123", "4", ".", "5", " .", "net",
                 "\n");
}

static void test_pretok_gpt4o_splits_camel_case(void **state) {
    (void)state;
    EXPECT_SPLIT("gpt-4o", "HelloWorld HTTPServer it's 12345", "Hello", "World", " HTTPServer",
                 " it's", " ", "123", "45");
}

static void test_pretok_superbpe_groups_digits_from_the_right(void **state) {
    (void)state;
    EXPECT_SPLIT("superbpe", "a1234567b12", "a", "1", "234", "567", "b", "12");
}

static void test_pretok_unicode_whitespace_includes_next_line(void **state) {
    (void)state;
    /* U+0085 is White_Space: "\s+(?!\S)" takes the first, "\s" leftovers stand alone */
    EXPECT_SPLIT("gpt-2",
                 "a\xc2\x85\xc2\x85"
                 "b",
                 "a", "\xc2\x85", "\xc2\x85", "b");
    /* U+3000 ideographic space likewise */
    EXPECT_SPLIT("llama3",
                 "a\xe3\x80\x80\xe3\x80\x80"
                 "b",
                 "a", "\xe3\x80\x80",
                 "\xe3\x80\x80"
                 "b");
}

static void test_pretok_invalid_utf8_bytes_stand_alone(void **state) {
    (void)state;
    EXPECT_SPLIT("gpt-2",
                 "ab\xff"
                 "cd \x80\x80 e\xc3",
                 "ab", "\xff", "cd", " ", "\x80", "\x80", " e", "\xc3");
    EXPECT_SPLIT("llama3", "\xed\xa0\x80x", "\xed", "\xa0", "\x80", "x"); /* a surrogate */
}

static void test_pretok_random_bytes_always_tile(void **state) {
    (void)state;
    ifn_rng rng;
    ifn_rng_seed(&rng, 1234);
    const char *names[] = {"gpt-2",        "llama3",      "qwen2",      "deepseek-coder",
                           "deepseek-llm", "deepseek-v3", "gpt-4o",     "kimi-k2",
                           "chameleon",    "tekken",      "superbpe",   "default",
                           "bloom",        "afmoe",       "exaone-moe", "jais-2"};
    char buf[2048];
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        ifn_pretok *pt = NULL;
        assert_int_equal(ifn_pretok_create(names[k], &pt), IFN_OK);
        for (int round = 0; round < 40; round++) {
            size_t len = (uint32_t)ifn_rng_next_u64(&rng) % sizeof buf;
            for (size_t i = 0; i < len; i++) {
                uint32_t r = (uint32_t)ifn_rng_next_u64(&rng);
                /* mostly ASCII, some high bytes so UTF-8 forms valid and invalid sequences */
                buf[i] = (char)((r & 3) ? 0x20 + (r >> 8) % 0x60 : (r >> 8) & 0xff);
            }
            ifn_pretok_pieces pieces = {0};
            assert_int_equal(ifn_pretok_split(pt, buf, len, &pieces), IFN_OK);
            assert_tiles(&pieces, len);
            ifn_pretok_pieces_free(&pieces);
        }
        ifn_pretok_destroy(pt);
    }
}

static void test_pretok_one_megabyte_splits_quickly(void **state) {
    (void)state;
    size_t len = 1 << 20;
    char *text = ifn_malloc(len);
    assert_non_null(text);
    static const char chunk[] = "The quick brown fox, 12345 times\n\t  jumps! \xc3\xa9t\xc3\xa9 ";
    for (size_t i = 0; i < len; i++)
        text[i] = chunk[i % (sizeof chunk - 1)];
    const char *names[] = {"gpt-2", "llama3", "qwen2", "deepseek-coder", "gpt-4o"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        ifn_pretok *pt = NULL;
        assert_int_equal(ifn_pretok_create(names[k], &pt), IFN_OK);
        ifn_pretok_pieces pieces = {0};
        clock_t t0 = clock();
        /* a single 1 MB run of spaces, then one of letters: no quadratic backtracking */
        assert_int_equal(ifn_pretok_split(pt, text, len, &pieces), IFN_OK);
        assert_tiles(&pieces, len);
        memset(text + len / 2, ' ', len / 2);
        assert_int_equal(ifn_pretok_split(pt, text + len / 2, len / 2, &pieces), IFN_OK);
        assert_tiles(&pieces, len / 2);
        memset(text + len / 2, 'a', len / 2);
        assert_int_equal(ifn_pretok_split(pt, text + len / 2, len / 2, &pieces), IFN_OK);
        assert_tiles(&pieces, len / 2);
        double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
        fprintf(stderr, "%s: 2 MB split in %.3f s\n", names[k], secs);
        assert_true(secs < 10.0);
        for (size_t i = 0; i < len; i++)
            text[i] = chunk[i % (sizeof chunk - 1)];
        ifn_pretok_pieces_free(&pieces);
        ifn_pretok_destroy(pt);
    }
    ifn_free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pretok_every_table_name_compiles),
        cmocka_unit_test(test_pretok_unknown_name_is_unsupported_and_named),
        cmocka_unit_test(test_pretok_null_and_empty_mean_default),
        cmocka_unit_test(test_pretok_family_switches_follow_llama_cpp),
        cmocka_unit_test(test_pretok_gpt2_splits),
        cmocka_unit_test(test_pretok_llama3_splits),
        cmocka_unit_test(test_pretok_qwen2_splits_digits_one_by_one),
        cmocka_unit_test(test_pretok_starcoder_isolates_digits_first),
        cmocka_unit_test(test_pretok_deepseek_coder_splits),
        cmocka_unit_test(test_pretok_deepseek_llm_and_v3_splits),
        cmocka_unit_test(test_pretok_gpt4o_splits_camel_case),
        cmocka_unit_test(test_pretok_superbpe_groups_digits_from_the_right),
        cmocka_unit_test(test_pretok_unicode_whitespace_includes_next_line),
        cmocka_unit_test(test_pretok_invalid_utf8_bytes_stand_alone),
        cmocka_unit_test(test_pretok_random_bytes_always_tile),
        cmocka_unit_test(test_pretok_one_megabyte_splits_quickly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
