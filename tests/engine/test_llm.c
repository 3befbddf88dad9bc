/* End-to-end greedy generation through the public API against llama2.c's run.c reference
 * outputs (../shared/models): byte-identical text and identical token ids, for both trained
 * models, every shipped prompt, and the GGUF conversion of stories260K. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "inferneo/inferneo.h"
#include "support/shared.h"

typedef struct reference {
    const char *model_dir;
    const char *model_file;
    const char *tokenizer_file; /* NULL: the GGUF's own vocabulary */
    const char *name;           /* greedy_<name>.txt / .ids.txt */
    const char *prompt;
    int positions;              /* run.c's -n, capped at seq_len */
    int n_ctx;
} reference;

static const reference g_refs[] = {
    {"stories260K", "stories260K.bin", "tok512.bin", "empty", "", 256, 0},
    {"stories260K", "stories260K.bin", "tok512.bin", "once_upon_a_time", "Once upon a time", 256, 0},
    {"stories260K", "stories260K.bin", "tok512.bin", "lily_went_to", "Lily went to", 256, 0},
    {"stories260K", "stories260K_v1.bin", "tok512.bin", "lily_went_to", "Lily went to", 256, 0},
    {"aidreams260K", "aidreams260K.bin", "tok512.bin", "empty", "", 128, 0},
    {"aidreams260K", "aidreams260K.bin", "tok512.bin", "i_dreamed", "I dreamed", 128, 0},
    {"aidreams260K", "aidreams260K.bin", "tok512.bin", "the_city", "The city", 128, 0},
    /* The GGUF declares a 128-token context (a converter default); the model was trained on 512. */
    {"stories260K", "stories260Ktok512.gguf", NULL, "once_upon_a_time", "Once upon a time", 256, 512},
    {"stories260K", "stories260Ktok512.gguf", NULL, "lily_went_to", "Lily went to", 256, 512},
    {"stories260K", "stories260Ktok512.gguf", NULL, "empty", "", 256, 512},
};

typedef struct text_sink {
    char buf[65536];
    size_t len;
} text_sink;

static int collect(const char *text, size_t len, void *user) {
    text_sink *sink = user;
    assert_true(sink->len + len < sizeof sink->buf);
    memcpy(sink->buf + sink->len, text, len);
    sink->len += len;
    return 0;
}

static void check_reference(const reference *r) {
    char rel[256];
    snprintf(rel, sizeof rel, "models/%s/%s", r->model_dir, r->model_file);
    const char *model = shared_path(rel);
    snprintf(rel, sizeof rel, "models/%s/greedy_%s.txt", r->model_dir, r->name);
    const char *text_path = shared_path(rel);
    snprintf(rel, sizeof rel, "models/%s/greedy_%s.ids.txt", r->model_dir, r->name);
    const char *ids_path = shared_path(rel);
    const char *tok = NULL;
    if (r->tokenizer_file) {
        snprintf(rel, sizeof rel, "models/%s/%s", r->model_dir, r->tokenizer_file);
        tok = shared_path(rel);
    }
    if (!model || !text_path || !ids_path || (r->tokenizer_file && !tok)) skip();

    ifn_llm_params lp = ifn_llm_params_default();
    lp.model_path = model;
    lp.tokenizer_path = tok;
    lp.n_ctx = r->n_ctx;
    ifn_llm *llm = NULL;
    assert_int_equal(ifn_llm_load(&lp, &llm), IFN_OK);

    int32_t *ids = NULL;
    size_t n_ids = 0;
    assert_int_equal(ifn_llm_tokenize(llm, r->prompt, strlen(r->prompt), 1, 0, &ids, &n_ids), IFN_OK);
    char *ids_text = read_whole_file(ids_path, NULL);
    int want_ids[1024];
    size_t n_want = parse_ints(ids_text, want_ids, 1024);
    assert_true(n_want > n_ids);
    for (size_t i = 0; i < n_ids; i++) assert_int_equal(ids[i], want_ids[i]);

    ifn_generate_params gp = ifn_generate_params_default();
    gp.temperature = 0.0f;
    gp.max_tokens = r->positions + 1 - (int)n_ids;
    text_sink *sink = calloc(1, sizeof *sink);
    memcpy(sink->buf, r->prompt, strlen(r->prompt));
    sink->len = strlen(r->prompt);
    ifn_generate_result res;
    assert_int_equal(ifn_llm_generate(llm, ids, n_ids, &gp, collect, sink, &res), IFN_OK);
    assert_int_equal(res.n_generated_tokens, (int)(n_want - n_ids));
    sink->buf[sink->len++] = '\n'; /* run.c ends its output with a newline */

    size_t want_len = 0;
    char *want = read_whole_file(text_path, &want_len);
    if (sink->len != want_len || memcmp(sink->buf, want, want_len) != 0)
        fail_msg("%s/%s %s: generated text differs from run.c's:\n--- got\n%.*s\n--- want\n%s",
                 r->model_dir, r->model_file, r->name, (int)sink->len, sink->buf, want);
    free(want);
    free(sink);
    free(ids_text);
    ifn_llm_free(ids);
    ifn_llm_destroy(llm);
}

