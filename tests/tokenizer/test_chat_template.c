/* Chat templates against the shared vectors: every case of
 * $IFN_SHARED_DIR/vectors/chat-templates/vectors.json (real model templates rendered by
 * Jinja2 the way Hugging Face configures it) must render byte-identical to `expected`, or fail
 * cleanly with a message containing `expected_error`. Also the public API (reuse, limits,
 * NULL variables), the built-in templates, concurrent renders of one template, and the
 * `inferneo template` command ($IFN_BINARY). Skips what is absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/shared.h"
#include "tokenizer/chat_template.h"
#include "util/alloc.h"
#include "util/status.h"

#define VECTORS "vectors/chat-templates/vectors.json"

/* Renders a template source with a JSON object; returns the status, *out is ifn_free'd by
 * the caller. */
static ifn_status render_json(const char *source, size_t len, const json_t *vars, char **out,
                              size_t *out_len) {
    ifn_chat_template *t = NULL;
    *out = NULL;
    ifn_status st = ifn_chat_template_create(source, len, &t);
    if (st == IFN_OK) st = ifn_chat_template_render(t, vars, out, out_len);
    ifn_chat_template_destroy(t);
    return st;
}

static ifn_status render_text(const char *source, const char *vars_json, char **out) {
    json_t *vars = json_loads(vars_json, 0, NULL);
    assert_non_null(vars);
    size_t len = 0;
    ifn_status st = render_json(source, strlen(source), vars, out, &len);
    json_decref(vars);
    return st;
}

/* ---- vectors ----------------------------------------------------------------------------- */

/* One vector; 1 if it behaves as expected. */
static int check_vector(const json_t *c, int *out_message_matches) {
    const char *name = json_string_value(json_object_get(c, "template_name"));
    const char *kase = json_string_value(json_object_get(c, "case"));
    const json_t *tmpl = json_object_get(c, "template");
    const json_t *expected = json_object_get(c, "expected");
    const char *expected_error = json_string_value(json_object_get(c, "expected_error"));
    char *text = NULL;
    size_t len = 0;
    ifn_status st = render_json(json_string_value(tmpl), json_string_length(tmpl),
                                json_object_get(c, "variables"), &text, &len);
    int ok;
    *out_message_matches = 0;
    if (expected) {
        ok = st == IFN_OK && len == json_string_length(expected) &&
             memcmp(text, json_string_value(expected), len) == 0;
        if (!ok)
            fprintf(stderr, "  FAIL %s [%s]: %s\n", name, kase,
                    st == IFN_OK ? "output differs" : ifn_last_error());
    } else {
        ok = st != IFN_OK;
        *out_message_matches = ok && expected_error && strstr(ifn_last_error(), expected_error);
        if (!ok) fprintf(stderr, "  FAIL %s [%s]: rendered, expected an error\n", name, kase);
    }
    ifn_free(text);
    return ok;
}

static void test_chat_template_vectors_render_like_jinja2(void **state) {
    (void)state;
    const char *path = shared_path(VECTORS);
    if (!path) skip();
    json_error_t err;
    json_t *cases = json_load_file(path, 0, &err);
    assert_non_null(cases);
    size_t n = json_array_size(cases), passed = 0, n_errors = 0, messages = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *c = json_array_get(cases, i);
        int message_matches = 0;
        passed += (size_t)check_vector(c, &message_matches);
        n_errors += json_object_get(c, "expected_error") != NULL;
        messages += (size_t)message_matches;
    }
    fprintf(stderr,
            "  %zu/%zu chat-template vectors pass (%zu error cases, %zu with the same "
            "message)\n",
            passed, n, n_errors, messages);
    json_decref(cases);
    assert_int_equal(passed, n);
}

/* ---- API --------------------------------------------------------------------------------- */

