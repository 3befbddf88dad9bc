/* `inferneo synth` as a user runs it ($IFN_BINARY): small random models in F32, Q8_0 and
 * Q4_K_M with the Llama vocabulary copied in, checked through `inferneo info` (shapes, types,
 * tokenizer) and `inferneo run` (loads and generates); the same seed gives the same bytes,
 * another seed other bytes; the generated vocabulary is runnable; bad input fails cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/wait.h>

#include "support/shared.h"

#define SMALL_MODEL "--dim 64 --layers 2 --heads 4 --kv-heads 2 --ffn 256"

typedef struct run_result {
    char out[65536];
    char err[8192];
    int exit_code;
} run_result;

static void run_cli(const char *args, run_result *r) {
    const char *bin = getenv("IFN_BINARY");
    if (!bin) bin = "build/inferneo";
    char cmd[4096], err_path[64];
    snprintf(err_path, sizeof err_path, "/tmp/ifn_synth_err_%d", (int)getpid());
    snprintf(cmd, sizeof cmd, "%s %s </dev/null 2>%s", bin, args, err_path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(r->out, 1, sizeof r->out - 1, p);
    r->out[n] = '\0';
    int status = pclose(p);
    r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    char *err = read_whole_file(err_path, NULL);
    snprintf(r->err, sizeof r->err, "%s", err ? err : "");
    free(err);
    unlink(err_path);
}

static const char *model_path(const char *tag) {
    static char buf[4][256];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "/tmp/ifn_synth_%d_%s.gguf", (int)getpid(), tag);
    return p;
}

/* Synthesizes SMALL_MODEL with the Llama vocabulary; asserts success and a silent stdout. */
static void synth_small(const char *type, const char *extra, const char *path, run_result *r) {
    const char *vocab = shared_path("vectors/tokenizer/ggml-vocab-llama-spm.gguf");
    char args[2048];
    snprintf(args, sizeof args,
             "synth --arch llama " SMALL_MODEL " --type %s --vocab-from %s %s -o %s", type, vocab,
             extra, path);
    run_cli(args, r);
    if (r->exit_code != 0) print_message("synth failed: %s\n", r->err);
    assert_int_equal(r->exit_code, 0);
    assert_string_equal(r->out, "");
}

/* Type name of tensor `name` in `info --tensors` output, with its two dims checked. */
static void expect_tensor(const char *info, const char *name, const char *type, long long ne0,
                          long long ne1) {
    char pattern[128];
    snprintf(pattern, sizeof pattern, "  %s ", name);
    const char *line = strstr(info, pattern);
    if (!line) print_message("tensor %s missing from:\n%s\n", name, info);
    assert_non_null(line);
    char got_type[16];
    long long d0 = 0, d1 = 0;
    assert_int_equal(sscanf(line + strlen(pattern), " %15s [%lld, %lld", got_type, &d0, &d1), 3);
    assert_string_equal(got_type, type);
    assert_int_equal(d0, ne0);
    assert_int_equal(d1, ne1);
}

static void expect_runs(const char *path, run_result *r) {
    char args[1024];
    snprintf(args, sizeof args, "run -m %s -p hello -n 8 --temp 0", path);
    run_cli(args, r);
    if (r->exit_code != 0) print_message("run failed: %s\n", r->err);
    assert_int_equal(r->exit_code, 0);
    assert_true(strncmp(r->out, "hello", 5) == 0);
    assert_true(strlen(r->out) > 5);
}

static void info_of(const char *path, run_result *r) {
    char args[1024];
    snprintf(args, sizeof args, "info -m %s --tensors", path);
    run_cli(args, r);
    assert_int_equal(r->exit_code, 0);
}

static void test_synth_f32_model_loads_and_runs(void **state) {
    (void)state;
    if (!shared_path("vectors/tokenizer/ggml-vocab-llama-spm.gguf")) skip();
    run_result *r = calloc(1, sizeof *r);
    const char *path = model_path("f32");
    synth_small("F32", "", path, r);
    info_of(path, r);
    assert_non_null(strstr(r->out, "embedding length:  64"));
    assert_non_null(strstr(r->out, "layers:            2"));
    assert_non_null(strstr(r->out, "heads:             4 (KV heads 2, head size 16)"));
    assert_non_null(strstr(r->out, "32000 tokens"));
    assert_non_null(strstr(r->out, "F32 x21"));
    expect_tensor(r->out, "token_embd.weight", "F32", 64, 32000);
    expect_tensor(r->out, "output.weight", "F32", 64, 32000);
    expect_tensor(r->out, "blk.1.attn_k.weight", "F32", 64, 32);
    expect_tensor(r->out, "blk.1.ffn_down.weight", "F32", 256, 64);
    expect_tensor(r->out, "blk.0.ffn_up.weight", "F32", 64, 256);
    expect_tensor(r->out, "output_norm.weight", "F32", 64, 1);
    expect_runs(path, r);
    unlink(path);
    free(r);
}

static void test_synth_q8_0_model_loads_and_runs(void **state) {
    (void)state;
    if (!shared_path("vectors/tokenizer/ggml-vocab-llama-spm.gguf")) skip();
    run_result *r = calloc(1, sizeof *r);
    const char *path = model_path("q8_0");
    synth_small("Q8_0", "", path, r);
    info_of(path, r);
    expect_tensor(r->out, "output.weight", "Q8_0", 64, 32000);
    expect_tensor(r->out, "blk.0.attn_q.weight", "Q8_0", 64, 64);
    expect_tensor(r->out, "blk.0.attn_norm.weight", "F32", 64, 1);
    expect_runs(path, r);
    unlink(path);
    free(r);
}

