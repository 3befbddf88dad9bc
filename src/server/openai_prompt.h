/* Prompts of a request as token ids: /v1/completions' `prompt` (a string, strings, token ids or
 * lists of token ids) and /v1/chat/completions' `messages` rendered through the model's chat
 * template and tokenized. */
#ifndef IFN_SERVER_OPENAI_PROMPT_H
#define IFN_SERVER_OPENAI_PROMPT_H

#include <jansson.h>
#include <stdint.h>

#include "manager/served_model.h"
#include "server/openai_reply.h"

typedef struct ifn_openai_prompt {
    int32_t *ids;
    int32_t n_ids;
    char *text;   /* the prompt as text (for echo); ifn_malloc'd */
} ifn_openai_prompt;

typedef struct ifn_openai_prompt_list {
    ifn_openai_prompt *items;
    int32_t count;
} ifn_openai_prompt_list;

/* From `field` of body ("prompt" for completions, "input" for embeddings). add_special comes from
 * the body's add_special_tokens (default 1). Fails with 400 naming the field. */
int ifn_openai_prompt_from_input(const ifn_served_model *model, const json_t *body,
                                 const char *field, ifn_openai_prompt_list *out,
                                 ifn_openai_error *error);

/* From `messages` (plus tools, add_generation_prompt, chat_template_kwargs). */
int ifn_openai_prompt_from_chat(const ifn_served_model *model, const json_t *body,
                                ifn_openai_prompt_list *out, ifn_openai_error *error);

/* Checks each prompt fits the context with room for at least one new token (`what` names the
 * field in the error: "prompt", "messages", "input"). 400 context_length_exceeded if not. */
int ifn_openai_prompt_check_length(const ifn_served_model *model, const ifn_openai_prompt_list *list,
                                   const char *what, ifn_openai_error *error);

void ifn_openai_prompt_list_free(ifn_openai_prompt_list *list);

#endif
