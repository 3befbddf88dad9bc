/* Engine thread and its API. Other threads hand requests and aborts over through a mutex-guarded
 * inbox plus a condition variable; the engine thread owns everything else (scheduler, KV cache,
 * forward context, sequences) and runs: take inbox -> handle aborts and timeouts -> schedule ->
 * one forward step -> commit KV, sample, stream, report embeddings, finish -> publish stats.
 * Request copying and validation live in request.c. */
#include "engine/engine.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/forward.h"
#include "engine/generate.h"
#include "engine/request.h"
#include "engine/scheduler.h"
#include "engine/sequence.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/os_memory.h"
#include "util/status.h"
#include "util/time.h"

struct ifn_engine {
    ifn_engine_params params;
    ifn_model *model;
    const ifn_vocab *vocab;
    ifn_pool *pool;
    int owns_pool; /* 0: borrowed through params.pool */
    ifn_forward *forward;
    ifn_kv_cache *cache;
    ifn_scheduler sched;
    float *logits; /* [max rows][n_vocab] */
    int32_t logits_rows;
    int32_t n_vocab;
    int32_t *eog_ids; /* end-of-generation ids, banned until min_tokens */
    int32_t n_eog_ids;
    ifn_request_state *live;     /* engine thread only */
    ifn_request_state *finished; /* engine thread only: freed after the step that ended them,
                                since batch entries may still point at their sequences */
    uint64_t next_arrival;       /* engine thread only */
    pthread_t thread;
    int has_thread;
    pthread_mutex_t
        lock;            /* guards: inbox, aborts, n_aborts, is_stopping, next_id, stats, is_idle */
    pthread_cond_t wake; /* engine thread waits for work */
    pthread_cond_t idle; /* ifn_engine_wait_idle waits for is_idle */
    ifn_request_state *inbox;
    uint64_t *aborts;
    int32_t n_aborts, abort_capacity;
    int is_abort_all;    /* ifn_engine_abort_all was called since the last step */
    int is_stopping;
    uint64_t next_id;
    ifn_engine_stats stats;
    int is_idle;
    int64_t generated_tokens; /* engine thread only, copied into stats */
    int64_t finished_requests;
    int64_t steps;
};

ifn_engine_params ifn_engine_params_default(void) {
    ifn_engine_params p;
    memset(&p, 0, sizeof p);
    p.max_num_seqs = 64;
    p.max_batched_tokens = 512;
    p.block_size = 16;
    p.kv_type = IFN_DTYPE_F16;
    p.enable_prefix_cache = 1;
    return p;
}

int32_t ifn_engine_n_ctx(const ifn_engine *e) {
    return ifn_forward_n_ctx(e->forward);
}

/* ---- finishing -------------------------------------------------------------------------- */

static void fill_usage(const ifn_request_state *r, const ifn_sequence *seq, ifn_request_usage *u) {
    int64_t now = ifn_time_now_ns();
    u->prompt_tokens = r->req.n_prompt;
    u->completion_tokens = seq->n_generated;
    u->cached_prompt_tokens = seq->n_cached_prompt;
    u->queue_seconds =
        seq->first_scheduled_ns ? (double)(seq->first_scheduled_ns - r->submit_ns) / 1e9 : 0;
    u->ttft_seconds = seq->first_token_ns ? (double)(seq->first_token_ns - r->submit_ns) / 1e9 : 0;
    u->total_seconds = (double)(now - r->submit_ns) / 1e9;
}

static void unlink_live(ifn_engine *e, ifn_request_state *r) {
    for (ifn_request_state **p = &e->live; *p; p = &(*p)->next) {
        if (*p == r) {
            *p = r->next;
            return;
        }
    }
}

/* Text a finishing sample still withholds (detokenizer tail, possible stop-string prefixes,
 * which are final now), written into text[0..cap); returns its length. */
