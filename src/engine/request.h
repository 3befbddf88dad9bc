/* A request as the engine keeps it: validated, deep-copied (the caller's buffers may go away after
 * submit) and split into its sequences, one per sample (one for an embedding request).
 * Created on the submitting thread, handed to the engine thread through the inbox, owned by the
 * engine thread from then on. Scheduling and finishing live in engine.c, not here. */
#ifndef IFN_ENGINE_REQUEST_H
#define IFN_ENGINE_REQUEST_H

#include <stdint.h>

#include "engine/engine.h"
#include "engine/kv_cache.h"
#include "engine/sequence.h"

typedef struct ifn_request_state {
    struct ifn_request_state *next; /* inbox list, then live list, then finished list */
    uint64_t id;
    ifn_request req; /* prompt, stops, bias, stop ids point into the copies below */
    int32_t *prompt_copy;
    char **stop_copies;
    ifn_logit_bias *bias_copy;
    int32_t *stop_ids_copy;
    ifn_sequence *seqs; /* [req.n] */
    int32_t n_finished;
    int is_aborted;
    ifn_status abort_status;
    int64_t submit_ns;
    int64_t deadline_ns; /* 0 = none */
} ifn_request_state;

/* What a request is checked against and built for. */
typedef struct ifn_request_limits {
    int32_t n_ctx;                /* positions one sequence may reach */
    int32_t n_vocab;              /* token ids and logits rows */
    int32_t n_embd;               /* length of an embedding */
    const ifn_kv_cache *cache;    /* for its block count; borrowed for the call */
    const ifn_vocab *vocab;       /* borrowed by the sequences' detokenizers */
} ifn_request_limits;

/* Checks a request before anything is copied. Errors: IFN_E_INVALID with a message (empty
 * prompt, prompt as long as the context or larger than the KV cache, bad n, token id out of the
 * vocabulary, bad sampling limits, empty stop string). Thread-safe. */
ifn_status ifn_request_check(const ifn_request *request, const ifn_request_limits *limits);

/* Copies a checked request and sets up its sequences; the submit time (and deadline) start now.
 * Errors: IFN_E_NOMEM, IFN_E_INVALID (sampler parameters). Thread-safe. */
ifn_status ifn_request_create(const ifn_request *request, const ifn_request_limits *limits,
                              ifn_request_state **out_state);

/* Frees the request and its sequences, giving any KV blocks they still hold back to `cache`
 * (NULL if they hold none). NULL does nothing. */
void ifn_request_destroy(ifn_request_state *state, ifn_kv_cache *cache);

#endif
