/* Request prompts -> token ids (see openai_prompt.h). */
#include "server/openai_prompt.h"

#include <string.h>

#include "server/openai_params.h"
#include "util/alloc.h"
#include "util/status.h"

#define MAX_PROMPTS 1024

static int tokenize(const ifn_served_model *m, const char *text, size_t len, int flags,
                    ifn_openai_prompt *out, const char *field, ifn_openai_error *e) {
    ifn_token_vec vec = {0};
    ifn_status st = ifn_vocab_tokenize(m->vocab, text, len, flags, &vec);
    if (st != IFN_OK) {
        ifn_token_vec_free(&vec);
        if (st == IFN_E_NOMEM) return ifn_openai_reply_fail(e, 500, NULL, "out of memory");
        return ifn_openai_reply_fail(e, 400, field, "cannot tokenize '%s': %s", field,
                                     ifn_last_error());
    }
    out->text = ifn_strndup(text, len);
    if (!out->text) {
        ifn_token_vec_free(&vec);
        return ifn_openai_reply_fail(e, 500, NULL, "out of memory");
    }
    out->ids = vec.ids;
    out->n_ids = (int32_t)vec.count;
    return 0;
}

static int from_ids(const ifn_served_model *m, const json_t *array, ifn_openai_prompt *out,
                    const char *field, ifn_openai_error *e) {
    size_t n = json_array_size(array);
    int32_t n_vocab = ifn_vocab_size(m->vocab);
    out->ids = ifn_malloc((n ? n : 1) * sizeof *out->ids);
    if (!out->ids) return ifn_openai_reply_fail(e, 500, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(array, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= n_vocab)
            return ifn_openai_reply_fail(e, 400, field, "token ids in '%s' must be integers "
                                                        "from 0 to %d", field, n_vocab - 1);
        out->ids[i] = (int32_t)json_integer_value(v);
    }
    out->n_ids = (int32_t)n;
    size_t len = 0;
    /* As generated text is shown: without the space SentencePiece put before the first word. */
    if (ifn_vocab_detokenize(m->vocab, out->ids, n, IFN_DETOKENIZE_STRIP_LEADING, &out->text,
                             &len) != IFN_OK)
        return ifn_openai_reply_fail(e, 500, NULL, "cannot detokenize the prompt");
    return 0;
}

static int one_input(const ifn_served_model *m, const json_t *v, int flags, ifn_openai_prompt *out,
                     const char *field, ifn_openai_error *e) {
    if (json_is_string(v))
        return tokenize(m, json_string_value(v), json_string_length(v), flags, out, field, e);
    if (json_is_array(v)) return from_ids(m, v, out, field, e);
    return ifn_openai_reply_fail(e, 400, field, "'%s' must be a string, a list of strings, a list "
                                                "of token ids or a list of such lists", field);
}

static int alloc_list(ifn_openai_prompt_list *out, size_t count, const char *field,
                      ifn_openai_error *e) {
    if (count == 0) return ifn_openai_reply_fail(e, 400, field, "'%s' must not be empty", field);
    if (count > MAX_PROMPTS)
        return ifn_openai_reply_fail(e, 400, field, "at most %d entries in '%s'", MAX_PROMPTS,
                                     field);
    out->items = ifn_calloc(count, sizeof *out->items);
    if (!out->items) return ifn_openai_reply_fail(e, 500, NULL, "out of memory");
    out->count = (int32_t)count;
    return 0;
}

int ifn_openai_prompt_from_input(const ifn_served_model *m, const json_t *body, const char *field,
                                 ifn_openai_prompt_list *out, ifn_openai_error *e) {
    memset(out, 0, sizeof *out);
    const json_t *v = json_object_get(body, field);
    if (!v || json_is_null(v))
        return ifn_openai_reply_fail(e, 400, field, "'%s' is required", field);
    int add_special = 1;
    if (ifn_openai_params_get_bool(body, "add_special_tokens", &add_special, e) < 0) return -1;
    int flags = IFN_TOKENIZE_PARSE_SPECIAL | (add_special ? IFN_TOKENIZE_ADD_SPECIAL : 0);
    /* A list of strings or of lists is several prompts; a list of numbers is one. */
    int is_batch = json_is_array(v) && json_array_size(v) > 0 &&
                   !json_is_number(json_array_get(v, 0));
    if (!is_batch) {
        if (alloc_list(out, 1, field, e) != 0) return -1;
        return one_input(m, v, flags, &out->items[0], field, e);
    }
    if (alloc_list(out, json_array_size(v), field, e) != 0) return -1;
    for (int32_t i = 0; i < out->count; i++) {
        const json_t *item = json_array_get(v, (size_t)i);
        if (json_is_array(item) && json_array_size(item) > 0 &&
            !json_is_number(json_array_get(item, 0)))
            return ifn_openai_reply_fail(e, 400, field, "'%s' nests lists too deeply", field);
        if (one_input(m, item, flags, &out->items[i], field, e) != 0) return -1;
    }
    return 0;
}

/* Message content as the template expects it: a string (text parts joined by newlines), or
 * null for an assistant message that only calls tools. */