static size_t withheld_text(ifn_sequence *seq, char *text, size_t cap) {
    char tail[512];
    size_t len = 0, tail_len = ifn_detok_stream_flush(&seq->detok, tail, sizeof tail);
    if (!seq->stops) {
        len = tail_len < cap ? tail_len : cap;
        memcpy(text, tail, len);
        return len;
    }
    ifn_stop_result res;
    if (tail_len > 0 && ifn_stop_matcher_push(seq->stops, tail, tail_len, &res) == IFN_OK) {
        len = res.emit_len < cap / 2 ? res.emit_len : cap / 2;
        memcpy(text, res.emit, len);
    }
    if (!seq->hit_stop_string) {
        ifn_stop_matcher_flush(seq->stops, &res);
        size_t more = res.emit_len < cap - len ? res.emit_len : cap - len;
        memcpy(text + len, res.emit, more);
        len += more;
    }
    return len;
}

/* Ends one sample: flushes withheld text, reports (on_finish; an embedding reports through
 * on_embedding before this instead), frees its blocks; ends the request with the last sample. */
static void finish_seq(ifn_engine *e, ifn_request_state *r, ifn_sequence *seq,
                       ifn_finish_reason why) {
    if (seq->state == IFN_SEQ_FINISHED) return;
    char text[1024];
    size_t len = 0;
    if (why != IFN_FINISH_CANCELLED && !seq->hit_stop_string && !r->req.embedding)
        len = withheld_text(seq, text, sizeof text);
    ifn_scheduler_remove(&e->sched, seq);
    ifn_sequence_drop_kv(seq, e->cache);
    seq->state = IFN_SEQ_FINISHED;
    ifn_request_usage usage;
    fill_usage(r, seq, &usage);
    if (r->req.callbacks.on_finish && !r->req.embedding)
        r->req.callbacks.on_finish(r->req.callbacks.user, seq->index, why, text, len, &usage);
    if (++r->n_finished < r->req.n) return;
    unlink_live(e, r);
    e->finished_requests++;
    if (r->req.callbacks.on_done)
        r->req.callbacks.on_done(r->req.callbacks.user, r->is_aborted ? r->abort_status : IFN_OK,
                                 r->is_aborted ? ifn_status_str(r->abort_status) : "");
    r->next = e->finished;
    e->finished = r;
}

static void free_finished(ifn_engine *e) {
    while (e->finished) {
        ifn_request_state *r = e->finished;
        e->finished = r->next;
        ifn_request_destroy(r, e->cache);
    }
}

/* Finishes every unfinished sample (r stays allocated until free_finished). */
static void finish_request(ifn_engine *e, ifn_request_state *r, ifn_finish_reason why) {
    for (int32_t i = 0; i < r->req.n; i++)
        finish_seq(e, r, &r->seqs[i], why);
}

/* ---- sampling --------------------------------------------------------------------------- */

static int is_stop_token(const ifn_engine *e, const ifn_request_state *r, int32_t token) {
    for (int32_t i = 0; !r->req.sampling.ignore_eos && i < e->n_eog_ids; i++)
        if (e->eog_ids[i] == token) return 1;
    for (int32_t i = 0; i < r->req.n_stop_token_ids; i++)
        if (r->req.stop_token_ids[i] == token) return 1;
    return 0;
}

/* End-of-generation ids and the request's stop token ids are banned from the first sample until
 * min_tokens are generated; acting only at those two points keeps the per-token cost at zero. */
static void apply_min_tokens(const ifn_engine *e, const ifn_request_state *r, ifn_sequence *seq) {
    if (r->req.min_tokens <= 0) return;
    int is_start = seq->n_generated == 0;
    if (!is_start && seq->n_generated != r->req.min_tokens) return;
    for (int32_t i = 0; i < e->n_eog_ids + r->req.n_stop_token_ids; i++) {
        int32_t id = i < e->n_eog_ids ? e->eog_ids[i] : r->req.stop_token_ids[i - e->n_eog_ids];
        if (is_start) (void)ifn_sampler_ban_token(seq->sampler, id);
        else (void)ifn_sampler_unban_token(seq->sampler, id);
    }
}

