/* One /v1/completions or /v1/chat/completions request from body to answer: checks the body,
 * turns it into prompts, admits it, submits one engine request per prompt (n samples each) and
 * turns the engine's events into OpenAI chunks (streaming) or one response (collected). Used by
 * the HTTP handlers and by WebSocket streaming. Owned by one thread. */
#ifndef IFN_SERVER_OPENAI_GENERATION_H
#define IFN_SERVER_OPENAI_GENERATION_H

#include <jansson.h>

#include "server/openai_params.h"
#include "server/server_internal.h"

typedef struct ifn_openai_generation ifn_openai_generation;

/* Routes to a model and leases it (see binding.h; session_id is the X-Session-Id header or
 * NULL), checks, admits and submits. On failure returns -1 with `error` filled and *out NULL. */
int ifn_openai_generation_start(ifn_server *server, const json_t *body,
                                ifn_openai_endpoint endpoint, const char *session_id,
                                ifn_openai_generation **out, ifn_openai_error *error);

int ifn_openai_generation_is_stream(const ifn_openai_generation *gen);
/* The model answering, as responses name it ("name" or "name@version"). */
const char *ifn_openai_generation_model(const ifn_openai_generation *gen);
const char *ifn_openai_generation_id(const ifn_openai_generation *gen);

/* Streaming: waits up to timeout_ms for the next chunk. Returns 1 with *out_chunk (caller
 * decrefs), 0 when there is none yet, -1 after the last chunk (the usage chunk when asked).
 * A failure inside the engine arrives as a chunk {"error": {...}}. */
int ifn_openai_generation_next_chunk(ifn_openai_generation *gen, int timeout_ms,
                                     json_t **out_chunk);

/* Not streaming: waits for every choice (calling is_gone(user) between waits; when it returns
 * non-zero the job is aborted) and returns the response object, or NULL with `error` filled. */
json_t *ifn_openai_generation_collect(ifn_openai_generation *gen, int (*is_gone)(void *user),
                                      void *user, ifn_openai_error *error);

/* Cancels what is still running (the engine frees the KV at its next step). */
void ifn_openai_generation_abort(ifn_openai_generation *gen);

/* Releases everything (aborting first if still running) and leaves the admission count. */
void ifn_openai_generation_destroy(ifn_openai_generation *gen);

#endif
