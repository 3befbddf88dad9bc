#include "server/openai_info.h"

#include <string.h>

#include "server/binding.h"
#include "server/openai_http.h"
#include <stdio.h>
#include "server/openai_params.h"
#include "server/openai_prompt.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/status.h"

/* A model's public id: "name@version" for repository models, the plain name for added ones. */
static void model_id(const ifn_manager_model_info *info, char *out, size_t cap) {
    if (info->is_added) snprintf(out, cap, "%s", info->name);
    else snprintf(out, cap, "%s@%lld", info->name, (long long)info->version);
}

static json_t *model_json(ifn_server *s, const ifn_manager_model_info *info) {
    char id[192];
    model_id(info, id, sizeof id);
    json_t *aliases = json_array();
    for (int32_t i = 0; i < info->n_aliases; i++)
        json_array_append_new(aliases, json_string(info->aliases[i]));
    json_t *m = json_pack("{s:s,s:s,s:I,s:s,s:s,s:I,s:o,s:s,s:i,s:I,s:b}", "id", id, "object",
                          "model", "created", (json_int_t)s->started_unix, "owned_by", "inferneo",
                          "name", info->name, "version", (json_int_t)info->version, "aliases",
                          aliases, "status", ifn_manager_state_str(info->state), "max_model_len",
                          (int)info->n_ctx, "estimated_bytes",
                          (json_int_t)info->estimated_bytes, "pinned", info->is_pinned);
    if (m && info->error) json_object_set_new(m, "error", json_string(info->error));
    return m;
}

static int matches(const ifn_manager_model_info *info, const char *id) {
    char full[192];
    model_id(info, full, sizeof full);
    if (strcmp(full, id) == 0) return 1;
    snprintf(full, sizeof full, "%s@%lld", info->name, (long long)info->version);
    return strcmp(full, id) == 0;
}

/* Every served model and version of the manager, with its status. */
static json_t *models_json(ifn_server *s, const char *only_id, ifn_openai_error *e) {
    ifn_manager_model_info *infos = NULL;
    int32_t n = 0;
    if (ifn_manager_list(s->manager, &infos, &n) != IFN_OK) {
        ifn_openai_reply_fail(e, 500, NULL, "out of memory");
        return NULL;
    }
    json_t *data = json_array();
    for (int32_t i = 0; data && i < n; i++) {
        if (!infos[i].is_served || (only_id && !matches(&infos[i], only_id))) continue;
        json_array_append_new(data, model_json(s, &infos[i]));
    }
    ifn_manager_list_free(infos, n);
    return data;
}

void ifn_openai_info_models(ifn_server *s, ifn_http_request *request) {
    ifn_openai_error e;
    json_t *data = ifn_server_check_ready(s, &e) == 0 ? models_json(s, NULL, &e) : NULL;
    if (!data) {
        ifn_openai_reply_error(request, &e, NULL);
        return;
    }
    ifn_openai_reply_json(request, 200, json_pack("{s:s,s:o}", "object", "list", "data", data),
                          NULL);
}

void ifn_openai_info_model(ifn_server *s, ifn_http_request *request, const char *id) {
    ifn_openai_error e;
    json_t *data = ifn_server_check_ready(s, &e) == 0 ? models_json(s, id, &e) : NULL;
    if (data && json_array_size(data) == 0) {
        ifn_openai_reply_fail(&e, 404, "model", "The model '%s' does not exist", id);
        e.code = "model_not_found";
        json_decref(data);
        data = NULL;
    }
    if (!data) {
        ifn_openai_reply_error(request, &e, NULL);
        return;
    }
    json_t *model = json_incref(json_array_get(data, 0));
    json_decref(data);
    ifn_openai_reply_json(request, 200, model, NULL);
}

/* Leases the model a tokenizer request names (kind completion). */
static int bind(ifn_server *s, ifn_http_request *request, json_t *body, ifn_binding *out,
                ifn_openai_error *e) {
    const char *model = NULL;
    if (ifn_openai_params_get_string(body, "model", &model, e) < 0) return -1;
    ifn_binding_query q = {.model = model, .kind = IFN_ROUTER_KIND_COMPLETION,
                           .session_id = ifn_http_request_header(request, "X-Session-Id"),
                           .body = body};
    return ifn_binding_acquire(s, &q, out, e);
}

