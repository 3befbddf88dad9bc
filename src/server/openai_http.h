/* HTTP handlers of the OpenAI endpoints: the body is parsed here, the work is done by
 * openai_generation (completions, chat), openai_embeddings and openai_info. */
#ifndef IFN_SERVER_OPENAI_HTTP_H
#define IFN_SERVER_OPENAI_HTTP_H

#include <jansson.h>

#include "server/openai_params.h"
#include "server/server_internal.h"

/* POST /v1/completions and /v1/chat/completions: a JSON answer, or an SSE stream. */
void ifn_openai_http_generate(ifn_server *server, ifn_http_request *request,
                              ifn_openai_endpoint endpoint);

/* Parses the request body as a JSON object; NULL with a 400 error naming the problem. */
json_t *ifn_openai_http_parse_body(ifn_http_request *request, ifn_openai_error *error);

#endif