static void test_synth_q4_k_m_follows_llama_quantize(void **state) {
    (void)state;
    if (!shared_path("vectors/tokenizer/ggml-vocab-llama-spm.gguf")) skip();
    run_result *r = calloc(1, sizeof *r);
    const char *path = model_path("q4_k_m");
    synth_small("Q4_K_M", "", path, r);
    info_of(path, r);
    /* rows of 64: Q4_K falls back to Q5_0, Q6_K to Q8_0; ffn_down rows of 256 stay K-quants,
     * with layer 1 of 2 getting more bits */
    expect_tensor(r->out, "output.weight", "Q8_0", 64, 32000);
    expect_tensor(r->out, "token_embd.weight", "Q5_0", 64, 32000);
    expect_tensor(r->out, "blk.0.ffn_down.weight", "Q4_K", 256, 64);
    expect_tensor(r->out, "blk.1.ffn_down.weight", "Q6_K", 256, 64);
    expect_tensor(r->out, "blk.0.attn_v.weight", "Q5_0", 64, 32);
    expect_tensor(r->out, "blk.1.attn_v.weight", "Q8_0", 64, 32);
    expect_tensor(r->out, "blk.1.ffn_norm.weight", "F32", 64, 1);
    expect_runs(path, r);
    unlink(path);
    free(r);
}

static int files_equal(const char *a, const char *b) {
    size_t len_a = 0, len_b = 0;
    char *x = read_whole_file(a, &len_a), *y = read_whole_file(b, &len_b);
    assert_non_null(x);
    assert_non_null(y);
    int same = len_a == len_b && memcmp(x, y, len_a) == 0;
    free(x);
    free(y);
    return same;
}

static void test_synth_seed_decides_the_bytes(void **state) {
    (void)state;
    if (!shared_path("vectors/tokenizer/ggml-vocab-llama-spm.gguf")) skip();
    run_result *r = calloc(1, sizeof *r);
    const char *a = model_path("seed_a"), *b = model_path("seed_b"), *c = model_path("seed_c");
    synth_small("Q4_K_M", "--seed 7 -t 1", a, r);
    synth_small("Q4_K_M", "--seed 7 -t 2", b, r); /* thread count does not matter */
    synth_small("Q4_K_M", "--seed 8", c, r);
    assert_true(files_equal(a, b));
    assert_false(files_equal(a, c));
    unlink(a);
    unlink(b);
    unlink(c);
    free(r);
}

static void test_synth_generated_vocabulary_runs(void **state) {
    (void)state;
    run_result *r = calloc(1, sizeof *r);
    const char *path = model_path("own_vocab");
    char args[1024];
    snprintf(args, sizeof args, "synth " SMALL_MODEL " --vocab 400 --type Q4_0 -o %s", path);
    run_cli(args, r);
    assert_int_equal(r->exit_code, 0);
    info_of(path, r);
    assert_non_null(strstr(r->out, "SentencePiece BPE (llama), 400 tokens, BOS 1, EOS 2"));
    expect_tensor(r->out, "output.weight", "Q8_0", 64, 400); /* Q6_K needs rows of 256 */
    expect_tensor(r->out, "blk.0.attn_q.weight", "Q4_0", 64, 64);
    expect_runs(path, r);
    unlink(path);
    free(r);
}

static void test_synth_rejects_bad_input(void **state) {
    (void)state;
    run_result *r = calloc(1, sizeof *r);
    const char *path = model_path("bad");
    char args[1024];
    snprintf(args, sizeof args, "synth " SMALL_MODEL " --vocab 400 --type Q9_9 -o %s", path);
    run_cli(args, r);
    assert_int_equal(r->exit_code, 2);
    assert_non_null(strstr(r->err, "Q9_9"));
    snprintf(args, sizeof args,
             "synth --dim 64 --layers 2 --heads 3 --ffn 256 --vocab 400 "
             "--type F16 -o %s",
             path);
    run_cli(args, r);
    assert_int_equal(r->exit_code, 2);
    snprintf(args, sizeof args, "synth " SMALL_MODEL " --vocab 100 --type F16 -o %s", path);
    run_cli(args, r);
    assert_int_equal(r->exit_code, 2);
    assert_int_equal(access(path, F_OK), -1);
    run_cli("synth --preset tiny15m --type Q4_0 -o /nonexistent-ifn-dir/m.gguf", r);
    assert_int_equal(r->exit_code, 1);
    assert_non_null(strstr(r->err, "/nonexistent-ifn-dir/m.gguf"));
    run_cli("synth --help", r);
    assert_int_equal(r->exit_code, 0);
    assert_non_null(strstr(r->out, "tinyllama1b"));
    free(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_synth_f32_model_loads_and_runs),
        cmocka_unit_test(test_synth_q8_0_model_loads_and_runs),
        cmocka_unit_test(test_synth_q4_k_m_follows_llama_quantize),
        cmocka_unit_test(test_synth_seed_decides_the_bytes),
        cmocka_unit_test(test_synth_generated_vocabulary_runs),
        cmocka_unit_test(test_synth_rejects_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
