/* Request field checks (see openai_params.h). Ranges follow OpenAI's API reference; the
 * extensions (top_k, min_p, repetition_penalty, min_tokens, ignore_eos, stop_token_ids,
 * priority) follow vLLM. */
#include "server/openai_params.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

#define MAX_STOP_STRINGS 16
#define MAX_STOP_BYTES 4096
#define MAX_SAMPLES 128

static int type_error(ifn_openai_error *e, const char *name, const char *what) {
    return ifn_openai_reply_fail(e, 400, name, "'%s' must be %s", name, what);
}

int ifn_openai_params_get_int(const json_t *body, const char *name, int64_t min, int64_t max,
                              int64_t *out, ifn_openai_error *e) {
    const json_t *v = json_object_get(body, name);
    if (!v || json_is_null(v)) return 0;
    double d;
    if (json_is_integer(v)) d = (double)json_integer_value(v);
    else if (json_is_real(v) && floor(json_real_value(v)) == json_real_value(v)) d = json_real_value(v);
    else return type_error(e, name, "an integer");
    if (d < (double)min || d > (double)max)
        return ifn_openai_reply_fail(e, 400, name, "'%s' must be between %lld and %lld, got %.0f",
                                     name, (long long)min, (long long)max, d);
    *out = json_is_integer(v) ? (int64_t)json_integer_value(v) : (int64_t)d;
    return 1;
}

static int get_number(const json_t *body, const char *name, double min, double max, float *out,
                      ifn_openai_error *e) {
    const json_t *v = json_object_get(body, name);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_number(v)) return type_error(e, name, "a number");
    double d = json_number_value(v);
    if (!(d >= min && d <= max))
        return ifn_openai_reply_fail(e, 400, name, "'%s' must be between %g and %g, got %g", name,
                                     min, max, d);
    *out = (float)d;
    return 1;
}

int ifn_openai_params_get_bool(const json_t *body, const char *name, int *out,
                               ifn_openai_error *e) {
    const json_t *v = json_object_get(body, name);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_boolean(v)) return type_error(e, name, "a boolean");
    *out = json_is_true(v);
    return 1;
}

int ifn_openai_params_get_string(const json_t *body, const char *name, const char **out,
                                 ifn_openai_error *e) {
    const json_t *v = json_object_get(body, name);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v)) return type_error(e, name, "a string");
    *out = json_string_value(v);
    return 1;
}

static int add_stop(ifn_openai_params *p, const json_t *v, ifn_openai_error *e) {
    if (!json_is_string(v)) return type_error(e, "stop", "a string or a list of strings");
    size_t len = json_string_length(v);
    if (len == 0) return ifn_openai_reply_fail(e, 400, "stop", "stop strings must not be empty");
    if (len > MAX_STOP_BYTES || memchr(json_string_value(v), '\0', len))
        return ifn_openai_reply_fail(e, 400, "stop", "a stop string is too long or holds NUL");
    if (p->sampling.n_stop >= MAX_STOP_STRINGS)
        return ifn_openai_reply_fail(e, 400, "stop", "at most %d stop strings", MAX_STOP_STRINGS);
    char *copy = ifn_malloc(len + 1);
    if (!copy) return ifn_openai_reply_fail(e, 500, NULL, "out of memory");
    memcpy(copy, json_string_value(v), len + 1);
    p->stop[p->sampling.n_stop++] = copy;
    return 0;
}

static int parse_stop(const json_t *body, ifn_openai_params *p, ifn_openai_error *e) {
    const json_t *v = json_object_get(body, "stop");
    if (!v || json_is_null(v)) return 0;
    p->stop = ifn_calloc(MAX_STOP_STRINGS, sizeof *p->stop);
    if (!p->stop) return ifn_openai_reply_fail(e, 500, NULL, "out of memory");
    if (json_is_array(v)) {
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item) if (add_stop(p, item, e) != 0) return -1;
    } else if (add_stop(p, v, e) != 0) {
        return -1;
    }
    p->sampling.stop = (const char *const *)p->stop;
    return 0;
}

static int parse_logit_bias(const json_t *body, int32_t n_vocab, ifn_openai_params *p,
                            ifn_openai_error *e) {
    const json_t *v = json_object_get(body, "logit_bias");
    if (!v || json_is_null(v)) return 0;
    if (!json_is_object(v)) return type_error(e, "logit_bias", "an object of token id -> bias");
    size_t n = json_object_size(v);
    p->logit_bias = ifn_calloc(n ? n : 1, sizeof *p->logit_bias);
    if (!p->logit_bias) return ifn_openai_reply_fail(e, 500, NULL, "out of memory");
    const char *key;
    const json_t *bias;
    json_object_foreach((json_t *)v, key, bias) {
        char *end;
        long id = strtol(key, &end, 10);
        if (*key == '\0' || *end != '\0' || id < 0 || id >= n_vocab)
            return ifn_openai_reply_fail(e, 400, "logit_bias",
                                         "logit_bias key '%s' is not a token id below %d", key,
                                         n_vocab);
        if (!json_is_number(bias) || fabs(json_number_value(bias)) > 100.0)
            return ifn_openai_reply_fail(e, 400, "logit_bias",
                                         "logit_bias values must be numbers from -100 to 100");
        p->logit_bias[p->sampling.n_logit_bias++] =
            (ifn_logit_bias){(int32_t)id, (float)json_number_value(bias)};
    }
    p->sampling.logit_bias = p->logit_bias;
    return 0;
}