/* Runs the text of a new token through detokenizer and stop matcher, then the callback.
 * Returns 1 if the sequence hit a stop string, -1 if the callback cancelled. */
static int stream_token(ifn_request_state *r, ifn_sequence *seq, int32_t token,
                        const ifn_sampler_logprobs *lp) {
    char text[512];
    size_t len = 0;
    int stopped = 0;
    const char *out = text;
    if (ifn_detok_stream_push(&seq->detok, token, text, sizeof text, &len) != IFN_OK) len = 0;
    if (seq->stops) {
        ifn_stop_result res;
        if (ifn_stop_matcher_push(seq->stops, text, len, &res) == IFN_OK) {
            out = res.emit;
            len = res.emit_len;
            stopped = res.is_stopped;
        }
    }
    if (r->req.callbacks.on_token &&
        r->req.callbacks.on_token(r->req.callbacks.user, seq->index, token, out, len, lp))
        return -1;
    return stopped;
}

/* Samples the next token of seq from a logits row and acts on it. Returns 0, or -1 when the
 * request was cancelled by its callback. */
static int sample_next(ifn_engine *e, ifn_request_state *r, ifn_sequence *seq,
                       const float *logits) {
    apply_min_tokens(e, r, seq);
    int32_t token;
    if (ifn_sampler_sample(seq->sampler, logits, &token) != IFN_OK) {
        finish_seq(e, r, seq, IFN_FINISH_STOP); /* every token banned: nothing can follow */
        return 0;
    }
    if (!seq->first_token_ns) seq->first_token_ns = ifn_time_now_ns();
    seq->n_generated++;
    e->generated_tokens++;
    ifn_sampler_logprobs lp, *lp_ptr = NULL;
    if (r->req.top_logprobs >= 0 &&
        ifn_sampler_compute_logprobs(logits, e->n_vocab, token, r->req.top_logprobs, &lp) == IFN_OK)
        lp_ptr = &lp;
    if (is_stop_token(e, r, token)) {
        /* It counts as a completion token, so its logprob is reported too (with no text). */
        if (lp_ptr && r->req.callbacks.on_token)
            (void)r->req.callbacks.on_token(r->req.callbacks.user, seq->index, token, "", 0, lp_ptr);
        finish_seq(e, r, seq, IFN_FINISH_STOP);
        return 0;
    }
    (void)ifn_sampler_accept(seq->sampler, token, 0);
    if (ifn_token_vec_push(&seq->tokens, token) != IFN_OK) {
        finish_seq(e, r, seq, IFN_FINISH_LENGTH);
        return 0;
    }
    int outcome = stream_token(r, seq, token, lp_ptr);
    if (outcome < 0) {
        r->is_aborted = 1;
        r->abort_status = IFN_E_CANCELLED;
        finish_request(e, r, IFN_FINISH_CANCELLED);
        return -1;
    }
    /* The newest token needs a KV position only if another one is to follow it, so a context of
     * n_ctx positions yields tokens until the sequence holds n_ctx + 1 (as llama2.c's run.c). */
    if (outcome > 0) {
        seq->hit_stop_string = 1;
        finish_seq(e, r, seq, IFN_FINISH_STOP);
    } else if (seq->n_generated >= r->req.sampling.max_tokens ||
               (int32_t)seq->tokens.count > ifn_forward_n_ctx(e->forward))
        finish_seq(e, r, seq, IFN_FINISH_LENGTH);
    return 0;
}

/* Sample 0 just finished the shared prompt: the other samples take its blocks and sample from
 * the same logits. Returns -1 when a callback cancelled the request. */
