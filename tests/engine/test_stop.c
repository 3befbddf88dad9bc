/* Stop-string matcher tests: holds and releases across pushes, overlapping prefixes, several
 * stop strings, UTF-8 split points, flush, and independence from how the text is split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "engine/stop.h"
#include "util/alloc.h"
#include "util/rng.h"

static ifn_stop_matcher *make_matcher(const char *const *stops, int32_t n) {
    ifn_str views[8];
    assert_true(n <= 8);
    for (int32_t i = 0; i < n; i++)
        views[i] = ifn_str_from_cstr(stops[i]);
    ifn_stop_matcher *m = NULL;
    assert_int_equal(ifn_stop_matcher_create(views, n, &m), IFN_OK);
    return m;
}

/* Pushes a C string and checks exactly `want` is released and the stop state. */
static void push_expect(ifn_stop_matcher *m, const char *text, const char *want, int32_t stop) {
    ifn_stop_result r;
    assert_int_equal(ifn_stop_matcher_push(m, text, strlen(text), &r), IFN_OK);
    assert_int_equal(r.emit_len, strlen(want));
    assert_memory_equal(r.emit, want, r.emit_len);
    assert_int_equal(r.is_stopped, stop >= 0);
    assert_int_equal(r.stop_index, stop);
}

static void flush_expect(ifn_stop_matcher *m, const char *want) {
    ifn_stop_result r;
    ifn_stop_matcher_flush(m, &r);
    assert_int_equal(r.emit_len, strlen(want));
    assert_memory_equal(r.emit, want, r.emit_len);
}

static void test_stop_without_stops_passes_everything(void **state) {
    (void)state;
    ifn_stop_matcher *m = make_matcher(NULL, 0);
    push_expect(m, "hello ", "hello ", -1);
    push_expect(m, "", "", -1);
    push_expect(m, "world", "world", -1);
    flush_expect(m, "");
    ifn_stop_matcher_destroy(m);
}

static void test_stop_match_in_one_push_drops_stop_and_rest(void **state) {
    (void)state;
    const char *stops[] = {"STOP"};
    ifn_stop_matcher *m = make_matcher(stops, 1);
    push_expect(m, "hello STOP world", "hello ", 0);
    push_expect(m, "more", "", 0); /* after a match nothing more comes out */
    flush_expect(m, "");
    assert_int_equal(ifn_stop_matcher_held_bytes(m), 0);
    ifn_stop_matcher_destroy(m);
}

static void test_stop_split_across_pushes_is_held_then_dropped(void **state) {
    (void)state;
    const char *stops[] = {"STOP"};
    ifn_stop_matcher *m = make_matcher(stops, 1);
    push_expect(m, "hel", "hel", -1);
    push_expect(m, "lo S", "lo ", -1);
    assert_int_equal(ifn_stop_matcher_held_bytes(m), 1);
    push_expect(m, "TO", "", -1);
    assert_int_equal(ifn_stop_matcher_held_bytes(m), 3);
    push_expect(m, "P and more", "", 0);
    ifn_stop_matcher_destroy(m);
}

static void test_stop_false_start_is_released(void **state) {
    (void)state;
    const char *stops[] = {"abc"};
    ifn_stop_matcher *m = make_matcher(stops, 1);
    push_expect(m, "xab", "x", -1);
    push_expect(m, "x", "abx", -1);
    push_expect(m, "a", "", -1);
    flush_expect(m, "a"); /* a dangling prefix is ordinary text at the end */
    ifn_stop_matcher_destroy(m);
}

static void test_stop_overlapping_prefixes(void **state) {
    (void)state;
    const char *ab[] = {"ab"};
    ifn_stop_matcher *m = make_matcher(ab, 1);
    push_expect(m, "a", "", -1);
    push_expect(m, "a", "a", -1); /* the first 'a' can no longer start "ab" */
    push_expect(m, "b", "", 0);
    ifn_stop_matcher_destroy(m);

    const char *aab[] = {"aab"};
    m = make_matcher(aab, 1);
    push_expect(m, "aa", "", -1);
    push_expect(m, "a", "a", -1);
    push_expect(m, "ab", "a", 0); /* "aaaab": the stop starts at byte 2 */
    ifn_stop_matcher_destroy(m);

    const char *abab[] = {"abab"};
    m = make_matcher(abab, 1);
    push_expect(m, "aba", "", -1);
    push_expect(m, "a", "aba", -1);
    push_expect(m, "bab", "", 0);
    ifn_stop_matcher_destroy(m);
}