static json_t *message_content(const json_t *content, int32_t index, ifn_openai_error *e) {
    if (json_is_string(content) || json_is_null(content) || !content)
        return content ? json_deep_copy(content) : json_null();
    if (!json_is_array(content)) {
        ifn_openai_reply_fail(e, 400, "messages", "messages[%d].content must be a string or a "
                                                  "list of content parts", index);
        return NULL;
    }
    size_t total = 0, i;
    const json_t *part;
    json_array_foreach(content, i, part) {
        const char *type = json_string_value(json_object_get(part, "type"));
        const json_t *text = json_object_get(part, "text");
        if (!type || strcmp(type, "text") != 0 || !json_is_string(text)) {
            ifn_openai_reply_fail(e, 400, "messages", "messages[%d].content[%zu]: only text parts "
                                                      "are supported", index, i);
            return NULL;
        }
        total += json_string_length(text) + 1;
    }
    char *joined = ifn_malloc(total + 1);
    if (!joined) return NULL;
    size_t len = 0;
    json_array_foreach(content, i, part) {
        const json_t *text = json_object_get(part, "text");
        if (len) joined[len++] = '\n';
        memcpy(joined + len, json_string_value(text), json_string_length(text));
        len += json_string_length(text);
    }
    json_t *out = json_stringn(joined, len);
    ifn_free(joined);
    return out;
}

static json_t *normalise_messages(const json_t *messages, ifn_openai_error *e) {
    if (!json_is_array(messages) || json_array_size(messages) == 0) {
        ifn_openai_reply_fail(e, 400, "messages", "'messages' must be a non-empty list");
        return NULL;
    }
    json_t *out = json_array();
    size_t i;
    const json_t *msg;
    json_array_foreach(messages, i, msg) {
        const json_t *role = json_object_get(msg, "role");
        if (!json_is_object(msg) || !json_is_string(role)) {
            ifn_openai_reply_fail(e, 400, "messages", "messages[%zu] must be an object with a "
                                                      "string 'role'", i);
            json_decref(out);
            return NULL;
        }
        json_t *content = message_content(json_object_get(msg, "content"), (int32_t)i, e);
        json_t *copy = content ? json_deep_copy(msg) : NULL;
        if (!copy || json_object_set_new(copy, "content", content) != 0 ||
            json_array_append_new(out, copy) != 0) {
            if (e->status == 0) ifn_openai_reply_fail(e, 500, NULL, "out of memory");
            if (!copy) json_decref(content); /* set_new and append_new consume on failure */
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static json_t *template_variables(const ifn_served_model *m, const json_t *body,
                                  ifn_openai_error *e) {
    json_t *messages = normalise_messages(json_object_get(body, "messages"), e);
    if (!messages) return NULL;
    json_t *vars = json_object();
    json_object_set_new(vars, "messages", messages);
    int add_generation_prompt = 1;
    if (ifn_openai_params_get_bool(body, "add_generation_prompt", &add_generation_prompt, e) < 0) {
        json_decref(vars);
        return NULL;
    }
    json_object_set_new(vars, "add_generation_prompt", json_boolean(add_generation_prompt));
    json_object_set_new(vars, "bos_token", json_string(m->bos_text));
    json_object_set_new(vars, "eos_token", json_string(m->eos_text));
    const json_t *tools = json_object_get(body, "tools");
    if (tools && !json_is_null(tools)) json_object_set(vars, "tools", (json_t *)tools);
    const json_t *kwargs = json_object_get(body, "chat_template_kwargs");
    if (kwargs && !json_is_null(kwargs)) {
        if (!json_is_object(kwargs)) {
            ifn_openai_reply_fail(e, 400, "chat_template_kwargs", "must be an object");
            json_decref(vars);
            return NULL;
        }
        json_object_update(vars, (json_t *)kwargs);
    }
    return vars;
}

int ifn_openai_prompt_from_chat(const ifn_served_model *m, const json_t *body,
                                ifn_openai_prompt_list *out, ifn_openai_error *e) {
    memset(out, 0, sizeof *out);
    e->status = 0;
    json_t *vars = template_variables(m, body, e);
    if (!vars) return e->status ? -1 : ifn_openai_reply_fail(e, 500, NULL, "out of memory");
    char *text = NULL;
    size_t len = 0;
    ifn_status st = ifn_chat_template_render(m->chat_template, vars, &text, &len);
    json_decref(vars);
    if (st != IFN_OK)
        return ifn_openai_reply_fail(e, st == IFN_E_NOMEM ? 500 : 400, "messages",
                                     "chat template: %s", ifn_last_error());
    /* The template usually writes BOS itself; add it only when it did not. */
    size_t bos_len = strlen(m->bos_text);
    int has_bos = bos_len > 0 && len >= bos_len && memcmp(text, m->bos_text, bos_len) == 0;
    int flags = IFN_TOKENIZE_PARSE_SPECIAL | (has_bos ? 0 : IFN_TOKENIZE_ADD_SPECIAL);
    int rc = alloc_list(out, 1, "messages", e);
    if (rc == 0) rc = tokenize(m, text, len, flags, &out->items[0], "messages", e);
    ifn_free(text);
    return rc;
}

int ifn_openai_prompt_check_length(const ifn_served_model *m, const ifn_openai_prompt_list *list,
                                   const char *what, ifn_openai_error *e) {
    for (int32_t i = 0; i < list->count; i++) {
        int32_t n = list->items[i].n_ids;
        if (n == 0)
            return ifn_openai_reply_fail(e, 400, what, "the %s is empty after tokenization", what);
        if (n >= m->n_ctx) {
            ifn_openai_reply_fail(e, 400, what, "This model's maximum context length is %d "
                                                "tokens. However, your %s resulted in %d tokens.",
                                  m->n_ctx, what, n);
            e->code = "context_length_exceeded";
            return -1;
        }
    }
    return 0;
}

void ifn_openai_prompt_list_free(ifn_openai_prompt_list *list) {
    for (int32_t i = 0; list->items && i < list->count; i++) {
        ifn_free(list->items[i].ids);
        ifn_free(list->items[i].text);
    }
    ifn_free(list->items);
    memset(list, 0, sizeof *list);
}