static int fork_siblings(ifn_engine *e, ifn_request_state *r, const ifn_sequence *seq0,
                         const float *logits) {
    for (int32_t i = 1; i < r->req.n; i++) {
        ifn_sequence *sib = &r->seqs[i];
        if (sib->state != IFN_SEQ_FORKING) continue;
        if (ifn_block_table_fork(&seq0->table, e->cache, &sib->table) != IFN_OK ||
            ifn_scheduler_add_running(&e->sched, sib) != IFN_OK) {
            finish_seq(e, r, sib, IFN_FINISH_CANCELLED);
            continue;
        }
        sib->n_cached_prompt = seq0->n_cached_prompt;
        sib->first_scheduled_ns = seq0->first_scheduled_ns;
        if (sample_next(e, r, sib, logits) < 0) return -1;
    }
    return 0;
}

/* ---- one step --------------------------------------------------------------------------- */

/* An embedding's prompt is fully evaluated: reports the mean of its final hidden states,
 * L2-normalised, and ends the request. */
static void finish_embedding(ifn_engine *e, ifn_request_state *r, ifn_sequence *seq) {
    float *values = seq->embd_sum; /* [n_embd], turned into the result in place */
    double sum_sq = 0.0;
    for (int32_t i = 0; i < seq->n_embd; i++) {
        values[i] /= (float)seq->n_prompt;
        sum_sq += (double)values[i] * (double)values[i];
    }
    float scale = sum_sq > 0.0 ? (float)(1.0 / sqrt(sum_sq)) : 0.0f;
    for (int32_t i = 0; i < seq->n_embd; i++) values[i] *= scale;
    seq->first_token_ns = ifn_time_now_ns(); /* ttft: time to the vector */
    ifn_request_usage usage;
    fill_usage(r, seq, &usage);
    if (r->req.callbacks.on_embedding)
        r->req.callbacks.on_embedding(r->req.callbacks.user, values, seq->n_embd, &usage);
    finish_seq(e, r, seq, IFN_FINISH_STOP);
}

/* Commits every scheduled sequence's new KV, samples those whose logits were computed and
 * reports embeddings whose prompt is complete. */
static void process_step(ifn_engine *e, const ifn_batch *batch) {
    ifn_scheduler *sc = &e->sched;
    for (int32_t i = 0; i < batch->n_seqs; i++) {
        ifn_sequence *seq = sc->owners[i];
        ifn_block_table_commit(&seq->table, e->cache, seq->tokens.ids, batch->seqs[i].n_tokens);
        if (!seq->first_scheduled_ns) seq->first_scheduled_ns = ifn_time_now_ns();
    }
    for (int32_t i = 0; i < batch->n_seqs; i++) {
        ifn_sequence *seq = sc->owners[i];
        if (seq->embd_sum && seq->state == IFN_SEQ_RUNNING && ifn_sequence_pending(seq) == 0)
            finish_embedding(e, seq->request, seq);
        if (batch->seqs[i].logits_row < 0 || seq->state != IFN_SEQ_RUNNING) continue;
        ifn_request_state *r = seq->request;
        const float *row = e->logits + (size_t)batch->seqs[i].logits_row * (size_t)e->n_vocab;
        if (seq->index == 0 && r->req.n > 1 && seq->n_generated == 0 &&
            fork_siblings(e, r, seq, row) < 0)
            continue;
        sample_next(e, r, seq, row);
    }
}

/* A sequence the cache can never hold: finish it (LENGTH if it already produced tokens). */
static void finish_unfit(ifn_engine *e, ifn_sequence *seq) {
    ifn_request_state *r = seq->request;
    if (seq->n_generated > 0) {
        finish_seq(e, r, seq, IFN_FINISH_LENGTH);
        return;
    }
    IFN_LOG_WARN("engine", "request does not fit in the KV cache req=%llu tokens=%zu",
                 (unsigned long long)r->id, seq->tokens.count);
    r->is_aborted = 1;
    r->abort_status = IFN_E_FULL;
    finish_request(e, r, IFN_FINISH_CANCELLED);
}

static int grow_logits(ifn_engine *e, int32_t rows) {
    if (rows <= e->logits_rows) return 1;
    float *grown = ifn_realloc(e->logits, sizeof(float) * (size_t)rows * (size_t)e->n_vocab);
    if (!grown) return 0;
    e->logits = grown;
    e->logits_rows = rows;
    return 1;
}