static void test_stop_earliest_completion_wins_among_several(void **state) {
    (void)state;
    const char *two[] = {"world", "lo w"};
    ifn_stop_matcher *m = make_matcher(two, 2);
    push_expect(m, "hello world", "hel", 1);
    ifn_stop_matcher_destroy(m);

    const char *nested[] = {"bc", "abc"}; /* both end on the same byte: the longer wins */
    m = make_matcher(nested, 2);
    push_expect(m, "xab", "x", -1);
    push_expect(m, "cd", "", 1);
    ifn_stop_matcher_destroy(m);

    const char *order[] = {"world", "o"}; /* list order does not matter */
    m = make_matcher(order, 2);
    push_expect(m, "hello world", "hell", 1);
    ifn_stop_matcher_destroy(m);

    /* holding follows the longest live prefix over all stop strings */
    const char *mixed[] = {"</s>", "<|end|>"};
    m = make_matcher(mixed, 2);
    push_expect(m, "a<", "a", -1);
    push_expect(m, "|en", "", -1);
    push_expect(m, "x", "<|enx", -1);
    push_expect(m, "</", "", -1);
    push_expect(m, "s>", "", 0);
    ifn_stop_matcher_destroy(m);
}

static void test_stop_flush_releases_held_prefix(void **state) {
    (void)state;
    const char *stops[] = {"</s>"};
    ifn_stop_matcher *m = make_matcher(stops, 1);
    push_expect(m, "end</", "end", -1);
    flush_expect(m, "</");
    flush_expect(m, "");
    assert_int_equal(ifn_stop_matcher_held_bytes(m), 0);
    ifn_stop_matcher_reset(m);
    push_expect(m, "x</s>", "x", 0);
    ifn_stop_matcher_reset(m); /* reset clears the match too */
    push_expect(m, "again", "again", -1);
    ifn_stop_matcher_destroy(m);
}

static void test_stop_utf8_split_points(void **state) {
    (void)state;
    ifn_stop_matcher *m = make_matcher(NULL, 0);
    push_expect(m, "ab\xe2\x82", "ab", -1); /* start of the euro sign: wait */
    push_expect(m, "\xac!", "\xe2\x82\xac!", -1);
    push_expect(m, "\xf0\x9f", "", -1);
    flush_expect(m, "\xf0\x9f"); /* at the end everything goes out */
    ifn_stop_matcher_destroy(m);

    const char *stops[] = {"\xc3\xa9!"}; /* "é!" */
    m = make_matcher(stops, 1);
    push_expect(m, "caf\xc3", "caf", -1);
    push_expect(m, "\xa9", "", -1);
    push_expect(m, "!", "", 0);
    ifn_stop_matcher_destroy(m);

    const char *euro[] = {"\xe2\x82\xac"}; /* shares two bytes with U+2082 */
    m = make_matcher(euro, 1);
    push_expect(m, "\xe2\x82", "", -1);
    push_expect(m, "\x82 x", "\xe2\x82\x82 x", -1);
    push_expect(m, "\xe2\x82\xac", "", 0);
    ifn_stop_matcher_destroy(m);
}

static void test_stop_rejects_empty_stop_string(void **state) {
    (void)state;
    ifn_str stops[2] = {ifn_str_from_cstr("ok"), ifn_str_from_cstr("")};
    ifn_stop_matcher *m = NULL;
    assert_int_equal(ifn_stop_matcher_create(stops, 2, &m), IFN_E_INVALID);
    assert_null(m);
    assert_int_equal(ifn_stop_matcher_create(NULL, 1, &m), IFN_E_INVALID);
    assert_int_equal(ifn_stop_matcher_create(stops, -1, &m), IFN_E_INVALID);
    assert_null(m);
}

