/* Request-field checks of the OpenAI endpoints: defaults, every accepted form, and a 400 naming
 * the field for each wrong type or out-of-range value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "server/openai_params.h"

#define N_VOCAB 512

static int parse(const char *json, ifn_openai_endpoint ep, ifn_openai_params *p,
                 ifn_openai_error *e) {
    json_error_t err;
    json_t *body = json_loads(json, 0, &err);
    assert_non_null(body);
    memset(e, 0, sizeof *e);
    int rc = ifn_openai_params_parse(body, ep, N_VOCAB, p, e);
    json_decref(body);
    if (rc == 0) p->model = NULL; /* borrowed from the freed body */
    return rc;
}

static void expect_error(const char *json, ifn_openai_endpoint ep, const char *param) {
    ifn_openai_params p;
    ifn_openai_error e;
    assert_int_equal(parse(json, ep, &p, &e), -1);
    assert_int_equal(e.status, 400);
    assert_string_equal(e.type, "invalid_request_error");
    assert_string_equal(e.param, param);
    assert_true(strlen(e.message) > 0);
    ifn_openai_params_free(&p);
}

static void test_defaults(void **state) {
    (void)state;
    ifn_openai_params p;
    ifn_openai_error e;
    assert_int_equal(parse("{}", IFN_OPENAI_ENDPOINT_COMPLETIONS, &p, &e), 0);
    assert_int_equal(p.sampling.max_tokens, 16); /* OpenAI's completions default */
    assert_int_equal(p.has_max_tokens, 0);
    assert_true(p.sampling.temperature == 1.0f);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.stream, 0);
    assert_int_equal(p.top_logprobs, -1);
    ifn_openai_params_free(&p);
    assert_int_equal(parse("{}", IFN_OPENAI_ENDPOINT_CHAT, &p, &e), 0);
    assert_int_equal(p.sampling.max_tokens, INT32_MAX); /* chat: up to the context end */
    ifn_openai_params_free(&p);
}

static void test_all_fields(void **state) {
    (void)state;
    ifn_openai_params p;
    ifn_openai_error e;
    const char *json = "{\"model\":\"m\",\"max_tokens\":7,\"temperature\":0.5,\"top_p\":0.9,"
                       "\"n\":3,\"stop\":[\"a\",\"bc\"],\"presence_penalty\":1,"
                       "\"frequency_penalty\":-1,\"logit_bias\":{\"5\":-100,\"7\":2.5},"
                       "\"logprobs\":3,\"seed\":42,\"stream\":true,"
                       "\"stream_options\":{\"include_usage\":true},\"user\":\"u\",\"top_k\":40,"
                       "\"min_p\":0.05,\"repetition_penalty\":1.1,\"min_tokens\":2,"
                       "\"ignore_eos\":true,\"stop_token_ids\":[2,9],\"priority\":-3,"
                       "\"unknown_field\":{\"ignored\":1}}";
    assert_int_equal(parse(json, IFN_OPENAI_ENDPOINT_COMPLETIONS, &p, &e), 0);
    assert_int_equal(p.sampling.max_tokens, 7);
    assert_true(p.sampling.temperature == 0.5f);
    assert_int_equal(p.n, 3);
    assert_int_equal(p.sampling.n_stop, 2);
    assert_string_equal(p.sampling.stop[1], "bc");
    assert_int_equal(p.sampling.n_logit_bias, 2);
    assert_int_equal(p.top_logprobs, 3);
    assert_int_equal(p.sampling.has_seed, 1);
    assert_int_equal((int)p.sampling.seed, 42);
    assert_int_equal(p.stream, 1);
    assert_int_equal(p.include_usage, 1);
    assert_int_equal(p.sampling.top_k, 40);
    assert_int_equal(p.min_tokens, 2);
    assert_int_equal(p.sampling.ignore_eos, 1);
    assert_int_equal(p.n_stop_token_ids, 2);
    assert_int_equal(p.stop_token_ids[1], 9);
    assert_int_equal(p.priority, -3);
    ifn_openai_params_free(&p);
}

static void test_chat_logprobs_and_stop_string(void **state) {
    (void)state;
    ifn_openai_params p;
    ifn_openai_error e;
    assert_int_equal(parse("{\"logprobs\":true,\"top_logprobs\":5,\"stop\":\"END\","
                           "\"max_completion_tokens\":9}",
                           IFN_OPENAI_ENDPOINT_CHAT, &p, &e), 0);
    assert_int_equal(p.top_logprobs, 5);
    assert_int_equal(p.sampling.n_stop, 1);
    assert_int_equal(p.sampling.max_tokens, 9);
    ifn_openai_params_free(&p);
    assert_int_equal(parse("{\"logprobs\":false}", IFN_OPENAI_ENDPOINT_CHAT, &p, &e), 0);
    assert_int_equal(p.top_logprobs, -1);
    ifn_openai_params_free(&p);
}

static void test_errors_name_the_field(void **state) {
    (void)state;
    const ifn_openai_endpoint C = IFN_OPENAI_ENDPOINT_COMPLETIONS, CHAT = IFN_OPENAI_ENDPOINT_CHAT;
    expect_error("{\"temperature\":\"hot\"}", C, "temperature");
    expect_error("{\"temperature\":2.5}", C, "temperature");
    expect_error("{\"top_p\":0}", C, "top_p");
    expect_error("{\"n\":0}", C, "n");
    expect_error("{\"n\":1.5}", C, "n");
    expect_error("{\"max_tokens\":-1}", C, "max_tokens");
    expect_error("{\"max_tokens\":\"10\"}", C, "max_tokens");
    expect_error("{\"stop\":5}", C, "stop");
    expect_error("{\"stop\":[\"\"]}", C, "stop");
    expect_error("{\"stop\":[\"a\",1]}", C, "stop");
    expect_error("{\"presence_penalty\":3}", C, "presence_penalty");
    expect_error("{\"logit_bias\":{\"x\":1}}", C, "logit_bias");
    expect_error("{\"logit_bias\":{\"512\":1}}", C, "logit_bias");
    expect_error("{\"logit_bias\":{\"3\":101}}", C, "logit_bias");
    expect_error("{\"logprobs\":21}", C, "logprobs");
    expect_error("{\"logprobs\":3}", CHAT, "logprobs");
    expect_error("{\"top_logprobs\":2}", CHAT, "top_logprobs");
    expect_error("{\"stream\":\"yes\"}", C, "stream");
    expect_error("{\"stream_options\":{\"include_usage\":true}}", C, "stream_options");
    expect_error("{\"stream\":true,\"stream_options\":{\"include_usage\":1}}", C,
                 "stream_options.include_usage");
    expect_error("{\"seed\":\"1\"}", C, "seed");
    expect_error("{\"model\":7}", C, "model");
    expect_error("{\"user\":[]}", C, "user");
    expect_error("{\"stop_token_ids\":[600]}", C, "stop_token_ids");
    expect_error("{\"max_tokens\":3,\"min_tokens\":4}", C, "min_tokens");
    expect_error("{\"suffix\":\"tail\"}", C, "suffix");
    expect_error("{\"best_of\":3}", C, "best_of");
    expect_error("{\"response_format\":{\"type\":\"json_object\"}}", CHAT, "response_format");
    expect_error("{\"echo\":true}", CHAT, "echo");
    expect_error("{\"echo\":true,\"logprobs\":1}", C, "echo");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_all_fields),
        cmocka_unit_test(test_chat_logprobs_and_stop_string),
        cmocka_unit_test(test_errors_name_the_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
