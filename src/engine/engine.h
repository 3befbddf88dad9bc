/* The serving engine: many sequences at once through one step loop (vLLM-style iteration-level
 * continuous batching) over a paged KV cache with prefix caching and chunked prefill.
 * One engine thread owns the scheduler, KV cache, batches and samplers; other threads talk to it
 * only through ifn_engine_submit / abort / get_stats, which are thread-safe. Callbacks run on the
 * engine thread: they must be quick and must not call back into the engine except abort. */
#ifndef IFN_ENGINE_ENGINE_H
#define IFN_ENGINE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/sampler.h"
#include "inferneo/inferneo.h"
#include "kernels/dtype.h"
#include "model/model.h"
#include "tensor/pool.h"
#include "tokenizer/vocab.h"

typedef struct ifn_engine ifn_engine;

typedef struct ifn_engine_params {
    int32_t n_threads;          /* compute threads; 0 = physical cores (ignored with `pool`) */
    int32_t n_ctx;              /* positions one sequence may reach; 0 = the model's */
    int32_t max_num_seqs;       /* running sequences at most (default 64) */
    int32_t max_batched_tokens; /* tokens per step, prefill chunks included (default 512) */
    int32_t block_size;         /* KV positions per block (default 16) */
    size_t kv_cache_bytes;      /* KV memory; 0 = enough for max_num_seqs full contexts, capped at
                                   a quarter of available RAM */
    ifn_dtype kv_type;          /* IFN_DTYPE_F16 (default) or IFN_DTYPE_F32 */
    int exact;                  /* float32 activations (see ifn_forward_params) */
    int enable_prefix_cache;    /* default 1 */
    ifn_pool *pool;             /* borrowed compute threads, possibly shared with other engines
                                   (ifn_pool_run queues their steps fairly); must outlive the
                                   engine. NULL (default) = the engine creates its own */
} ifn_engine_params;

ifn_engine_params ifn_engine_params_default(void);

typedef struct ifn_request_usage {
    int32_t prompt_tokens;
    int32_t completion_tokens;  /* tokens sampled for this sample, EOS included (0: embedding) */
    int32_t cached_prompt_tokens; /* prompt positions served from the prefix cache */
    double queue_seconds;       /* submit -> first scheduled */
    double ttft_seconds;        /* submit -> first token (embedding: -> the vector) */
    double total_seconds;       /* submit -> finish */
} ifn_request_usage;

typedef struct ifn_request_callbacks {
    /* One new token of sample `index`: `text` is what became final with it (complete UTF-8,
     * stop strings withheld; may be empty). `logprobs` is non-NULL when requested. Return
     * non-zero to cancel the whole request. */
    int (*on_token)(void *user, int32_t index, int32_t token, const char *text, size_t len,
                    const ifn_sampler_logprobs *logprobs);
    /* Sample `index` finished; `text` is any last withheld text. */
    void (*on_finish)(void *user, int32_t index, ifn_finish_reason reason, const char *text,
                      size_t len, const ifn_request_usage *usage);
    /* The request is over (all samples finished, or it failed before starting: status says
     * why, with a message). Called exactly once per accepted request; release `user` here. */
    void (*on_done)(void *user, ifn_status status, const char *message);
    void *user;
    /* Embedding requests only, instead of on_token/on_finish: the mean over all prompt tokens
     * of the final-normed hidden state (the classifier's input), L2-normalised; n_values is the
     * model's n_embd. `values` is valid during the call. Called once, just before on_done(IFN_OK);
     * not called if the request is cancelled or fails. May be NULL. */
    void (*on_embedding)(void *user, const float *values, int32_t n_values,
                         const ifn_request_usage *usage);
} ifn_request_callbacks;

typedef struct ifn_request {
    const int32_t *prompt;      /* copied */
    int32_t n_prompt;
    ifn_generate_params sampling; /* stop strings and logit bias are copied */
    int32_t n;                  /* samples of this prompt, sharing its KV blocks (default 1) */
    int32_t priority;           /* lower runs first and is preempted last (vLLM convention) */
    int64_t timeout_ms;         /* 0 = none */
    int32_t min_tokens;         /* end tokens are banned until this many (the vocabulary's
                                   end-of-generation ids, and BOS for llama2.c models) */
    int32_t top_logprobs;       /* -1 = no logprobs; 0..20 = chosen token plus this many */
    const int32_t *stop_token_ids; /* copied */
    int32_t n_stop_token_ids;
    ifn_request_callbacks callbacks;
    int embedding;              /* 1: evaluate the prompt and report its embedding (n must be 1;
                                   nothing is sampled; never served from the prefix cache, though
                                   its full blocks are left cached for later requests) */
} ifn_request;

/* Defaults: n = 1, no logprobs, default sampling, not an embedding (engine/request.c). */
void ifn_request_init(ifn_request *request);

typedef struct ifn_engine_stats {
    int32_t n_running;
    int32_t n_waiting;
    int32_t kv_blocks_total;
    int32_t kv_blocks_used;
    int32_t kv_blocks_free;
    int32_t kv_blocks_cached;
    int64_t kv_tokens;          /* positions holding K/V in used blocks */
    int64_t prefix_queries;
    int64_t prefix_hits;
    int64_t preemptions;
    int64_t steps;
    int64_t generated_tokens;
    int64_t finished_requests;
} ifn_engine_stats;

/* Starts the engine thread. The model is retained; the vocab is borrowed and must outlive the
 * engine. Errors: IFN_E_INVALID, IFN_E_NOMEM, IFN_E_INTERNAL (thread start). */
ifn_status ifn_engine_create(ifn_model *model, const ifn_vocab *vocab,
                             const ifn_engine_params *params, ifn_engine **out_engine);

/* Stops the thread; requests still queued or running finish with IFN_FINISH_CANCELLED and
 * on_done(IFN_E_CANCELLED). */
void ifn_engine_destroy(ifn_engine *engine);

/* Queues a request. Errors (no callback is made): IFN_E_INVALID (empty prompt, bad sampling
 * parameters, prompt as long as the context, an embedding request with n != 1), IFN_E_NOMEM,
 * IFN_E_CANCELLED (shutting down). Thread-safe. */
ifn_status ifn_engine_submit(ifn_engine *engine, const ifn_request *request, uint64_t *out_id);

/* Cancels a request (if still live) at the next step; its KV blocks are freed then.
 * Thread-safe. */
void ifn_engine_abort(ifn_engine *engine, uint64_t id);

/* Cancels, at the next step, every request queued or running by then (as ifn_engine_abort does
 * for one). Thread-safe. */
void ifn_engine_abort_all(ifn_engine *engine);

/* A consistent snapshot as of the last step. Thread-safe. */
void ifn_engine_get_stats(ifn_engine *engine, ifn_engine_stats *out_stats);

/* Waits until no request is queued or running (or timeout_ms passes; 0 = forever); returns 1
 * when idle. Thread-safe. */
int ifn_engine_wait_idle(ifn_engine *engine, int64_t timeout_ms);

int32_t ifn_engine_n_ctx(const ifn_engine *engine);

#endif