/* Runs one step; returns 0 when there was nothing to run. */
static int run_step(ifn_engine *e) {
    ifn_batch batch;
    ifn_sequence *unfit = NULL;
    if (ifn_scheduler_schedule(&e->sched, &batch, &unfit) != IFN_OK) {
        IFN_LOG_ERROR("engine", "scheduling failed: %s", ifn_last_error());
        return 0;
    }
    if (unfit) finish_unfit(e, unfit);
    if (batch.n_tokens == 0) return unfit != NULL;
    if (!grow_logits(e, e->sched.n_rows)) {
        IFN_LOG_ERROR("engine", "no memory for %d logits rows", e->sched.n_rows);
        return 0;
    }
    batch.logits = e->logits;
    if (ifn_forward_batch(e->forward, e->cache, &batch) != IFN_OK) {
        IFN_LOG_ERROR("engine", "forward step failed: %s", ifn_last_error());
        return 0;
    }
    e->steps++;
    process_step(e, &batch);
    return 1;
}

/* ---- inbox, aborts, timeouts ------------------------------------------------------------ */

static void admit_request(ifn_engine *e, ifn_request_state *r) {
    r->next = e->live;
    e->live = r;
    uint64_t arrival = e->next_arrival++;
    for (int32_t i = 0; i < r->req.n; i++) {
        ifn_sequence *seq = &r->seqs[i];
        seq->request = r;
        seq->index = i;
        seq->priority = r->req.priority;
        seq->arrival = arrival;
        if (i > 0) {
            seq->state = IFN_SEQ_FORKING;
            continue;
        }
        if (ifn_scheduler_add_waiting(&e->sched, seq) != IFN_OK) {
            r->is_aborted = 1;
            r->abort_status = IFN_E_NOMEM;
            finish_request(e, r, IFN_FINISH_CANCELLED);
            return;
        }
    }
}

static void apply_abort(ifn_engine *e, uint64_t id, ifn_status why) {
    for (ifn_request_state *r = e->live; r; r = r->next) {
        if (r->id != id) continue;
        r->is_aborted = 1;
        r->abort_status = why;
        finish_request(e, r, IFN_FINISH_CANCELLED);
        return;
    }
}

static void expire_timeouts(ifn_engine *e) {
    int64_t now = ifn_time_now_ns();
    for (ifn_request_state *r = e->live; r;) {
        ifn_request_state *next = r->next;
        if (r->deadline_ns && now >= r->deadline_ns) apply_abort(e, r->id, IFN_E_TIMEOUT);
        r = next;
    }
}

static void publish_stats(ifn_engine *e) {
    ifn_engine_stats st;
    memset(&st, 0, sizeof st);
    ifn_kv_cache_stats kv;
    ifn_kv_cache_get_stats(e->cache, &kv);
    st.n_running = e->sched.n_running;
    st.n_waiting = e->sched.n_waiting;
    st.kv_blocks_total = kv.n_blocks;
    st.kv_blocks_used = kv.n_used;
    st.kv_blocks_free = kv.n_free;
    st.kv_blocks_cached = kv.n_cached;
    for (int32_t i = 0; i < e->sched.n_running; i++)
        st.kv_tokens += e->sched.running[i]->table.n_tokens;
    st.prefix_queries = kv.prefix_queries;
    st.prefix_hits = kv.prefix_hits;
    st.preemptions = e->sched.preemptions;
    st.steps = e->steps;
    st.generated_tokens = e->generated_tokens;
    st.finished_requests = e->finished_requests;
    pthread_mutex_lock(&e->lock);
    e->stats = st;
    pthread_mutex_unlock(&e->lock);
}

