/* POST /v1/embeddings: each input is prefilled by the engine (batched with everything else) and
 * answered with its mean-pooled, L2-normalised final hidden state, as floats or base64. */
#ifndef IFN_SERVER_OPENAI_EMBEDDINGS_H
#define IFN_SERVER_OPENAI_EMBEDDINGS_H

#include "server/server_internal.h"

void ifn_openai_embeddings_handle(ifn_server *server, ifn_http_request *request);

#endif
