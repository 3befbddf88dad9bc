#include "server/openai_format.h"

#include <math.h>
#include <string.h>

#include "util/json.h"

/* JSON has no -Infinity; vLLM reports impossible tokens as -9999. */
static json_t *logprob_value(float lp) {
    return json_real(isfinite(lp) ? (double)lp : -9999.0);
}

json_t *ifn_openai_format_usage(int64_t prompt, int64_t completion, int64_t cached) {
    return json_pack("{s:I,s:I,s:I,s:{s:I}}", "prompt_tokens", (json_int_t)prompt,
                     "completion_tokens", (json_int_t)completion, "total_tokens",
                     (json_int_t)(prompt + completion), "prompt_tokens_details", "cached_tokens",
                     (json_int_t)cached);
}

/* The token's bytes: its text (possibly a partial UTF-8 sequence) and the byte values. */
static int token_piece(const ifn_vocab *vocab, int32_t token, char *buf, size_t cap,
                       size_t *out_len) {
    /* Control tokens (an end-of-generation token) have no text, as in the completion text. */
    if (ifn_vocab_token_to_piece(vocab, token, 0, buf, cap, out_len) != IFN_OK)
        return -1;
    if (*out_len > cap) *out_len = cap;
    return 0;
}

static json_t *chat_token(const ifn_vocab *vocab, int32_t token, float lp) {
    char piece[256];
    size_t len = 0;
    if (token_piece(vocab, token, piece, sizeof piece, &len) != 0) len = 0;
    json_t *bytes = json_array();
    for (size_t i = 0; i < len; i++) json_array_append_new(bytes, json_integer((unsigned char)piece[i]));
    return json_pack("{s:o,s:o,s:o}", "token", ifn_json_string(piece, len), "logprob",
                     logprob_value(lp), "bytes", bytes);
}

json_t *ifn_openai_format_chat_logprob(const ifn_vocab *vocab, const ifn_sampler_logprobs *lp) {
    json_t *entry = chat_token(vocab, lp->token, lp->logprob);
    json_t *top = json_array();
    if (!entry || !top) {
        json_decref(entry);
        json_decref(top);
        return NULL;
    }
    for (int32_t i = 0; i < lp->n_top; i++)
        json_array_append_new(top, chat_token(vocab, lp->top[i].token, lp->top[i].logprob));
    json_object_set_new(entry, "top_logprobs", top);
    return entry;
}

json_t *ifn_openai_format_completion_logprobs(void) {
    return json_pack("{s:[],s:[],s:[],s:[]}", "tokens", "token_logprobs", "top_logprobs",
                     "text_offset");
}

/* Characters (code points) of a JSON string: bytes that do not continue a UTF-8 sequence. */
static int64_t count_chars(const json_t *text) {
    int64_t n = 0;
    const char *s = json_string_value(text);
    for (size_t i = 0; s && i < json_string_length(text); i++) n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

int64_t ifn_openai_format_completion_logprobs_add(json_t *obj, const ifn_vocab *vocab,
                                                  const ifn_sampler_logprobs *lp, int64_t offset) {
    char piece[256];
    size_t len = 0;
    if (token_piece(vocab, lp->token, piece, sizeof piece, &len) != 0) len = 0;
    json_t *top = json_object();
    for (int32_t i = 0; top && i < lp->n_top; i++) {
        char alt[256];
        size_t alt_len = 0;
        if (token_piece(vocab, lp->top[i].token, alt, sizeof alt - 1, &alt_len) != 0) alt_len = 0;
        json_t *key = ifn_json_string(alt, alt_len); /* object keys must be valid UTF-8 */
        if (key) json_object_set_new(top, json_string_value(key), logprob_value(lp->top[i].logprob));
        json_decref(key);
    }
    json_t *token = ifn_json_string(piece, len);
    int64_t next_offset = offset + (token ? count_chars(token) : 0);
    int rc = 0;
    rc |= json_array_append_new(json_object_get(obj, "tokens"), token);
    rc |= json_array_append_new(json_object_get(obj, "token_logprobs"), logprob_value(lp->logprob));
    rc |= json_array_append_new(json_object_get(obj, "top_logprobs"), top);
    rc |= json_array_append_new(json_object_get(obj, "text_offset"), json_integer(offset));
    return rc ? -1 : next_offset;
}

json_t *ifn_openai_format_chunk(ifn_openai_endpoint ep, const char *id, int64_t created,
                                const char *model, int32_t index, const char *text, size_t len,
                                int with_role, json_t *logprobs, const char *finish_reason) {
    json_t *choice = json_pack("{s:i}", "index", (int)index);
    if (!choice) {
        json_decref(logprobs);
        return NULL;
    }
    if (ep == IFN_OPENAI_ENDPOINT_CHAT) {
        json_t *delta = json_object();
        if (with_role) json_object_set_new(delta, "role", json_string("assistant"));
        if (len > 0 || with_role) json_object_set_new(delta, "content", ifn_json_string(text, len));
        json_object_set_new(choice, "delta", delta);
        if (logprobs) logprobs = json_pack("{s:o}", "content", logprobs);
    } else {
        json_object_set_new(choice, "text", ifn_json_string(text, len));
    }
    json_object_set_new(choice, "logprobs", logprobs ? logprobs : json_null());
    json_object_set_new(choice, "finish_reason",
                        finish_reason ? json_string(finish_reason) : json_null());
    const char *object =
        ep == IFN_OPENAI_ENDPOINT_CHAT ? "chat.completion.chunk" : "text_completion";
    return json_pack("{s:s,s:s,s:I,s:s,s:[o]}", "id", id, "object", object, "created",
                     (json_int_t)created, "model", model, "choices", choice);
}

json_t *ifn_openai_format_usage_chunk(ifn_openai_endpoint ep, const char *id, int64_t created,
                                      const char *model, json_t *usage) {
    const char *object =
        ep == IFN_OPENAI_ENDPOINT_CHAT ? "chat.completion.chunk" : "text_completion";
    return json_pack("{s:s,s:s,s:I,s:s,s:[],s:o}", "id", id, "object", object, "created",
                     (json_int_t)created, "model", model, "choices", "usage", usage);
}

int64_t ifn_openai_format_char_count(const char *text, size_t len) {
    json_t *value = ifn_json_string(text, len);
    int64_t n = value ? count_chars(value) : 0;
    json_decref(value);
    return n;
}
