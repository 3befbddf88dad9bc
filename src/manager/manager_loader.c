/* The manager thread: takes queued loads one at a time (evicting idle models first when the
 * budget or max_models requires it), unloads models idle past their keep-alive or removed from
 * the repository, and polls the repository. Loads and unloads run with the lock released; a
 * slot's state (LOADING, UNLOADING) keeps other threads off it meanwhile. The budget invariant:
 * a slot's footprint is counted from before its load starts until its model is destroyed, and a
 * load is counted only after the evictions it needs have completed. */
#include "manager/manager_impl.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine/llm.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/status.h"
#include "util/time.h"

#define MIB (1024.0 * 1024.0)

size_t ifn_manager_loader_reserved(const ifn_manager *m) {
    size_t sum = 0;
    for (int32_t i = 0; i < m->n_slots; i++)
        if (m->slots[i]->is_counted) sum += m->slots[i]->footprint.total_bytes;
    return sum;
}

void ifn_manager_loader_count(ifn_manager *m, ifn_manager_slot *s) {
    s->is_counted = 1;
    size_t reserved = ifn_manager_loader_reserved(m);
    if (reserved > m->stats.peak_reserved_bytes) m->stats.peak_reserved_bytes = reserved;
}

int ifn_manager_loader_wait(ifn_manager *m, pthread_cond_t *cond, int64_t deadline_ns) {
    if (deadline_ns == INT64_MAX) {
        pthread_cond_wait(cond, &m->lock);
        return 1;
    }
    int64_t now = ifn_time_now_ns();
    if (now >= deadline_ns) return 0;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    int64_t ns = (int64_t)until.tv_nsec + (deadline_ns - now);
    until.tv_sec += (time_t)(ns / 1000000000);
    until.tv_nsec = (long)(ns % 1000000000);
    pthread_cond_timedwait(cond, &m->lock, &until);
    return ifn_time_now_ns() < deadline_ns;
}

int64_t ifn_manager_loader_keep_alive(const ifn_manager *m, const ifn_manager_slot *s,
                                      int64_t requested_ms) {
    if (requested_ms != IFN_KEEP_ALIVE_DEFAULT) return requested_ms < 0 ? -1 : requested_ms;
    if (s->entry.config.keep_alive_ms != IFN_KEEP_ALIVE_DEFAULT)
        return s->entry.config.keep_alive_ms;
    return m->params.keep_alive_ms;
}

/* ---- eviction planning ------------------------------------------------------------------ */

static int is_evictable(const ifn_manager_slot *s, const ifn_manager_slot *target) {
    return s != target && s->state == IFN_MANAGER_STATE_READY && s->n_leases == 0 &&
           s->n_waiters == 0 && !s->entry.config.is_pinned;
}

/* Lower priority first, then least recently used. */
static int evicts_before(const ifn_manager_slot *a, const ifn_manager_slot *b) {
    if (a->entry.config.priority != b->entry.config.priority)
        return a->entry.config.priority < b->entry.config.priority;
    return a->last_used_ns < b->last_used_ns;
}

static int32_t collect_candidates(const ifn_manager *m, const ifn_manager_slot *target,
                                  ifn_manager_slot **out, int32_t *out_n_counted) {
    int32_t n = 0, n_counted = 0;
    for (int32_t i = 0; i < m->n_slots; i++) {
        ifn_manager_slot *s = m->slots[i];
        n_counted += s->is_counted;
        if (!is_evictable(s, target)) continue;
        int32_t at = n++;
        while (at > 0 && evicts_before(s, out[at - 1])) {
            out[at] = out[at - 1];
            at--;
        }
        out[at] = s;
    }
    *out_n_counted = n_counted;
    return n;
}