/* Takes the inbox and pending aborts; waits for work when there is none. Returns 0 to stop. */
static int collect_work(ifn_engine *e, int has_work, ifn_request_state **out_new,
                        uint64_t **out_aborts, int32_t *out_n_aborts) {
    pthread_mutex_lock(&e->lock);
    if (!has_work && !e->inbox && e->n_aborts == 0 && !e->is_abort_all && !e->is_stopping) {
        e->is_idle = e->live == NULL;
        pthread_cond_broadcast(&e->idle);
        struct timespec until = ifn_time_deadline_after_ms(50); /* wake now and then for timeouts */
        pthread_cond_timedwait(&e->wake, &e->lock, &until);
    }
    *out_new = e->inbox;
    e->inbox = NULL;
    *out_aborts = NULL;
    *out_n_aborts = 0;
    if (e->n_aborts > 0) {
        *out_aborts = ifn_malloc(sizeof(uint64_t) * (size_t)e->n_aborts);
        if (*out_aborts) {
            memcpy(*out_aborts, e->aborts, sizeof(uint64_t) * (size_t)e->n_aborts);
            *out_n_aborts = e->n_aborts;
        }
        e->n_aborts = 0;
    }
    if (e->is_abort_all) { /* the sentinel 0 (never an id) stands for every live request */
        uint64_t *all = ifn_realloc(*out_aborts, sizeof(uint64_t) * (size_t)(*out_n_aborts + 1));
        if (all) {
            all[(*out_n_aborts)++] = 0;
            *out_aborts = all;
            e->is_abort_all = 0;
        }
    }
    if (*out_new || e->live) e->is_idle = 0;
    int keep_going = !e->is_stopping;
    pthread_mutex_unlock(&e->lock);
    return keep_going;
}