static void test_chat_template_renders_repeatedly_and_without_variables(void **state) {
    (void)state;
    const char *src = "{{ bos_token }}{% for m in messages %}[{{ m.content }}]{% endfor %}";
    ifn_chat_template *t = NULL;
    assert_int_equal(ifn_chat_template_create(src, strlen(src), &t), IFN_OK);
    json_t *vars =
        json_loads("{\"bos_token\": \"<s>\", \"messages\": [{\"content\": \"a\"}]}", 0, NULL);
    for (int i = 0; i < 3; i++) {
        char *text = NULL;
        size_t len = 0;
        assert_int_equal(ifn_chat_template_render(t, vars, &text, &len), IFN_OK);
        assert_string_equal(text, "<s>[a]");
        assert_int_equal(len, 6);
        ifn_free(text);
    }
    char *text = NULL;
    assert_int_equal(ifn_chat_template_render(t, NULL, &text, NULL), IFN_OK);
    assert_string_equal(text, "");
    ifn_free(text);
    json_t *not_object = json_array();
    assert_int_equal(ifn_chat_template_render(t, not_object, &text, NULL), IFN_E_INVALID);
    json_decref(not_object);
    json_decref(vars);
    ifn_chat_template_destroy(t);
    ifn_chat_template_destroy(NULL);
}

static void test_chat_template_source_need_not_be_terminated(void **state) {
    (void)state;
    const char src[] = {'{', '{', ' ', '1', ' ', '}', '}', 'X'}; /* "X" is past len */
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(render_json(src, 7, NULL, &text, &len), IFN_OK);
    assert_string_equal(text, "1");
    ifn_free(text);
}

static void test_chat_template_raise_exception_message_is_verbatim(void **state) {
    (void)state;
    char *text = NULL;
    assert_int_equal(render_text("{{ raise_exception('Roles must alternate') }}", "{}", &text),
                     IFN_E_INVALID);
    assert_string_equal(ifn_last_error(), "Roles must alternate");
    assert_int_equal(render_text("\n\n{{ missing + 1 }}", "{}", &text), IFN_E_INVALID);
    assert_string_equal(ifn_last_error(), "'missing' is undefined (template line 3)");
}

/* ---- built-in templates ------------------------------------------------------------------ */

static const char g_conversation[] =
    "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", "
    "\"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello!\"}, {\"role\": "
    "\"user\", \"content\": \"Who?\"}], \"add_generation_prompt\": true, \"bos_token\": \"<s>\", "
    "\"eos_token\": \"</s>\"}";

static void test_chat_template_builtins_render_their_formats(void **state) {
    (void)state;
    static const struct {
        const char *name;
        const char *expected;
    } want[] = {
        {"chatml", "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                   "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nWho?<|im_end|>\n"
                   "<|im_start|>assistant\n"},
        {"llama2", "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] "
                   "Who? [/INST]"},
        {"llama3", "<s><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                   "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                   "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
                   "<|start_header_id|>user<|end_header_id|>\n\nWho?<|eot_id|>"
                   "<|start_header_id|>assistant<|end_header_id|>\n\n"},
        {"mistral", "<s>[INST] Be brief.\n\nHi [/INST] Hello!</s>[INST] Who? [/INST]"},
        {"gemma", "<s><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n"
                  "Hello!<end_of_turn>\n<start_of_turn>user\nWho?<end_of_turn>\n"
                  "<start_of_turn>model\n"},
        {"phi3", "<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n"
                 "<|user|>\nWho?<|end|>\n<|assistant|>\n"},
        {"zephyr", "<|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\nHello!</s>\n"
                   "<|user|>\nWho?</s>\n<|assistant|>\n"},
    };
    size_t n_builtins = 0;
    while (ifn_chat_template_builtin_name(n_builtins))
        n_builtins++;
    assert_int_equal(n_builtins, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *src = ifn_chat_template_builtin(want[i].name);
        assert_non_null(src);
        char *text = NULL;
        assert_int_equal(render_text(src, g_conversation, &text), IFN_OK);
        if (strcmp(text, want[i].expected) != 0)
            fprintf(stderr, "  builtin %s gave: %s\n", want[i].name, text);
        assert_string_equal(text, want[i].expected);
        ifn_free(text);
    }
    assert_null(ifn_chat_template_builtin("no-such-template"));
    assert_null(ifn_chat_template_builtin(NULL));
}

/* ---- threads ----------------------------------------------------------------------------- */

typedef struct render_job {
    const ifn_chat_template *tmpl;
    const json_t *vars;
    const char *expected;
    int mismatches;
} render_job;