static ifn_status refuse(const ifn_manager *m, const ifn_manager_slot *t, size_t used,
                         size_t evictable, int32_t n_counted) {
    const ifn_footprint *f = &t->footprint;
    size_t budget = m->params.max_memory_bytes;
    if (budget && f->total_bytes > budget)
        return ifn_fail(IFN_E_FULL,
                        "model '%s' needs %.1f MiB (weights %.1f, KV cache %.1f, "
                        "scratch %.1f), more than the whole memory budget of %.1f MiB",
                        t->entry.name, f->total_bytes / MIB, f->weights_bytes / MIB,
                        f->kv_bytes / MIB, f->scratch_bytes / MIB, budget / MIB);
    if (budget && used - evictable + f->total_bytes > budget)
        return ifn_fail(IFN_E_FULL,
                        "not enough memory for model '%s': it needs %.1f MiB and "
                        "%.1f MiB of the %.1f MiB budget are held by models in use, loading or "
                        "pinned; try again when they are idle",
                        t->entry.name, f->total_bytes / MIB, (used - evictable) / MIB,
                        budget / MIB);
    return ifn_fail(IFN_E_FULL,
                    "cannot load model '%s': %d models are loaded (max_models) and "
                    "none of them is idle",
                    t->entry.name, n_counted);
}

ifn_status ifn_manager_loader_plan(ifn_manager *m, const ifn_manager_slot *t,
                                   ifn_manager_slot ***out_victims, int32_t *out_n_victims) {
    ifn_manager_slot **cands = ifn_malloc(sizeof *cands * (size_t)(m->n_slots + 1));
    if (!cands) return ifn_fail(IFN_E_NOMEM, "manager: no memory");
    int32_t n_counted;
    int32_t n = collect_candidates(m, t, cands, &n_counted);
    size_t budget = m->params.max_memory_bytes, need = t->footprint.total_bytes;
    size_t used = ifn_manager_loader_reserved(m), freed = 0, evictable = 0;
    int32_t max_models = m->params.max_models, k = 0;
    for (int32_t i = 0; i < n; i++)
        evictable += cands[i]->footprint.total_bytes;
    while (k < n && ((budget && used - freed + need > budget) ||
                     (max_models > 0 && n_counted - k + 1 > max_models)))
        freed += cands[k++]->footprint.total_bytes;
    if ((budget && (need > budget || used - freed + need > budget)) ||
        (max_models > 0 && n_counted - k + 1 > max_models)) {
        ifn_free(cands);
        return refuse(m, t, used, evictable, n_counted);
    }
    if (out_victims) {
        *out_victims = cands;
        *out_n_victims = k;
    } else {
        ifn_free(cands);
    }
    return IFN_OK;
}

/* ---- unloading -------------------------------------------------------------------------- */

void ifn_manager_loader_finish_unload(ifn_manager *m, ifn_manager_slot *s) {
    s->state = IFN_MANAGER_STATE_UNLOADED;
    s->is_counted = 0;
    s->loaded_bytes = 0;
    m->stats.unloads++;
    if (s->has_pending) {
        ifn_repository_entry_deinit(&s->entry);
        s->entry = s->pending;
        memset(&s->pending, 0, sizeof s->pending);
        ifn_model_config_init(&s->pending.config);
        s->footprint = s->pending_footprint;
        s->has_pending = 0;
        if (s->entry.error) s->state = IFN_MANAGER_STATE_FAILED;
    }
    pthread_cond_broadcast(&m->changed);
    pthread_cond_signal(&m->work);
}

/* Destroys the models of slots already marked UNLOADING (lock held, released meanwhile). */
static void unload_marked(ifn_manager *m, ifn_manager_slot **slots, int32_t n, const char *why) {
    ifn_served_model *models[16];
    for (int32_t done = 0; done < n;) {
        int32_t batch = n - done < 16 ? n - done : 16;
        for (int32_t i = 0; i < batch; i++) {
            models[i] = slots[done + i]->model;
            slots[done + i]->model = NULL; /* nobody may reach it while it is destroyed */
            IFN_LOG_INFO("manager", "unloading model=%s version=%lld reason=%s",
                         slots[done + i]->entry.name, (long long)slots[done + i]->entry.version,
                         why);
        }
        pthread_mutex_unlock(&m->lock);
        for (int32_t i = 0; i < batch; i++)
            ifn_served_model_destroy(models[i]);
        pthread_mutex_lock(&m->lock);
        for (int32_t i = 0; i < batch; i++)
            ifn_manager_loader_finish_unload(m, slots[done + i]);
        done += batch;
    }
}