static void *engine_main(void *arg) {
    ifn_engine *e = arg;
    int has_work = 0;
    for (;;) {
        ifn_request_state *incoming;
        uint64_t *aborts;
        int32_t n_aborts;
        int keep_going = collect_work(e, has_work, &incoming, &aborts, &n_aborts);
        while (incoming) { /* the inbox is newest first: admit oldest first */
            ifn_request_state *prev = NULL, *cur = incoming;
            while (cur->next) {
                prev = cur;
                cur = cur->next;
            }
            if (prev)
                prev->next = NULL;
            else
                incoming = NULL;
            cur->next = NULL;
            admit_request(e, cur);
        }
        for (int32_t i = 0; i < n_aborts; i++) {
            if (aborts[i] != 0) {
                apply_abort(e, aborts[i], IFN_E_CANCELLED);
                continue;
            }
            while (e->live) apply_abort(e, e->live->id, IFN_E_CANCELLED);
        }
        ifn_free(aborts);
        free_finished(e);
        if (!keep_going) break;
        expire_timeouts(e);
        has_work = run_step(e);
        free_finished(e);
        publish_stats(e);
    }
    while (e->live) { /* shutdown cancels what is left, as for requests still in the inbox */
        e->live->is_aborted = 1;
        e->live->abort_status = IFN_E_CANCELLED;
        finish_request(e, e->live, IFN_FINISH_CANCELLED);
    }
    free_finished(e);
    publish_stats(e);
    pthread_mutex_lock(&e->lock);
    e->is_idle = 1;
    pthread_cond_broadcast(&e->idle);
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

/* ---- API -------------------------------------------------------------------------------- */


static ifn_status create_cache(ifn_engine *e) {
    ifn_kv_cache_params kp = ifn_forward_kv_params(e->forward, e->params.block_size);
    kp.kv_type = e->params.kv_type;
    kp.model_id = (uint64_t)(uintptr_t)e->model;
    size_t bytes = e->params.kv_cache_bytes;
    if (bytes == 0) {
        size_t per_pos =
            2 * (size_t)kp.n_layer * (size_t)kp.kv_dim * (kp.kv_type == IFN_DTYPE_F16 ? 2 : 4);
        bytes = per_pos * (size_t)ifn_forward_n_ctx(e->forward) * (size_t)e->params.max_num_seqs;
        size_t cap = ifn_os_memory_available_bytes() / 4;
        if (bytes > cap) bytes = cap;
    }
    kp.n_blocks = ifn_kv_cache_blocks_for_bytes(&kp, bytes);
    if (kp.n_blocks < 1)
        return ifn_fail(IFN_E_INVALID, "engine: %zu bytes of KV memory hold no %d-token block",
                        bytes, kp.block_size);
    return ifn_kv_cache_create(&kp, &e->cache);
}

/* The tokens that end a sequence: the vocabulary's end-of-generation ids, plus BOS for llama2.c
 * models (run.c stops there). ignore_eos and min_tokens act on exactly this set. */
static ifn_status collect_eog_ids(ifn_engine *e) {
    int32_t n = ifn_vocab_size(e->vocab);
    e->eog_ids = ifn_calloc((size_t)n + 1, sizeof *e->eog_ids);
    if (!e->eog_ids) return ifn_fail(IFN_E_NOMEM, "engine: no memory");
    for (int32_t id = 0; id < n; id++)
        if (ifn_vocab_is_eog(e->vocab, id)) e->eog_ids[e->n_eog_ids++] = id;
    int32_t bos = ifn_vocab_bos(e->vocab);
    if (ifn_model_format_of(e->model) == IFN_MODEL_FORMAT_LLAMA2C && bos >= 0 &&
        !ifn_vocab_is_eog(e->vocab, bos))
        e->eog_ids[e->n_eog_ids++] = bos;
    return IFN_OK;
}

static ifn_status check_params(ifn_engine_params *p) {
    if (p->max_num_seqs <= 0) p->max_num_seqs = 64;
    if (p->max_batched_tokens <= 0) p->max_batched_tokens = 512;
    if (p->block_size <= 0) p->block_size = 16;
    if (p->kv_type != IFN_DTYPE_F16 && p->kv_type != IFN_DTYPE_F32)
        return ifn_fail(IFN_E_INVALID, "engine: KV type must be F16 or F32");
    if (p->max_num_seqs > 4096 || p->max_batched_tokens > 65536 || p->block_size > 4096)
        return ifn_fail(IFN_E_INVALID, "engine: limits out of range");
    return IFN_OK;
}

static ifn_status start_engine(ifn_engine *e) {
    ifn_forward_params fp = ifn_forward_params_default();
    fp.n_ctx = e->params.n_ctx;
    fp.max_batch = e->params.max_batched_tokens;
    fp.exact = e->params.exact;
    ifn_status st = IFN_OK;
    e->pool = e->params.pool;
    if (!e->pool) {
        st = ifn_pool_create(e->params.n_threads, &e->pool);
        e->owns_pool = st == IFN_OK;
    }
    fp.pool = e->pool;
    if (st == IFN_OK) st = ifn_forward_create(e->model, &fp, &e->forward);
    if (st == IFN_OK) st = create_cache(e);
    if (st == IFN_OK)
        st = ifn_scheduler_init(&e->sched, e->cache, e->params.max_num_seqs,
                                e->params.max_batched_tokens, e->params.enable_prefix_cache);
    if (st == IFN_OK) st = collect_eog_ids(e);
    if (st != IFN_OK) return st;
    e->n_vocab = ifn_forward_n_vocab(e->forward);
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->wake, NULL);
    pthread_cond_init(&e->idle, NULL);
    e->is_idle = 1;
    publish_stats(e);
    if (pthread_create(&e->thread, NULL, engine_main, e) != 0)
        return ifn_fail(IFN_E_INTERNAL, "engine: cannot start the engine thread");
    e->has_thread = 1;
    return IFN_OK;
}

ifn_status ifn_engine_create(ifn_model *model, const ifn_vocab *vocab,
                             const ifn_engine_params *params, ifn_engine **out_engine) {
    ifn_engine *e = ifn_calloc(1, sizeof *e);
    if (!e) return ifn_fail(IFN_E_NOMEM, "engine: no memory");
    e->params = params ? *params : ifn_engine_params_default();
    e->model = model;
    ifn_model_retain(model);
    e->vocab = vocab;
    e->next_id = 1;
    ifn_status st = check_params(&e->params);
    if (st == IFN_OK) st = start_engine(e);
    if (st != IFN_OK) {
        ifn_engine_destroy(e);
        return st;
    }
    *out_engine = e;
    return IFN_OK;
}