static void *render_many(void *arg) {
    render_job *job = arg;
    for (int i = 0; i < 50; i++) {
        char *text = NULL;
        if (ifn_chat_template_render(job->tmpl, job->vars, &text, NULL) != IFN_OK ||
            strcmp(text, job->expected) != 0)
            job->mismatches++;
        ifn_free(text);
    }
    return NULL;
}

static void test_chat_template_concurrent_renders_share_one_template(void **state) {
    (void)state;
    const char *src = ifn_chat_template_builtin("llama2");
    ifn_chat_template *t = NULL;
    assert_int_equal(ifn_chat_template_create(src, strlen(src), &t), IFN_OK);
    json_t *vars = json_loads(g_conversation, 0, NULL);
    char *expected = NULL;
    assert_int_equal(ifn_chat_template_render(t, vars, &expected, NULL), IFN_OK);
    pthread_t threads[4];
    render_job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (render_job){t, vars, expected, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, render_many, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(jobs[i].mismatches, 0);
    }
    ifn_free(expected);
    json_decref(vars);
    ifn_chat_template_destroy(t);
}

/* ---- the inferneo template command ------------------------------------------------------- */

static int write_file(const char *path, const char *text) {
    FILE *fp = fopen(path, "wb");
    if (!fp) return 0;
    int ok = fwrite(text, 1, strlen(text), fp) == strlen(text);
    return fclose(fp) == 0 && ok;
}

/* Runs `inferneo template ARGS`, capturing stdout (and stderr into a file); returns the exit
 * status. */
static int run_cli(const char *bin, const char *args, char *out, size_t cap) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' template %s 2>/tmp/ifn_tmpl_err_%d.txt", bin, args,
             (int)getpid());
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int rc = pclose(p);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void test_chat_template_cli_renders_and_reports_errors(void **state) {
    (void)state;
    const char *bin = getenv("IFN_BINARY");
    if (!bin || access(bin, X_OK) != 0) skip();
    char tmpl[64], vars[64], bad[64], args[256], out[4096];
    snprintf(tmpl, sizeof tmpl, "/tmp/ifn_tmpl_%d.jinja", (int)getpid());
    snprintf(vars, sizeof vars, "/tmp/ifn_tmpl_%d.json", (int)getpid());
    snprintf(bad, sizeof bad, "/tmp/ifn_tmpl_bad_%d.jinja", (int)getpid());
    assert_true(write_file(tmpl, "{% for m in messages %}{{ m.role }}: {{ m.content }}\n"
                                 "{% endfor %}"));
    assert_true(write_file(vars, g_conversation));
    assert_true(write_file(bad, "{{ raise_exception('nope') }}"));
    snprintf(args, sizeof args, "--file %s --vars %s", tmpl, vars);
    assert_int_equal(run_cli(bin, args, out, sizeof out), 0);
    assert_string_equal(out, "system: Be brief.\nuser: Hi\nassistant: Hello!\nuser: Who?\n");
    snprintf(args, sizeof args, "--builtin chatml --vars %s", vars);
    assert_int_equal(run_cli(bin, args, out, sizeof out), 0);
    assert_non_null(strstr(out, "<|im_start|>assistant\n"));
    snprintf(args, sizeof args, "--file %s --vars %s", bad, vars);
    assert_int_equal(run_cli(bin, args, out, sizeof out), 1);
    assert_string_equal(out, "");
    assert_int_equal(run_cli(bin, "--vars x.json", out, sizeof out), 2);
    remove(tmpl);
    remove(vars);
    remove(bad);
    snprintf(args, sizeof args, "/tmp/ifn_tmpl_err_%d.txt", (int)getpid());
    remove(args);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_template_vectors_render_like_jinja2),
        cmocka_unit_test(test_chat_template_renders_repeatedly_and_without_variables),
        cmocka_unit_test(test_chat_template_source_need_not_be_terminated),
        cmocka_unit_test(test_chat_template_raise_exception_message_is_verbatim),
        cmocka_unit_test(test_chat_template_builtins_render_their_formats),
        cmocka_unit_test(test_chat_template_concurrent_renders_share_one_template),
        cmocka_unit_test(test_chat_template_cli_renders_and_reports_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
