/* The inferneo binary as a user runs it ($IFN_BINARY): stdout of `run` is exactly the prompt and
 * the generated text, tokenize/detokenize round-trip, info describes the model, and bad input
 * gives a non-zero exit with a message on stderr. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/wait.h>

#include "support/shared.h"

typedef struct run_result {
    char out[65536];
    char err[8192];
    int exit_code;
} run_result;

/* Runs `binary args` through the shell with stdin from `input_file` (or /dev/null). */
static void run_cli(const char *args, const char *input_file, run_result *r) {
    const char *bin = getenv("IFN_BINARY");
    if (!bin) bin = "build/inferneo";
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s <%s 2>/tmp/ifn_cli_err_%d", bin, args,
             input_file ? input_file : "/dev/null", (int)getpid());
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(r->out, 1, sizeof r->out - 1, p);
    r->out[n] = '\0';
    int status = pclose(p);
    r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    char err_path[64];
    snprintf(err_path, sizeof err_path, "/tmp/ifn_cli_err_%d", (int)getpid());
    char *err = read_whole_file(err_path, NULL);
    snprintf(r->err, sizeof r->err, "%s", err ? err : "");
    free(err);
    unlink(err_path);
}

static void test_cli_run_greedy_prints_prompt_and_text(void **state) {
    (void)state;
    const char *model = shared_path("models/stories260K/stories260K.bin");
    const char *tok = shared_path("models/stories260K/tok512.bin");
    const char *want_path = shared_path("models/stories260K/greedy_lily_went_to.txt");
    if (!model || !tok || !want_path) skip();
    run_result *r = calloc(1, sizeof *r);
    char args[2048];
    /* run.c's -n 256 counts positions: 256 + 1 - 5 prompt tokens = 252 new tokens */
    snprintf(args, sizeof args, "run -m %s -z %s -p 'Lily went to' -n 252 --temp 0", model, tok);
    run_cli(args, NULL, r);
    assert_int_equal(r->exit_code, 0);
    char *want = read_whole_file(want_path, NULL);
    size_t out_len = strlen(r->out);
    r->out[out_len] = '\n';
    r->out[out_len + 1] = '\0';
    assert_string_equal(r->out, want);
    assert_non_null(strstr(r->err, "tokens/s"));
    free(want);
    free(r);
}

static void test_cli_tokenize_and_detokenize_round_trip(void **state) {
    (void)state;
    const char *model = shared_path("models/llama-2-tiny-random/llama-2-tiny-random.gguf");
    if (!model) skip();
    const char *text_path = "/tmp/ifn_cli_text.txt";
    FILE *fp = fopen(text_path, "wb");
    fputs("Hello world", fp);
    fclose(fp);
    run_result *r = calloc(1, sizeof *r);
    char args[2048];
    snprintf(args, sizeof args, "tokenize -m %s --no-bos --file %s", model, text_path);
    run_cli(args, NULL, r);
    assert_int_equal(r->exit_code, 0);
    assert_string_equal(r->out, "15043 3186\n"); /* llama.cpp's ids for this text */
    snprintf(args, sizeof args, "tokenize -m %s", model);
    run_cli(args, text_path, r);
    assert_string_equal(r->out, "1 15043 3186\n");
    fp = fopen(text_path, "wb");
    fputs("15043 3186", fp);
    fclose(fp);
    snprintf(args, sizeof args, "detokenize -m %s", model);
    run_cli(args, text_path, r);
    assert_int_equal(r->exit_code, 0);
    assert_string_equal(r->out, "Hello world");
    unlink(text_path);
    free(r);
}

static void test_cli_info_describes_model(void **state) {
    (void)state;
    const char *model = shared_path("vectors/quant/quantfix-Q4_K.gguf");
    if (!model) skip();
    run_result *r = calloc(1, sizeof *r);
    char args[2048];
    snprintf(args, sizeof args, "info -m %s", model);
    run_cli(args, NULL, r);
    assert_int_equal(r->exit_code, 0);
    assert_non_null(strstr(r->out, "architecture:      llama"));
    assert_non_null(strstr(r->out, "embedding length:  256"));
    assert_non_null(strstr(r->out, "heads:             4 (KV heads 1, head size 64)"));
    assert_non_null(strstr(r->out, "Q4_K x8"));
    assert_non_null(strstr(r->out, "SentencePiece"));
    free(r);
}

static void test_cli_errors_are_clear(void **state) {
    (void)state;
    run_result *r = calloc(1, sizeof *r);
    run_cli("run", NULL, r);
    assert_int_equal(r->exit_code, 2);
    assert_non_null(strstr(r->err, "-m MODEL is required"));
    run_cli("run -m /nonexistent/model.gguf", NULL, r);
    assert_int_equal(r->exit_code, 1);
    assert_non_null(strstr(r->err, "/nonexistent/model.gguf"));
    run_cli("run -m x --temp abc", NULL, r);
    assert_int_equal(r->exit_code, 2);
    assert_non_null(strstr(r->err, "--temp"));
    run_cli("frobnicate", NULL, r);
    assert_int_equal(r->exit_code, 2);
    const char *vocab_only = shared_path("vectors/tokenizer/ggml-vocab-gpt-2.gguf");
    if (vocab_only) {
        char args[1024];
        snprintf(args, sizeof args, "run -m %s -p hi", vocab_only);
        run_cli(args, NULL, r);
        assert_int_equal(r->exit_code, 1);
        assert_true(strlen(r->err) > 0);
    }
    run_cli("run --help", NULL, r);
    assert_int_equal(r->exit_code, 0);
    assert_non_null(strstr(r->out, "--top-p"));
    free(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_run_greedy_prints_prompt_and_text),
        cmocka_unit_test(test_cli_tokenize_and_detokenize_round_trip),
        cmocka_unit_test(test_cli_info_describes_model),
        cmocka_unit_test(test_cli_errors_are_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
