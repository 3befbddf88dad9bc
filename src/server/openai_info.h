/* Endpoints that describe the model or use its tokenizer: GET /v1/models, GET /v1/models/{id},
 * POST /tokenize, POST /detokenize (vLLM's shapes; llama.cpp's field names accepted too). */
#ifndef IFN_SERVER_OPENAI_INFO_H
#define IFN_SERVER_OPENAI_INFO_H

#include "server/server_internal.h"

void ifn_openai_info_models(ifn_server *server, ifn_http_request *request);
/* `id` is the part of the path after /v1/models/. */
void ifn_openai_info_model(ifn_server *server, ifn_http_request *request, const char *id);
void ifn_openai_info_tokenize(ifn_server *server, ifn_http_request *request);
void ifn_openai_info_detokenize(ifn_server *server, ifn_http_request *request);

#endif