/* A ready, idle slot past its keep-alive or removed from the repository, or NULL; *wake_at
 * becomes the earliest future keep-alive deadline. */
static ifn_manager_slot *find_expired(ifn_manager *m, int64_t now, int64_t *wake_at) {
    for (int32_t i = 0; i < m->n_slots; i++) {
        ifn_manager_slot *s = m->slots[i];
        if (s->state != IFN_MANAGER_STATE_READY || s->n_leases > 0 || s->n_waiters > 0) continue;
        if (s->is_removed) return s;
        int64_t keep_alive_ms = ifn_manager_loader_keep_alive(m, s, s->keep_alive_ms);
        if (s->entry.config.is_pinned || keep_alive_ms < 0) continue;
        if (keep_alive_ms > (INT64_MAX - s->idle_since_ns) / 1000000) continue; /* never */
        int64_t deadline = s->idle_since_ns + keep_alive_ms * 1000000;
        if (now >= deadline) return s;
        if (deadline < *wake_at) *wake_at = deadline;
    }
    return NULL;
}

/* ---- loading ---------------------------------------------------------------------------- */

/* Ends a load attempt that did not produce a model (lock held). */
static void fail_attempt(ifn_manager *m, ifn_manager_slot *s, ifn_status st, const char *message,
                         ifn_manager_state state) {
    s->state = state;
    s->attempt_status = st;
    ifn_free(s->error);
    s->error = ifn_strndup(message, strlen(message));
    s->n_attempts++;
    pthread_cond_broadcast(&m->changed);
}

/* Weights as stored plus the KV cache the engine allocated. */
static size_t measure_loaded(const ifn_served_model *model, int32_t block_size, size_t elem) {
    const ifn_model *weights = ifn_llm_model(model->llm);
    const ifn_hparams *hp = ifn_model_hparams(weights);
    ifn_engine_stats st;
    ifn_engine_get_stats(model->engine, &st);
    size_t per_block = 2 * (size_t)hp->n_layer * (size_t)block_size *
                       (size_t)(hp->n_head_kv * hp->head_dim) * elem;
    return ifn_model_weight_bytes(weights) + (size_t)st.kv_blocks_total * per_block;
}

/* Loads one slot (lock held, released while loading). Its entry cannot change meanwhile: rescans
 * only replace the entries of unloaded slots. */
static void load_slot(ifn_manager *m, ifn_manager_slot *s) {
    ifn_served_model_params p = ifn_served_model_params_default();
    p.model_path = s->entry.model_path;
    p.tokenizer_path = s->entry.tokenizer_path;
    p.name = s->entry.name;
    p.chat_template = s->entry.config.chat_template;
    p.engine = ifn_manager_catalog_engine_params(m, &s->entry);
    p.engine.kv_cache_bytes = s->footprint.kv_bytes;
    p.engine.n_ctx = s->footprint.n_ctx;
    size_t elem = p.engine.kv_type == IFN_DTYPE_F32 ? 4 : 2;
    IFN_LOG_INFO("manager", "loading model=%s version=%lld estimate_mb=%.1f", s->entry.name,
                 (long long)s->entry.version, s->footprint.total_bytes / MIB);
    pthread_mutex_unlock(&m->lock);
    ifn_served_model *model = NULL;
    ifn_status st = ifn_served_model_load(&p, &model);
    char message[512];
    snprintf(message, sizeof message, "%s", st == IFN_OK ? "" : ifn_last_error());
    size_t loaded = st == IFN_OK ? measure_loaded(model, p.engine.block_size, elem) : 0;
    pthread_mutex_lock(&m->lock);
    if (st != IFN_OK) {
        IFN_LOG_ERROR("manager", "load failed model=%s: %s", s->entry.name, message);
        s->is_counted = 0;
        m->stats.load_failures++;
        fail_attempt(m, s, st, message, IFN_MANAGER_STATE_FAILED);
        return;
    }
    s->model = model;
    s->loaded_bytes = loaded;
    s->state = IFN_MANAGER_STATE_READY;
    s->attempt_status = IFN_OK;
    ifn_free(s->error);
    s->error = NULL;
    s->idle_since_ns = s->last_used_ns = ifn_time_now_ns();
    s->n_attempts++;
    m->stats.loads++;
    pthread_cond_broadcast(&m->changed);
    pthread_cond_signal(&m->work);
}

