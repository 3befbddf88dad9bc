#include "server/openai_info.h"

#include <string.h>

#include "server/openai_http.h"
#include "server/openai_params.h"
#include "server/openai_prompt.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/status.h"

static json_t *model_json(const ifn_served_model *m) {
    return json_pack("{s:s,s:s,s:I,s:s,s:i}", "id", m->name, "object", "model", "created",
                     (json_int_t)m->created_unix, "owned_by", "inferneo", "max_model_len",
                     (int)m->n_ctx);
}

void ifn_openai_info_models(ifn_server *s, ifn_http_request *request) {
    ifn_openai_error e;
    ifn_served_model *m = ifn_server_model(s, &e);
    if (!m) {
        ifn_openai_reply_error(request, &e, NULL);
        return;
    }
    ifn_openai_reply_json(request, 200,
                          json_pack("{s:s,s:[o]}", "object", "list", "data", model_json(m)), NULL);
}

void ifn_openai_info_model(ifn_server *s, ifn_http_request *request, const char *id) {
    ifn_openai_error e;
    ifn_served_model *m = ifn_server_model(s, &e);
    if (!m || ifn_server_check_model(s, id, &e) != 0) {
        ifn_openai_reply_error(request, &e, NULL);
        return;
    }
    ifn_openai_reply_json(request, 200, model_json(m), NULL);
}

/* Accepts vLLM's "prompt" or llama.cpp's "content". */
static const char *text_field(const json_t *body) {
    return json_object_get(body, "prompt") ? "prompt" : "content";
}

void ifn_openai_info_tokenize(ifn_server *s, ifn_http_request *request) {
    ifn_openai_error e;
    ifn_served_model *m = ifn_server_model(s, &e);
    json_t *body = m ? ifn_openai_http_parse_body(request, &e) : NULL;
    ifn_openai_prompt_list list = {0};
    const char *model = NULL;
    int ok = body && ifn_openai_params_get_string(body, "model", &model, &e) >= 0 &&
             ifn_server_check_model(s, model, &e) == 0;
    if (ok && json_object_get(body, "messages"))
        ok = ifn_openai_prompt_from_chat(m, body, &list, &e) == 0;
    else if (ok)
        ok = ifn_openai_prompt_from_input(m, body, text_field(body), &list, &e) == 0;
    if (ok && list.count != 1) ok = ifn_openai_reply_fail(&e, 400, text_field(body),
                                                          "give one text to tokenize") == 0;
    json_decref(body);
    if (!ok) {
        ifn_openai_prompt_list_free(&list);
        ifn_openai_reply_error(request, &e, NULL);
        return;
    }
    json_t *tokens = json_array();
    for (int32_t i = 0; i < list.items[0].n_ids; i++)
        json_array_append_new(tokens, json_integer(list.items[0].ids[i]));
    json_t *answer = json_pack("{s:i,s:i,s:o}", "count", (int)list.items[0].n_ids,
                               "max_model_len", (int)m->n_ctx, "tokens", tokens);
    ifn_openai_prompt_list_free(&list);
    ifn_openai_reply_json(request, 200, answer, NULL);
}

void ifn_openai_info_detokenize(ifn_server *s, ifn_http_request *request) {
    ifn_openai_error e;
    ifn_served_model *m = ifn_server_model(s, &e);
    json_t *body = m ? ifn_openai_http_parse_body(request, &e) : NULL;
    ifn_openai_prompt_list list = {0};
    const char *model = NULL;
    int ok = body && ifn_openai_params_get_string(body, "model", &model, &e) >= 0 &&
             ifn_server_check_model(s, model, &e) == 0;
    const json_t *tokens = body ? json_object_get(body, "tokens") : NULL;
    if (ok && (!json_is_array(tokens) || (json_array_size(tokens) > 0 &&
                                          !json_is_number(json_array_get(tokens, 0)))))
        ok = ifn_openai_reply_fail(&e, 400, "tokens", "'tokens' must be a list of token ids") == 0;
    if (ok && json_array_size(tokens) == 0) {
        json_decref(body);
        ifn_openai_reply_json(request, 200, json_pack("{s:s}", "prompt", ""), NULL);
        return;
    }
    if (ok) ok = ifn_openai_prompt_from_input(m, body, "tokens", &list, &e) == 0;
    json_decref(body);
    if (!ok) {
        ifn_openai_prompt_list_free(&list);
        ifn_openai_reply_error(request, &e, NULL);
        return;
    }
    json_t *answer = json_pack("{s:o}", "prompt", ifn_json_string(list.items[0].text,
                                                                  strlen(list.items[0].text)));
    ifn_openai_prompt_list_free(&list);
    ifn_openai_reply_json(request, 200, answer, NULL);
}
