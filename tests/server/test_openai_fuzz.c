/* Hostile request bodies against the OpenAI request layer (field checks, prompt building, chat
 * template rendering) on a real served model: thousands of mutated and random JSON bodies must
 * each be accepted or refused with a 4xx error naming something, never crash, hang or leak
 * (the suite runs this under ASan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "manager/served_model.h"
#include "server/openai_params.h"
#include "server/openai_prompt.h"
#include "support/shared.h"
#include "util/rng.h"

static const char *const seeds[] = {
    "{\"model\":\"m\",\"prompt\":\"Once upon a time\",\"max_tokens\":8,\"temperature\":0.5,"
    "\"stop\":[\"a\",\"b\"],\"logit_bias\":{\"5\":-100},\"logprobs\":2,\"n\":2,\"seed\":7}",
    "{\"prompt\":[1,2,3,4],\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
    "{\"prompt\":[[1,2],[3,4,5]],\"echo\":true,\"top_k\":40,\"min_p\":0.1}",
    "{\"prompt\":[\"a\",\"b\"],\"stop_token_ids\":[2],\"min_tokens\":1,\"max_tokens\":3}",
    "{\"messages\":[{\"role\":\"system\",\"content\":\"Be kind.\"},{\"role\":\"user\","
    "\"content\":\"Hi\"}],\"logprobs\":true,\"top_logprobs\":3}",
    "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
    "{\"type\":\"text\",\"text\":\"b\"}]}],\"chat_template_kwargs\":{\"x\":1},\"tools\":[]}",
};

/* One random edit: flip, insert or delete a byte, or splice in a JSON fragment. */
static size_t mutate(ifn_rng *rng, char *buf, size_t len, size_t cap) {
    static const char *const fragments[] = {"null", "[]", "{}", "-1", "1e999", "\"\\u0000\"",
                                            "true", "[[[[", "\"\\ud800\"", "0.0", "\"\xff\xfe\"",
                                            "99999999999999999999", ",", ":", "\""};
    size_t pos = len ? ifn_rng_next_u64(rng) % len : 0;
    switch (ifn_rng_next_u64(rng) % 4) {
    case 0:
        if (len) buf[pos] = (char)(ifn_rng_next_u64(rng) & 0xFF);
        return len;
    case 1:
        if (len + 1 >= cap) return len;
        memmove(buf + pos + 1, buf + pos, len - pos);
        buf[pos] = (char)(ifn_rng_next_u64(rng) & 0xFF);
        return len + 1;
    case 2:
        if (!len) return len;
        memmove(buf + pos, buf + pos + 1, len - pos - 1);
        return len - 1;
    default: {
        const char *f = fragments[ifn_rng_next_u64(rng) % (sizeof fragments / sizeof *fragments)];
        size_t n = strlen(f);
        if (len + n >= cap) return len;
        memmove(buf + pos + n, buf + pos, len - pos);
        memcpy(buf + pos, f, n);
        return len + n;
    }
    }
}

/* A JSON value of a random kind, valid or hostile for any field. */
static json_t *random_value(ifn_rng *rng) {
    static const char *const values[] = {
        "null", "true", "0", "-1", "2.5", "1e308", "-1e308", "9223372036854775807", "\"\"",
        "\"x\"", "\"\\u00e9\\ud83d\\ude00\"", "[]", "[1,2,3]", "[-5]", "[511]", "[512]",
        "[\"a\",1]", "[[1],[2,3]]", "[[]]", "{}", "{\"5\":1}", "{\"a\":1}", "{\"9999\":-100}",
        "[{\"role\":\"user\",\"content\":\"hi\"}]", "[{\"role\":1}]", "[{\"content\":null}]",
        "[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]",
        "{\"include_usage\":\"yes\"}", "{\"type\":\"json_object\"}", "\"<|im_start|>\""};
    const char *text = values[ifn_rng_next_u64(rng) % (sizeof values / sizeof *values)];
    json_error_t err;
    return json_loads(text, JSON_DECODE_ANY, &err);
}