/* Takes the next queued load: evicts what the plan requires, then loads (lock held). */
static void load_next(ifn_manager *m) {
    ifn_manager_slot *s = m->queue_head;
    m->queue_head = s->next_queued;
    if (!m->queue_head) m->queue_tail = NULL;
    s->next_queued = NULL;
    s->is_queued = 0;
    ifn_manager_slot **victims = NULL;
    int32_t n_victims = 0;
    ifn_status st = ifn_manager_loader_plan(m, s, &victims, &n_victims);
    if (st != IFN_OK) {
        if (st == IFN_E_FULL) m->stats.rejected_full++;
        fail_attempt(m, s, st, ifn_last_error(), IFN_MANAGER_STATE_UNLOADED);
        return;
    }
    for (int32_t i = 0; i < n_victims; i++)
        victims[i]->state = IFN_MANAGER_STATE_UNLOADING;
    m->stats.evictions += n_victims;
    unload_marked(m, victims, n_victims, "evicted");
    ifn_free(victims);
    ifn_manager_loader_count(m, s);
    load_slot(m, s);
}

static void poll_repository(ifn_manager *m) {
    pthread_mutex_unlock(&m->lock);
    if (ifn_manager_rescan(m) != IFN_OK)
        IFN_LOG_WARN("manager", "repository rescan failed: %s", ifn_last_error());
    pthread_mutex_lock(&m->lock);
    m->next_scan_ns = ifn_time_now_ns() + m->params.rescan_interval_ms * 1000000;
}

void *ifn_manager_loader_main(void *arg) {
    ifn_manager *m = arg;
    pthread_mutex_lock(&m->lock);
    while (!m->is_stopping) {
        if (m->queue_head) {
            load_next(m);
            continue;
        }
        int64_t now = ifn_time_now_ns(), wake_at = INT64_MAX;
        ifn_manager_slot *expired = find_expired(m, now, &wake_at);
        if (expired) {
            expired->state = IFN_MANAGER_STATE_UNLOADING;
            unload_marked(m, &expired, 1, expired->is_removed ? "removed" : "idle");
            continue;
        }
        ifn_manager_catalog_prune(m);
        int is_polling = m->params.rescan_interval_ms > 0 && m->repository_dir;
        if (is_polling && now >= m->next_scan_ns) {
            poll_repository(m);
            continue;
        }
        if (is_polling && m->next_scan_ns < wake_at) wake_at = m->next_scan_ns;
        ifn_manager_loader_wait(m, &m->work, wake_at);
    }
    while (m->queue_head) { /* shutting down: queued loads will not happen */
        ifn_manager_slot *s = m->queue_head;
        m->queue_head = s->next_queued;
        s->next_queued = NULL;
        s->is_queued = 0;
        fail_attempt(m, s, IFN_E_CANCELLED, "the model manager is shutting down",
                     IFN_MANAGER_STATE_UNLOADED);
    }
    m->queue_tail = NULL;
    pthread_mutex_unlock(&m->lock);
    return NULL;
}
