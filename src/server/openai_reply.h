/* Answers in OpenAI's shapes: JSON bodies, and the error object
 * {"error": {"message", "type", "param", "code"}} with the HTTP status that goes with it.
 * Handlers fill an error while checking a request, then answer with it. */
#ifndef IFN_SERVER_OPENAI_REPLY_H
#define IFN_SERVER_OPENAI_REPLY_H

#include <jansson.h>

#include "server/http.h"
#include "util/compiler.h"

typedef struct ifn_openai_error {
    int status;        /* 400, 404, 413, 500, 503, ... */
    const char *type;  /* "invalid_request_error", "not_found_error", "server_error", ... */
    const char *code;  /* NULL, or e.g. "model_not_found", "context_length_exceeded" */
    char param[64];    /* "" = null */
    char message[768];
} ifn_openai_error;

/* Fills `error` (the type follows the status: 400/413 invalid_request_error, 404
 * not_found_error, 429/503 overloaded_error/service_unavailable, others server_error) and returns
 * -1, so checks read `return ifn_openai_reply_fail(...)`. */
int ifn_openai_reply_fail(ifn_openai_error *error, int status, const char *param, const char *fmt,
                          ...) IFN_PRINTF(4, 5);

/* How a job whose engine requests ended with `status` (and the engine's message) is answered:
 * 0 for IFN_OK and IFN_E_CANCELLED (a cancel is a finish reason, not an error), else -1 with
 * `error` filled: 504 for a timeout, 400 for IFN_E_INVALID, 500 otherwise. */
int ifn_openai_reply_fail_status(ifn_openai_error *error, ifn_status status, const char *message);

/* The error object alone, for WebSocket messages and SSE error events; NULL when out of memory. */
json_t *ifn_openai_reply_error_json(const ifn_openai_error *error);

/* {"Retry-After": "1"}, for 503 answers that a retry may fix. */
extern const ifn_http_header ifn_openai_reply_retry_after[];

/* Answers with the error; extra headers (e.g. Retry-After) may be NULL. */
void ifn_openai_reply_error(ifn_http_request *request, const ifn_openai_error *error,
                            const ifn_http_header *headers);

/* Answers with `body` (a JSON value, stolen: this call decrefs it; NULL answers 500). */
void ifn_openai_reply_json(ifn_http_request *request, int status, json_t *body,
                           const ifn_http_header *headers);

#endif
