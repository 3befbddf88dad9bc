/* A job is what one HTTP request (or one WebSocket request) asked the engine for: one or more
 * engine requests (several prompts, each with n samples), whose callbacks arrive on the engine
 * thread and are queued here as events for the connection thread that answers the client.
 * The connection thread waits on the job, so a slow client never stalls the engine; when the
 * client goes away it aborts the job and the engine frees the KV at its next step.
 * Ownership: the creator and every submitted engine request hold a reference; the last release
 * frees the job, so it outlives whichever side finishes last. */
#ifndef IFN_SERVER_JOB_H
#define IFN_SERVER_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

typedef struct ifn_job ifn_job;

typedef enum ifn_job_event_kind {
    IFN_JOB_EVENT_TOKEN,     /* a sampled token and the text it made final */
    IFN_JOB_EVENT_FINISH,    /* a choice finished (last text, reason, usage) */
    IFN_JOB_EVENT_EMBEDDING, /* an embedding request's vector */
} ifn_job_event_kind;

typedef struct ifn_job_event {
    ifn_job_event_kind kind;
    int32_t choice;          /* choice index: request's base + sample index */
    int32_t token;
    char *text;              /* NUL-terminated, owned by the job */
    size_t len;
    int has_logprobs;
    ifn_sampler_logprobs logprobs;
    ifn_finish_reason reason;
    ifn_request_usage usage;
    float *values;           /* embedding, owned by the job */
    int32_t n_values;
} ifn_job_event;

/* Errors: IFN_E_NOMEM. */
ifn_status ifn_job_create(ifn_engine *engine, ifn_job **out_job);

/* Submits `request` (its callbacks are replaced by the job's) with choice indices starting at
 * choice_base. Errors as ifn_engine_submit; on error nothing was queued. */
ifn_status ifn_job_submit(ifn_job *job, const ifn_request *request, int32_t choice_base);

/* Waits up to timeout_ms for the next event. Returns 1 with *out filled (valid until the next
 * call or release), 0 on timeout, -1 when every submitted request is done and all events were
 * taken. */
int ifn_job_next(ifn_job *job, int timeout_ms, ifn_job_event *out);

/* The first failure an engine request reported (IFN_OK if none) and its message. Call after
 * ifn_job_next returned -1. */
ifn_status ifn_job_status(const ifn_job *job, const char **out_message);

/* Cancels every request of the job still running (idempotent, thread-safe). */
void ifn_job_abort(ifn_job *job);

/* Drops the creator's reference. */
void ifn_job_release(ifn_job *job);

#endif
