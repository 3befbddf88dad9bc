/* WebSocket streaming at GET /v1/ws. After the upgrade, each text message the client sends is
 * either a request — a /v1/completions or /v1/chat/completions body (the endpoint is "endpoint":
 * "completions" | "chat.completions", or chat when "messages" is present), always streamed,
 * tagged with the client's "request_id" — or {"type": "cancel", "request_id": ...}. The server
 * answers with the same chunk objects as SSE, each carrying "request_id"; an error as
 * {"request_id", "error": {...}}; and the end of each request as {"request_id", "type": "done"}.
 * Several requests may run at once on one socket. */
#ifndef IFN_SERVER_WS_API_H
#define IFN_SERVER_WS_API_H

#include "server/server_internal.h"

void ifn_ws_api_handle(ifn_server *server, ifn_http_request *request);

#endif