static int parse_stop_token_ids(const json_t *body, int32_t n_vocab, ifn_openai_params *p,
                                ifn_openai_error *e) {
    const json_t *v = json_object_get(body, "stop_token_ids");
    if (!v || json_is_null(v)) return 0;
    if (!json_is_array(v)) return type_error(e, "stop_token_ids", "a list of token ids");
    size_t n = json_array_size(v);
    p->stop_token_ids = ifn_calloc(n ? n : 1, sizeof *p->stop_token_ids);
    if (!p->stop_token_ids) return ifn_openai_reply_fail(e, 500, NULL, "out of memory");
    size_t i;
    const json_t *item;
    json_array_foreach(v, i, item) {
        if (!json_is_integer(item) || json_integer_value(item) < 0 ||
            json_integer_value(item) >= n_vocab)
            return ifn_openai_reply_fail(e, 400, "stop_token_ids",
                                         "stop_token_ids must be token ids below %d", n_vocab);
        p->stop_token_ids[p->n_stop_token_ids++] = (int32_t)json_integer_value(item);
    }
    return 0;
}

/* logprobs: an integer 0..20 for completions; a boolean plus top_logprobs 0..20 for chat. */
static int parse_logprobs(const json_t *body, ifn_openai_endpoint ep, ifn_openai_params *p,
                          ifn_openai_error *e) {
    int64_t top = -1;
    if (ep == IFN_OPENAI_ENDPOINT_COMPLETIONS) {
        if (ifn_openai_params_get_int(body, "logprobs", 0, 20, &top, e) < 0) return -1;
        p->top_logprobs = (int32_t)top;
        return 0;
    }
    int wanted = 0;
    if (ifn_openai_params_get_bool(body, "logprobs", &wanted, e) < 0) return -1;
    int has_top = ifn_openai_params_get_int(body, "top_logprobs", 0, 20, &top, e);
    if (has_top < 0) return -1;
    if (has_top && !wanted)
        return ifn_openai_reply_fail(e, 400, "top_logprobs",
                                     "'top_logprobs' needs 'logprobs' set to true");
    p->top_logprobs = wanted ? (int32_t)(has_top ? top : 0) : -1;
    return 0;
}

static int parse_unsupported(const json_t *body, ifn_openai_endpoint ep, const ifn_openai_params *p,
                             ifn_openai_error *e) {
    const char *suffix = NULL;
    if (ifn_openai_params_get_string(body, "suffix", &suffix, e) < 0) return -1;
    if (suffix && *suffix)
        return ifn_openai_reply_fail(e, 400, "suffix", "'suffix' (fill-in-the-middle) is not "
                                                       "supported");
    int64_t best_of = p->n;
    if (ifn_openai_params_get_int(body, "best_of", 1, MAX_SAMPLES, &best_of, e) < 0) return -1;
    if (best_of != p->n)
        return ifn_openai_reply_fail(e, 400, "best_of", "'best_of' other than 'n' is not supported");
    const json_t *format = json_object_get(body, "response_format");
    if (format && !json_is_null(format)) {
        const json_t *type = json_object_get(format, "type");
        if (!json_is_object(format) || !json_is_string(type))
            return type_error(e, "response_format", "an object with a 'type'");
        if (strcmp(json_string_value(type), "text") != 0)
            return ifn_openai_reply_fail(e, 400, "response_format",
                                         "response_format '%s' is not supported (only 'text')",
                                         json_string_value(type));
    }
    if (ep == IFN_OPENAI_ENDPOINT_CHAT && p->echo)
        return ifn_openai_reply_fail(e, 400, "echo", "'echo' is for /v1/completions");
    if (p->echo && p->top_logprobs >= 0)
        return ifn_openai_reply_fail(e, 400, "echo", "'echo' with 'logprobs' is not supported "
                                                     "(prompt logprobs are not computed)");
    return 0;
}