void ifn_engine_destroy(ifn_engine *e) {
    if (!e) return;
    if (e->has_thread) {
        pthread_mutex_lock(&e->lock);
        e->is_stopping = 1;
        pthread_cond_signal(&e->wake);
        pthread_mutex_unlock(&e->lock);
        pthread_join(e->thread, NULL);
        while (e->inbox) { /* submitted after the thread stopped looking */
            ifn_request_state *r = e->inbox;
            e->inbox = r->next;
            if (r->req.callbacks.on_done)
                r->req.callbacks.on_done(r->req.callbacks.user, IFN_E_CANCELLED, "engine stopped");
            ifn_request_destroy(r, NULL);
        }
        pthread_cond_destroy(&e->idle);
        pthread_cond_destroy(&e->wake);
        pthread_mutex_destroy(&e->lock);
    }
    ifn_scheduler_deinit(&e->sched);
    ifn_kv_cache_destroy(e->cache);
    ifn_forward_destroy(e->forward);
    if (e->owns_pool) ifn_pool_destroy(e->pool);
    ifn_free(e->logits);
    ifn_free(e->eog_ids);
    ifn_free(e->aborts);
    ifn_model_release(e->model);
    ifn_free(e);
}

ifn_status ifn_engine_submit(ifn_engine *e, const ifn_request *req, uint64_t *out_id) {
    ifn_request_limits lim = {ifn_forward_n_ctx(e->forward), e->n_vocab,
                              ifn_forward_n_embd(e->forward), e->cache, e->vocab};
    ifn_request_state *r = NULL;
    ifn_status st = ifn_request_check(req, &lim);
    if (st == IFN_OK) st = ifn_request_create(req, &lim, &r);
    if (st != IFN_OK) return st;
    pthread_mutex_lock(&e->lock);
    if (e->is_stopping) {
        pthread_mutex_unlock(&e->lock);
        ifn_request_destroy(r, NULL);
        return ifn_fail(IFN_E_CANCELLED, "the engine is shutting down");
    }
    r->id = e->next_id++;
    r->next = e->inbox;
    e->inbox = r;
    e->is_idle = 0;
    if (out_id) *out_id = r->id;
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->lock);
    return IFN_OK;
}

void ifn_engine_abort(ifn_engine *e, uint64_t id) {
    pthread_mutex_lock(&e->lock);
    if (e->n_aborts == e->abort_capacity) {
        int32_t cap = e->abort_capacity ? e->abort_capacity * 2 : 16;
        uint64_t *grown = ifn_realloc(e->aborts, sizeof(uint64_t) * (size_t)cap);
        if (grown) {
            e->aborts = grown;
            e->abort_capacity = cap;
        }
    }
    if (e->n_aborts < e->abort_capacity) e->aborts[e->n_aborts++] = id;
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->lock);
}

void ifn_engine_abort_all(ifn_engine *e) {
    pthread_mutex_lock(&e->lock);
    e->is_abort_all = 1;
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->lock);
}

void ifn_engine_get_stats(ifn_engine *e, ifn_engine_stats *out) {
    pthread_mutex_lock(&e->lock);
    *out = e->stats;
    pthread_mutex_unlock(&e->lock);
}

int ifn_engine_wait_idle(ifn_engine *e, int64_t timeout_ms) {
    int64_t deadline = ifn_time_now_ns() + timeout_ms * 1000000;
    pthread_mutex_lock(&e->lock);
    while (!e->is_idle && (timeout_ms == 0 || ifn_time_now_ns() < deadline)) {
        struct timespec until = ifn_time_deadline_after_ms(10);
        pthread_cond_timedwait(&e->idle, &e->lock, &until);
    }
    int idle = e->is_idle;
    pthread_mutex_unlock(&e->lock);
    return idle;
}