/* Parses the body and leases the model it names; NULL with `e` filled on failure. */
static json_t *begin(ifn_server *s, ifn_http_request *request, ifn_binding *binding,
                     ifn_openai_error *e) {
    json_t *body = ifn_server_check_ready(s, e) == 0 ? ifn_openai_http_parse_body(request, e)
                                                     : NULL;
    if (body && bind(s, request, body, binding, e) != 0) {
        json_decref(body);
        return NULL;
    }
    return body;
}

static void fail(ifn_http_request *request, ifn_openai_prompt_list *list, ifn_binding *binding,
                 const ifn_openai_error *e) {
    ifn_openai_prompt_list_free(list);
    ifn_binding_release(binding);
    ifn_openai_reply_error(request, e, NULL);
}

/* Accepts vLLM's "prompt" or llama.cpp's "content". */
static const char *text_field(const json_t *body) {
    return json_object_get(body, "prompt") ? "prompt" : "content";
}

void ifn_openai_info_tokenize(ifn_server *s, ifn_http_request *request) {
    ifn_openai_error e;
    ifn_openai_prompt_list list = {0};
    ifn_binding binding = {0};
    json_t *body = begin(s, request, &binding, &e);
    int ok = body != NULL;
    ifn_served_model *m = binding.model;
    if (ok && json_object_get(body, "messages"))
        ok = ifn_openai_prompt_from_chat(m, body, &list, &e) == 0;
    else if (ok)
        ok = ifn_openai_prompt_from_input(m, body, text_field(body), &list, &e) == 0;
    if (ok && list.count != 1) ok = ifn_openai_reply_fail(&e, 400, text_field(body),
                                                          "give one text to tokenize") == 0;
    json_decref(body);
    if (!ok) {
        fail(request, &list, &binding, &e);
        return;
    }
    json_t *tokens = json_array();
    for (int32_t i = 0; i < list.items[0].n_ids; i++)
        json_array_append_new(tokens, json_integer(list.items[0].ids[i]));
    json_t *answer = json_pack("{s:i,s:i,s:o}", "count", (int)list.items[0].n_ids,
                               "max_model_len", (int)m->n_ctx, "tokens", tokens);
    ifn_openai_prompt_list_free(&list);
    ifn_binding_release(&binding);
    ifn_openai_reply_json(request, 200, answer, NULL);
}

void ifn_openai_info_detokenize(ifn_server *s, ifn_http_request *request) {
    ifn_openai_error e;
    ifn_openai_prompt_list list = {0};
    ifn_binding binding = {0};
    json_t *body = begin(s, request, &binding, &e);
    int ok = body != NULL;
    ifn_served_model *m = binding.model;
    const json_t *tokens = body ? json_object_get(body, "tokens") : NULL;
    if (ok && (!json_is_array(tokens) || (json_array_size(tokens) > 0 &&
                                          !json_is_number(json_array_get(tokens, 0)))))
        ok = ifn_openai_reply_fail(&e, 400, "tokens", "'tokens' must be a list of token ids") == 0;
    if (ok && json_array_size(tokens) == 0) {
        json_decref(body);
        ifn_binding_release(&binding);
        ifn_openai_reply_json(request, 200, json_pack("{s:s}", "prompt", ""), NULL);
        return;
    }
    if (ok) ok = ifn_openai_prompt_from_input(m, body, "tokens", &list, &e) == 0;
    json_decref(body);
    if (!ok) {
        fail(request, &list, &binding, &e);
        return;
    }
    json_t *answer = json_pack("{s:o}", "prompt", ifn_json_string(list.items[0].text,
                                                                  strlen(list.items[0].text)));
    ifn_openai_prompt_list_free(&list);
    ifn_binding_release(&binding);
    ifn_openai_reply_json(request, 200, answer, NULL);
}