static int parse_stream(const json_t *body, ifn_openai_params *p, ifn_openai_error *e) {
    if (ifn_openai_params_get_bool(body, "stream", &p->stream, e) < 0) return -1;
    const json_t *opts = json_object_get(body, "stream_options");
    if (!opts || json_is_null(opts)) return 0;
    if (!json_is_object(opts)) return type_error(e, "stream_options", "an object");
    if (!p->stream)
        return ifn_openai_reply_fail(e, 400, "stream_options",
                                     "'stream_options' is only allowed when 'stream' is true");
    int usage = 0;
    if (ifn_openai_params_get_bool(opts, "include_usage", &usage, e) < 0) {
        snprintf(e->param, sizeof e->param, "stream_options.include_usage");
        return -1;
    }
    p->include_usage = usage;
    return 0;
}

/* Numbers and flags of the sampler. */
static int parse_sampling(const json_t *body, ifn_openai_endpoint ep, ifn_openai_params *p,
                          ifn_openai_error *e) {
    ifn_generate_params *s = &p->sampling;
    int64_t v;
    int rc = ifn_openai_params_get_int(body, "max_completion_tokens", 1, INT32_MAX, &v, e);
    if (rc == 0) rc = ifn_openai_params_get_int(body, "max_tokens", 1, INT32_MAX, &v, e);
    if (rc < 0) return -1;
    p->has_max_tokens = rc;
    s->max_tokens = rc ? (int32_t)v : (ep == IFN_OPENAI_ENDPOINT_COMPLETIONS ? 16 : INT32_MAX);
    if (get_number(body, "temperature", 0.0, 2.0, &s->temperature, e) < 0) return -1;
    if (get_number(body, "top_p", 1e-9, 1.0, &s->top_p, e) < 0) return -1;
    if (get_number(body, "min_p", 0.0, 1.0, &s->min_p, e) < 0) return -1;
    if (get_number(body, "presence_penalty", -2.0, 2.0, &s->presence_penalty, e) < 0) return -1;
    if (get_number(body, "frequency_penalty", -2.0, 2.0, &s->frequency_penalty, e) < 0) return -1;
    if (get_number(body, "repetition_penalty", 1e-9, 2.0, &s->repetition_penalty, e) < 0) return -1;
    v = 0;
    if (ifn_openai_params_get_int(body, "top_k", -1, INT32_MAX, &v, e) < 0) return -1;
    s->top_k = v > 0 ? (int32_t)v : 0;
    rc = ifn_openai_params_get_int(body, "seed", INT64_MIN, INT64_MAX, &v, e);
    if (rc < 0) return -1;
    s->has_seed = rc;
    s->seed = rc ? (uint64_t)v : 0;
    if (ifn_openai_params_get_bool(body, "ignore_eos", &s->ignore_eos, e) < 0) return -1;
    v = 1;
    if (ifn_openai_params_get_int(body, "n", 1, MAX_SAMPLES, &v, e) < 0) return -1;
    p->n = (int32_t)v;
    v = 0;
    if (ifn_openai_params_get_int(body, "min_tokens", 0, INT32_MAX, &v, e) < 0) return -1;
    p->min_tokens = (int32_t)v;
    if (p->has_max_tokens && p->min_tokens > s->max_tokens)
        return ifn_openai_reply_fail(e, 400, "min_tokens",
                                     "'min_tokens' must not exceed 'max_tokens'");
    v = 0;
    if (ifn_openai_params_get_int(body, "priority", INT32_MIN, INT32_MAX, &v, e) < 0) return -1;
    p->priority = (int32_t)v;
    return 0;
}

int ifn_openai_params_parse(const json_t *body, ifn_openai_endpoint ep, int32_t n_vocab,
                            ifn_openai_params *p, ifn_openai_error *e) {
    memset(p, 0, sizeof *p);
    p->sampling = ifn_generate_params_default();
    p->n = 1;
    p->top_logprobs = -1;
    if (ifn_openai_params_get_string(body, "model", &p->model, e) < 0) return -1;
    const char *user = NULL;
    if (ifn_openai_params_get_string(body, "user", &user, e) < 0) return -1;
    if (parse_sampling(body, ep, p, e) < 0) return -1;
    if (parse_stream(body, p, e) < 0) return -1;
    if (parse_stop(body, p, e) < 0) return -1;
    if (parse_logit_bias(body, n_vocab, p, e) < 0) return -1;
    if (parse_stop_token_ids(body, n_vocab, p, e) < 0) return -1;
    if (parse_logprobs(body, ep, p, e) < 0) return -1;
    if (ifn_openai_params_get_bool(body, "echo", &p->echo, e) < 0) return -1;
    return parse_unsupported(body, ep, p, e);
}

void ifn_openai_params_free(ifn_openai_params *p) {
    if (p->stop)
        for (int32_t i = 0; i < p->sampling.n_stop; i++) ifn_free(p->stop[i]);
    ifn_free(p->stop);
    ifn_free(p->logit_bias);
    ifn_free(p->stop_token_ids);
    memset(p, 0, sizeof *p);
}