/* Sets a random known field (or a random one) of a parsed seed to a random value. */
static void mutate_value(ifn_rng *rng, json_t *body) {
    static const char *const keys[] = {
        "prompt", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "n",
        "stop", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs",
        "seed", "stream", "stream_options", "user", "top_k", "min_p", "repetition_penalty",
        "min_tokens", "ignore_eos", "stop_token_ids", "priority", "echo", "suffix", "best_of",
        "response_format", "tools", "chat_template_kwargs", "add_generation_prompt",
        "add_special_tokens", "model", "unknown"};
    const char *key = keys[ifn_rng_next_u64(rng) % (sizeof keys / sizeof *keys)];
    json_t *value = random_value(rng);
    if (value) json_object_set_new(body, key, value);
}

/* What a handler does with a body, minus the engine: checks, prompts, template. */
static int process(const ifn_served_model *m, const json_t *body) {
    ifn_openai_error e;
    memset(&e, 0, sizeof e);
    int accepted = 0;
    for (int ep = 0; ep < 2; ep++) {
        ifn_openai_params p;
        ifn_openai_prompt_list list = {0};
        int rc = ifn_openai_params_parse(body, (ifn_openai_endpoint)ep, ifn_vocab_size(m->vocab),
                                         &p, &e);
        if (rc == 0)
            rc = ep == IFN_OPENAI_ENDPOINT_CHAT
                     ? ifn_openai_prompt_from_chat(m, body, &list, &e)
                     : ifn_openai_prompt_from_input(m, body, "prompt", &list, &e);
        if (rc == 0) rc = ifn_openai_prompt_check_length(m, &list, "prompt", &e);
        if (rc != 0) {
            assert_true(e.status >= 400 && e.status < 600);
            assert_true(strlen(e.message) > 0);
        } else {
            accepted++;
        }
        ifn_openai_prompt_list_free(&list);
        ifn_openai_params_free(&p);
    }
    return accepted;
}

static void test_mutated_bodies(void **state) {
    (void)state;
    const char *bin = shared_path("models/stories260K/stories260K.bin");
    const char *tok = shared_path("models/stories260K/tok512.bin");
    if (!bin || !tok) skip();
    ifn_served_model_params mp = ifn_served_model_params_default();
    mp.model_path = bin;
    mp.tokenizer_path = tok;
    mp.engine.n_threads = 1;
    mp.engine.max_num_seqs = 1;
    mp.engine.kv_cache_bytes = 1 << 20;
    ifn_served_model *m = NULL;
    assert_int_equal(ifn_served_model_load(&mp, &m), IFN_OK);
    ifn_rng rng;
    ifn_rng_seed(&rng, 42);
    char buf[4096];
    int parsed = 0, accepted = 0;
    for (int round = 0; round < 4000; round++) {
        const char *seed = seeds[round % (sizeof seeds / sizeof *seeds)];
        size_t len = strlen(seed);
        memcpy(buf, seed, len);
        int is_bytes = round % 2 == 0; /* byte edits (mostly bad JSON) or field values */
        int edits = 1 + (int)(ifn_rng_next_u64(&rng) % 3);
        for (int i = 0; is_bytes && i < edits; i++) len = mutate(&rng, buf, len, sizeof buf);
        json_error_t err;
        json_t *body = json_loadb(buf, len, 0, &err);
        for (int i = 0; !is_bytes && body && i < edits; i++) mutate_value(&rng, body);
        if (!json_is_object(body)) {
            json_decref(body);
            continue;
        }
        parsed++;
        accepted += process(m, body);
        json_decref(body);
    }
    /* The mutations reach the checks: many bodies still parse, some are still accepted. */
    print_message("parsed %d bodies, accepted %d (endpoint, body) pairs\n", parsed, accepted);
    assert_true(parsed > 2000);
    assert_true(accepted > 100);
    ifn_served_model_destroy(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_mutated_bodies)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
