/* The generation fields of a /v1/completions or /v1/chat/completions body, checked the way
 * OpenAI (and vLLM for the extensions) do: wrong types and out-of-range values fail with the
 * name of the field; unknown fields are ignored. */
#ifndef IFN_SERVER_OPENAI_PARAMS_H
#define IFN_SERVER_OPENAI_PARAMS_H

#include <jansson.h>
#include <stdint.h>

#include "inferneo/inferneo.h"
#include "server/openai_reply.h"

typedef enum ifn_openai_endpoint {
    IFN_OPENAI_ENDPOINT_COMPLETIONS,
    IFN_OPENAI_ENDPOINT_CHAT,
} ifn_openai_endpoint;

typedef struct ifn_openai_params {
    ifn_generate_params sampling; /* stop / logit_bias point into the arrays below */
    int has_max_tokens;           /* 0: completions default 16, chat up to the context end */
    int32_t n;
    int stream;
    int include_usage;            /* stream_options.include_usage */
    int32_t top_logprobs;         /* -1 = no logprobs */
    int32_t min_tokens;
    int32_t priority;
    int echo;                     /* completions only */
    const char *model;            /* borrowed from the body; NULL if absent */
    char **stop;                  /* owned */
    ifn_logit_bias *logit_bias;   /* owned */
    int32_t *stop_token_ids;      /* owned */
    int32_t n_stop_token_ids;
} ifn_openai_params;

/* Reads `body` (an object) for `endpoint`; token ids are checked against n_vocab. On failure
 * returns -1 with `error` filled (status 400 and the field in `param`). */
int ifn_openai_params_parse(const json_t *body, ifn_openai_endpoint endpoint, int32_t n_vocab,
                            ifn_openai_params *out, ifn_openai_error *error);

void ifn_openai_params_free(ifn_openai_params *params);

/* Shared field readers (also used by the embeddings and tokenizer endpoints): each returns 0
 * when the field is absent or null (leaving *out), 1 when read, -1 with `error` filled. */
int ifn_openai_params_get_int(const json_t *body, const char *name, int64_t min, int64_t max,
                              int64_t *out, ifn_openai_error *error);
int ifn_openai_params_get_bool(const json_t *body, const char *name, int *out,
                               ifn_openai_error *error);
int ifn_openai_params_get_string(const json_t *body, const char *name, const char **out,
                                 ifn_openai_error *error);

#endif