/* Reference: emitted text and stop index for the whole text at once, by brute force. */
static size_t reference_stop(const char *text, size_t len, const char *const *stops, int32_t n,
                             int32_t *out_index) {
    for (size_t end = 1; end <= len; end++) {
        int32_t best = -1;
        for (int32_t i = 0; i < n; i++) {
            size_t sl = strlen(stops[i]);
            if (sl <= end && memcmp(text + end - sl, stops[i], sl) == 0 &&
                (best < 0 || sl > strlen(stops[best])))
                best = i;
        }
        if (best >= 0) {
            *out_index = best;
            return end - strlen(stops[best]);
        }
    }
    *out_index = -1;
    return len;
}

static void test_stop_result_does_not_depend_on_split(void **state) {
    (void)state;
    const char *stops[] = {"abca", "bb", "cab", "aaac"};
    ifn_rng rng;
    ifn_rng_seed(&rng, 1234);
    for (int trial = 0; trial < 2000; trial++) {
        char text[64], got[64];
        size_t len = 1 + (size_t)(ifn_rng_next_u64(&rng) % 40);
        for (size_t i = 0; i < len; i++)
            text[i] = "abc"[ifn_rng_next_u64(&rng) % 3];
        int32_t want_index;
        size_t want_len = reference_stop(text, len, stops, 4, &want_index);

        ifn_stop_matcher *m = make_matcher(stops, 4);
        ifn_stop_result r = {0};
        size_t got_len = 0, pos = 0;
        while (pos < len && !r.is_stopped) {
            size_t piece = 1 + (size_t)(ifn_rng_next_u64(&rng) % 5);
            if (piece > len - pos) piece = len - pos;
            assert_int_equal(ifn_stop_matcher_push(m, text + pos, piece, &r), IFN_OK);
            memcpy(got + got_len, r.emit, r.emit_len);
            got_len += r.emit_len;
            pos += piece;
        }
        if (!r.is_stopped) {
            ifn_stop_matcher_flush(m, &r);
            memcpy(got + got_len, r.emit, r.emit_len);
            got_len += r.emit_len;
        }
        assert_int_equal(r.stop_index, want_index);
        assert_int_equal(got_len, want_len);
        assert_memory_equal(got, text, got_len);
        ifn_stop_matcher_destroy(m);
    }
}

static void test_stop_large_pushes_and_allocation_failure(void **state) {
    (void)state;
    const char *stops[] = {"END"};
    ifn_stop_matcher *m = make_matcher(stops, 1);
    static char big[10000];
    memset(big, 'x', sizeof big);
    big[sizeof big - 1] = 'E';
    ifn_stop_result r;
    assert_int_equal(ifn_stop_matcher_push(m, big, sizeof big, &r), IFN_OK);
    assert_int_equal(r.emit_len, sizeof big - 1);
    ifn_alloc_fail_after(1);
    static char bigger[100000];
    ifn_status st = ifn_stop_matcher_push(m, bigger, sizeof bigger, &r);
    ifn_alloc_fail_after(0);
    assert_int_equal(st, IFN_E_NOMEM);
    push_expect(m, "ND tail", "", 0); /* the held 'E' survived the failed push */
    ifn_stop_matcher_destroy(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_without_stops_passes_everything),
        cmocka_unit_test(test_stop_match_in_one_push_drops_stop_and_rest),
        cmocka_unit_test(test_stop_split_across_pushes_is_held_then_dropped),
        cmocka_unit_test(test_stop_false_start_is_released),
        cmocka_unit_test(test_stop_overlapping_prefixes),
        cmocka_unit_test(test_stop_earliest_completion_wins_among_several),
        cmocka_unit_test(test_stop_flush_releases_held_prefix),
        cmocka_unit_test(test_stop_utf8_split_points),
        cmocka_unit_test(test_stop_rejects_empty_stop_string),
        cmocka_unit_test(test_stop_result_does_not_depend_on_split),
        cmocka_unit_test(test_stop_large_pushes_and_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