static void test_llm_greedy_matches_run_c(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof g_refs / sizeof g_refs[0]; i++) check_reference(&g_refs[i]);
}

static int cancel_after_first(const char *text, size_t len, void *user) {
    (void)text;
    (void)len;
    (*(int *)user)++;
    return 1;
}

static void test_llm_seed_reproducible_and_cancellable(void **state) {
    (void)state;
    const char *model = shared_path("models/stories260K/stories260K.bin");
    if (!model) skip();
    ifn_llm_params lp = ifn_llm_params_default();
    lp.model_path = model; /* tok512.bin is found beside the checkpoint */
    ifn_llm *llm = NULL;
    assert_int_equal(ifn_llm_load(&lp, &llm), IFN_OK);
    int32_t *ids = NULL;
    size_t n_ids = 0;
    assert_int_equal(ifn_llm_tokenize(llm, "Lily", 4, 1, 0, &ids, &n_ids), IFN_OK);
    ifn_generate_params gp = ifn_generate_params_default();
    gp.temperature = 1.0f;
    gp.max_tokens = 60;
    gp.seed = 42;
    gp.has_seed = 1;
    text_sink *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b), *c = calloc(1, sizeof *c);
    ifn_generate_result res;
    assert_int_equal(ifn_llm_generate(llm, ids, n_ids, &gp, collect, a, &res), IFN_OK);
    assert_int_equal(ifn_llm_generate(llm, ids, n_ids, &gp, collect, b, &res), IFN_OK);
    gp.seed = 43;
    assert_int_equal(ifn_llm_generate(llm, ids, n_ids, &gp, collect, c, &res), IFN_OK);
    assert_int_equal(a->len, b->len);
    assert_memory_equal(a->buf, b->buf, a->len);
    assert_false(a->len == c->len && memcmp(a->buf, c->buf, a->len) == 0);
    int calls = 0;
    assert_int_equal(ifn_llm_generate(llm, ids, n_ids, &gp, cancel_after_first, &calls, &res), IFN_OK);
    assert_int_equal(res.finish_reason, IFN_FINISH_CANCELLED);
    assert_int_equal(calls, 1);
    free(a);
    free(b);
    free(c);
    ifn_llm_free(ids);
    ifn_llm_destroy(llm);
}

static void test_llm_stop_string_ends_generation(void **state) {
    (void)state;
    const char *model = shared_path("models/stories260K/stories260K.bin");
    if (!model) skip();
    ifn_llm_params lp = ifn_llm_params_default();
    lp.model_path = model;
    ifn_llm *llm = NULL;
    assert_int_equal(ifn_llm_load(&lp, &llm), IFN_OK);
    int32_t *ids = NULL;
    size_t n_ids = 0;
    assert_int_equal(ifn_llm_tokenize(llm, "Once upon a time", 16, 1, 0, &ids, &n_ids), IFN_OK);
    ifn_generate_params gp = ifn_generate_params_default();
    gp.temperature = 0.0f;
    gp.max_tokens = 200;
    const char *stops[] = {"Lily."};
    gp.stop = stops;
    gp.n_stop = 1;
    text_sink *sink = calloc(1, sizeof *sink);
    ifn_generate_result res;
    assert_int_equal(ifn_llm_generate(llm, ids, n_ids, &gp, collect, sink, &res), IFN_OK);
    assert_int_equal(res.finish_reason, IFN_FINISH_STOP);
    sink->buf[sink->len] = '\0';
    /* run.c's text: "Once upon a time, there was a little girl named Lily. She ..." */
    assert_string_equal(sink->buf, ", there was a little girl named ");
    free(sink);
    ifn_llm_free(ids);
    ifn_llm_destroy(llm);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llm_greedy_matches_run_c),
        cmocka_unit_test(test_llm_seed_reproducible_and_cancellable),
        cmocka_unit_test(test_llm_stop_string_ends_generation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
