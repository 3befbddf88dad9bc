/* The model manager's API: creation and shutdown, adding and rescanning models, leases, explicit
 * load and unload, listing and statistics. Callers only wait here (condition variables with the
 * manager's lock); loading, evicting and idle unloading happen on the manager thread
 * (manager_loader.c), and the catalog of slots lives in manager_catalog.c. */
#include "manager/manager.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "manager/manager_impl.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/os_memory.h"
#include "util/status.h"
#include "util/time.h"

#define DEFAULT_KEEP_ALIVE_MS (5 * 60 * 1000)

const char *ifn_manager_state_str(ifn_manager_state state) {
    switch (state) {
    case IFN_MANAGER_STATE_UNLOADED:
        return "unloaded";
    case IFN_MANAGER_STATE_LOADING:
        return "loading";
    case IFN_MANAGER_STATE_READY:
        return "ready";
    case IFN_MANAGER_STATE_UNLOADING:
        return "unloading";
    case IFN_MANAGER_STATE_FAILED:
        return "failed";
    }
    return "unknown";
}

ifn_manager_params ifn_manager_params_default(void) {
    ifn_manager_params p;
    memset(&p, 0, sizeof p);
    p.keep_alive_ms = DEFAULT_KEEP_ALIVE_MS;
    p.engine = ifn_engine_params_default();
    return p;
}

static int64_t wall_ms(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int64_t deadline_after(int64_t timeout_ms) {
    if (timeout_ms < 0 || timeout_ms > INT64_MAX / 2000000) return INT64_MAX;
    return ifn_time_now_ns() + timeout_ms * 1000000;
}

/* A quarter of the memory available now, as the engine would take for an unsized KV cache. */
static size_t default_kv_cap(void) {
    return ifn_os_memory_available_bytes() / 4;
}

/* ---- lifetime --------------------------------------------------------------------------- */

static ifn_status init_params(ifn_manager *m, const ifn_manager_params *params) {
    m->params = params ? *params : ifn_manager_params_default();
    ifn_engine_params *e = &m->params.engine, def = ifn_engine_params_default();
    if (e->max_num_seqs <= 0) e->max_num_seqs = def.max_num_seqs;
    if (e->max_batched_tokens <= 0) e->max_batched_tokens = def.max_batched_tokens;
    if (e->block_size <= 0) e->block_size = def.block_size;
    if (m->params.kv_cap_bytes == 0) m->params.kv_cap_bytes = default_kv_cap();
    if (m->params.max_models < 0 || m->params.rescan_interval_ms < 0)
        return ifn_fail(IFN_E_INVALID, "manager: max_models and rescan_interval_ms must be >= 0");
    if (m->params.keep_alive_ms < 0) m->params.keep_alive_ms = IFN_KEEP_ALIVE_FOREVER;
    if (m->params.repository_dir) {
        m->repository_dir = ifn_strndup(params->repository_dir, strlen(params->repository_dir));
        if (!m->repository_dir) return ifn_fail(IFN_E_NOMEM, "manager: no memory");
    }
    m->params.repository_dir = m->repository_dir;
    return IFN_OK;
}

static void init_sync(ifn_manager *m) {
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&m->scan_lock, NULL);
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->changed, &attr);
    pthread_cond_init(&m->work, &attr);
    pthread_condattr_destroy(&attr);
}

ifn_status ifn_manager_create(const ifn_manager_params *params, ifn_manager **out) {
    ifn_manager *m = ifn_calloc(1, sizeof *m);
    if (!m) return ifn_fail(IFN_E_NOMEM, "manager: no memory");
    init_sync(m);
    ifn_status st = init_params(m, params);
    if (st == IFN_OK) st = ifn_pool_create(m->params.n_threads, &m->pool);
    if (st == IFN_OK) st = ifn_manager_catalog_reindex(m);
    if (st == IFN_OK && m->repository_dir) st = ifn_manager_rescan(m);
    if (st == IFN_OK) {
        m->next_scan_ns = ifn_time_now_ns() + m->params.rescan_interval_ms * 1000000;
        if (pthread_create(&m->thread, NULL, ifn_manager_loader_main, m) != 0)
            st = ifn_fail(IFN_E_INTERNAL, "manager: cannot start the manager thread");
        m->has_thread = st == IFN_OK;
    }
    if (st != IFN_OK) {
        ifn_manager_destroy(m);
        return st;
    }
    *out = m;
    return IFN_OK;
}

/* Unloads a READY slot for good (lock held): cancels what still runs, waits for its leases. */
static void shut_slot(ifn_manager *m, ifn_manager_slot *s) {
    s->state = IFN_MANAGER_STATE_UNLOADING;
    IFN_LOG_INFO("manager", "unloading model=%s version=%lld reason=request leases=%d",
                 s->entry.name, (long long)s->entry.version, s->n_leases);
    if (s->n_leases > 0) {
        ifn_engine *engine = s->model->engine;
        pthread_mutex_unlock(&m->lock);
        ifn_engine_abort_all(engine);
        pthread_mutex_lock(&m->lock);
        while (s->n_leases > 0)
            pthread_cond_wait(&m->changed, &m->lock);
    }
    ifn_served_model *model = s->model;
    s->model = NULL; /* nobody may reach it while it is destroyed */
    pthread_mutex_unlock(&m->lock);
    ifn_served_model_destroy(model);
    pthread_mutex_lock(&m->lock);
    ifn_manager_loader_finish_unload(m, s);
}

void ifn_manager_destroy(ifn_manager *m) {
    if (!m) return;
    pthread_mutex_lock(&m->lock);
    m->is_stopping = 1;
    pthread_cond_broadcast(&m->work);
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->lock);
    if (m->has_thread) pthread_join(m->thread, NULL);
    pthread_mutex_lock(&m->lock);
    for (int32_t i = 0; i < m->n_slots; i++) { /* waiters leave, unloads in progress end */
        ifn_manager_slot *s = m->slots[i];
        while (s->n_waiters > 0 || s->state == IFN_MANAGER_STATE_UNLOADING)
            pthread_cond_wait(&m->changed, &m->lock);
        if (s->state == IFN_MANAGER_STATE_READY) shut_slot(m, s);
    }
    pthread_mutex_unlock(&m->lock);
    for (int32_t i = 0; i < m->n_slots; i++)
        ifn_manager_catalog_free_slot(m->slots[i]);
    ifn_free(m->slots);
    ifn_free(m->index);
    ifn_free(m->index_slots);
    ifn_pool_destroy(m->pool);
    ifn_free(m->repository_dir);
    pthread_cond_destroy(&m->work);
    pthread_cond_destroy(&m->changed);
    pthread_mutex_destroy(&m->lock);
    pthread_mutex_destroy(&m->scan_lock);
    ifn_free(m);
}

ifn_pool *ifn_manager_pool(ifn_manager *m) {
    return m->pool;
}

/* ---- catalog ---------------------------------------------------------------------------- */

static ifn_status make_added_entry(const char *name, const char *model_path,
                                   const char *tokenizer_path, const ifn_model_config *config,
                                   ifn_repository_entry *e) {
    memset(e, 0, sizeof *e);
    ifn_model_config_init(&e->config);
    const char *slash = strrchr(model_path, '/');
    e->name = ifn_strndup(name, strlen(name));
    e->version = 1;
    e->dir = slash ? ifn_strndup(model_path, (size_t)(slash - model_path)) : ifn_strndup(".", 1);
    e->model_path = ifn_strndup(model_path, strlen(model_path));
    e->tokenizer_path = tokenizer_path ? ifn_strndup(tokenizer_path, strlen(tokenizer_path)) : NULL;
    e->is_served = 1;
    int ok = e->name && e->dir && e->model_path && (!tokenizer_path || e->tokenizer_path);
    if (ok && config && ifn_model_config_copy(config, &e->config) != IFN_OK) ok = 0;
    if (ok) return IFN_OK;
    ifn_repository_entry_deinit(e);
    return ifn_fail(IFN_E_NOMEM, "manager: no memory");
}

static int is_name_taken(const ifn_manager *m, const char *name) {
    for (int32_t i = 0; i < m->n_slots; i++)
        if (!m->slots[i]->is_removed && strcmp(m->slots[i]->entry.name, name) == 0) return 1;
    return 0;
}

ifn_status ifn_manager_add(ifn_manager *m, const char *name, const char *model_path,
                           const char *tokenizer_path, const ifn_model_config *config) {
    if (!name || !name[0] || strchr(name, '@') || strchr(name, '/') || !model_path)
        return ifn_fail(IFN_E_INVALID, "manager: a model needs a path and a name without '@' "
                                       "or '/'");
    ifn_repository_entry e;
    ifn_footprint fp;
    ifn_status st = make_added_entry(name, model_path, tokenizer_path, config, &e);
    if (st != IFN_OK) return st;
    st = ifn_manager_catalog_estimate(m, &e, &fp);
    pthread_mutex_lock(&m->lock);
    if (st == IFN_OK && is_name_taken(m, name))
        st = ifn_fail(IFN_E_INVALID, "a model named '%s' already exists", name);
    if (st == IFN_OK) st = ifn_manager_catalog_insert(m, &e, &fp, 1);
    if (st == IFN_OK) st = ifn_manager_catalog_reindex(m);
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->lock);
    ifn_repository_entry_deinit(&e);
    return st;
}

/* Copies the scan's entries and estimates them (disk I/O, without the manager's lock). */
static ifn_status prepare_scan(ifn_manager *m, const ifn_repository *repo,
                               ifn_repository_entry *entries, ifn_footprint *footprints) {
    for (int32_t i = 0; i < ifn_repository_count(repo); i++) {
        ifn_status st = ifn_repository_entry_copy(ifn_repository_entry_at(repo, i), &entries[i]);
        if (st != IFN_OK) return st;
        st = ifn_manager_catalog_estimate(m, &entries[i], &footprints[i]);
        if (st == IFN_E_NOMEM) return st;
    }
    return IFN_OK;
}

ifn_status ifn_manager_rescan(ifn_manager *m) {
    if (!m->repository_dir) return ifn_fail(IFN_E_INVALID, "manager: no model repository");
    pthread_mutex_lock(&m->scan_lock);
    ifn_repository *repo = NULL;
    ifn_repository_entry *entries = NULL;
    ifn_footprint *footprints = NULL;
    int32_t n = 0;
    ifn_status st = ifn_repository_scan(m->repository_dir, &repo);
    if (st == IFN_OK) {
        n = ifn_repository_count(repo);
        entries = ifn_calloc((size_t)n + 1, sizeof *entries);
        footprints = ifn_calloc((size_t)n + 1, sizeof *footprints);
        st = entries && footprints ? prepare_scan(m, repo, entries, footprints)
                                   : ifn_fail(IFN_E_NOMEM, "manager: no memory");
    }
    if (st == IFN_OK) {
        pthread_mutex_lock(&m->lock);
        st = ifn_manager_catalog_merge(m, entries, footprints, n);
        m->stats.rescans++;
        pthread_cond_broadcast(&m->changed);
        pthread_cond_signal(&m->work);
        pthread_mutex_unlock(&m->lock);
    }
    for (int32_t i = 0; entries && i < n; i++)
        ifn_repository_entry_deinit(&entries[i]);
    ifn_free(entries);
    ifn_free(footprints);
    ifn_repository_destroy(repo);
    pthread_mutex_unlock(&m->scan_lock);
    return st;
}

/* ---- leases ----------------------------------------------------------------------------- */

/* Queues the slot's load if it can fit at all (lock held). */
static ifn_status request_load(ifn_manager *m, ifn_manager_slot *s) {
    ifn_status st = ifn_manager_loader_plan(m, s, NULL, NULL);
    if (st != IFN_OK) {
        if (st == IFN_E_FULL) m->stats.rejected_full++;
        return st;
    }
    s->state = IFN_MANAGER_STATE_LOADING;
    s->is_queued = 1;
    if (m->queue_tail)
        m->queue_tail->next_queued = s;
    else
        m->queue_head = s;
    m->queue_tail = s;
    pthread_cond_signal(&m->work);
    pthread_cond_broadcast(&m->changed);
    return IFN_OK;
}

/* A thread that waited on the slot lets go of it (lock held): when it was the last, the slot
 * may be idle (the manager thread looks) or unused (ifn_manager_destroy waits for that). */
static void leave_slot(ifn_manager *m, ifn_manager_slot *s) {
    if (--s->n_waiters > 0) return;
    pthread_cond_signal(&m->work);
    pthread_cond_broadcast(&m->changed);
}

/* Why a slot cannot be leased now, or IFN_OK (lock held). */
static ifn_status check_leasable(const ifn_manager *m, const ifn_manager_slot *s) {
    if (m->is_stopping) return ifn_fail(IFN_E_CANCELLED, "the model manager is shutting down");
    if (s->is_removed && s->state != IFN_MANAGER_STATE_READY)
        return ifn_fail(IFN_E_INVALID, "model '%s' was removed from the repository", s->entry.name);
    if (s->entry.error)
        return ifn_fail(IFN_E_FORMAT, "model '%s' cannot be served: %s", s->entry.name,
                        s->entry.error);
    return IFN_OK;
}

/* Waits until the slot is ready, queueing its load when it is not loaded (lock held). Returns
 * the failure of a load attempt that ended while waiting. */
static ifn_status wait_ready(ifn_manager *m, ifn_manager_slot *s, int64_t deadline_ns) {
    uint64_t seen_attempts = s->n_attempts;
    for (;;) {
        if (s->state == IFN_MANAGER_STATE_READY && !m->is_stopping) return IFN_OK;
        if (s->n_attempts != seen_attempts && s->attempt_status != IFN_OK)
            return ifn_fail(s->attempt_status, "%s", s->error ? s->error : "load failed");
        ifn_status st = check_leasable(m, s);
        if (st != IFN_OK) return st;
        if (s->state == IFN_MANAGER_STATE_UNLOADED || s->state == IFN_MANAGER_STATE_FAILED) {
            seen_attempts = s->n_attempts;
            st = request_load(m, s);
            if (st != IFN_OK) return st;
        }
        s->n_waiters++;
        int is_in_time = ifn_manager_loader_wait(m, &m->changed, deadline_ns);
        leave_slot(m, s);
        if (!is_in_time && s->state != IFN_MANAGER_STATE_READY)
            return ifn_fail(IFN_E_TIMEOUT, "model '%s' is not ready yet (%s)", s->entry.name,
                            ifn_manager_state_str(s->state));
    }
}

ifn_status ifn_manager_acquire(ifn_manager *m, const char *name, int64_t keep_alive_ms,
                               int64_t timeout_ms, ifn_manager_lease **out_lease) {
    if (!m || !name || !out_lease) return ifn_fail(IFN_E_INVALID, "manager: bad arguments");
    ifn_manager_lease *lease = ifn_malloc(sizeof *lease);
    if (!lease) return ifn_fail(IFN_E_NOMEM, "manager: no memory");
    int64_t deadline = deadline_after(timeout_ms);
    ifn_manager_slot *s = NULL;
    pthread_mutex_lock(&m->lock);
    ifn_status st = ifn_manager_catalog_find(m, name, &s);
    if (st == IFN_OK) st = wait_ready(m, s, deadline);
    if (st == IFN_OK) {
        s->n_leases++;
        s->keep_alive_ms = keep_alive_ms;
        s->last_used_ns = ifn_time_now_ns();
        s->last_used_unix_ms = wall_ms();
    }
    pthread_mutex_unlock(&m->lock);
    if (st != IFN_OK) {
        ifn_free(lease);
        return st;
    }
    lease->manager = m;
    lease->slot = s;
    *out_lease = lease;
    return IFN_OK;
}

/* Drops one lease (lock held); a real release (not a peek) restarts the idle clock. */
static void drop_lease(ifn_manager *m, ifn_manager_slot *s, int is_real) {
    s->n_leases--;
    if (is_real) {
        s->last_used_ns = ifn_time_now_ns();
        s->last_used_unix_ms = wall_ms();
        if (s->n_leases == 0) s->idle_since_ns = s->last_used_ns;
    }
    if (s->n_leases == 0) pthread_cond_signal(&m->work);
    pthread_cond_broadcast(&m->changed);
}

void ifn_manager_release(ifn_manager_lease *lease) {
    if (!lease) return;
    ifn_manager *m = lease->manager;
    pthread_mutex_lock(&m->lock);
    drop_lease(m, lease->slot, 1);
    pthread_mutex_unlock(&m->lock);
    ifn_free(lease);
}

ifn_served_model *ifn_manager_lease_model(const ifn_manager_lease *lease) {
    return lease->slot->model;
}

const char *ifn_manager_lease_name(const ifn_manager_lease *lease) {
    return lease->slot->entry.name;
}

int64_t ifn_manager_lease_version(const ifn_manager_lease *lease) {
    return lease->slot->entry.version;
}

const ifn_model_config *ifn_manager_lease_config(const ifn_manager_lease *lease) {
    return &lease->slot->entry.config;
}

ifn_status ifn_manager_load(ifn_manager *m, const char *name, int64_t keep_alive_ms,
                            int64_t timeout_ms) {
    if (timeout_ms != 0) {
        ifn_manager_lease *lease = NULL;
        ifn_status st = ifn_manager_acquire(m, name, keep_alive_ms, timeout_ms, &lease);
        ifn_manager_release(lease);
        return st;
    }
    ifn_manager_slot *s = NULL;
    pthread_mutex_lock(&m->lock);
    ifn_status st = ifn_manager_catalog_find(m, name, &s);
    if (st == IFN_OK) st = check_leasable(m, s);
    if (st == IFN_OK &&
        (s->state == IFN_MANAGER_STATE_UNLOADED || s->state == IFN_MANAGER_STATE_FAILED)) {
        s->keep_alive_ms = keep_alive_ms;
        st = request_load(m, s);
    }
    pthread_mutex_unlock(&m->lock);
    return st;
}

/* ---- unloading -------------------------------------------------------------------------- */

/* Stops new leases, waits up to grace_ms for the current ones, then unloads (lock held). */
static void drain_and_unload(ifn_manager *m, ifn_manager_slot *s, int64_t grace_ms) {
    s->state = IFN_MANAGER_STATE_UNLOADING;
    pthread_cond_broadcast(&m->changed);
    int64_t deadline = deadline_after(grace_ms);
    while (s->n_leases > 0 && ifn_manager_loader_wait(m, &m->changed, deadline))
        continue;
    if (s->n_leases > 0)
        IFN_LOG_WARN("manager",
                     "cancelling the requests of model=%s after the unload grace "
                     "period leases=%d",
                     s->entry.name, s->n_leases);
    shut_slot(m, s);
}

ifn_status ifn_manager_unload(ifn_manager *m, const char *name, int64_t grace_ms) {
    if (!m || !name) return ifn_fail(IFN_E_INVALID, "manager: bad arguments");
    ifn_manager_slot *s = NULL;
    pthread_mutex_lock(&m->lock);
    ifn_status st = ifn_manager_catalog_find(m, name, &s);
    if (st != IFN_OK) {
        pthread_mutex_unlock(&m->lock);
        return st;
    }
    s->n_waiters++; /* holds the slot: it is not idle, nor freed, meanwhile */
    while (s->state == IFN_MANAGER_STATE_LOADING)
        pthread_cond_wait(&m->changed, &m->lock);
    if (s->state == IFN_MANAGER_STATE_UNLOADING) { /* someone else unloads it */
        while (s->state == IFN_MANAGER_STATE_UNLOADING)
            pthread_cond_wait(&m->changed, &m->lock);
    } else if (s->state == IFN_MANAGER_STATE_READY) {
        drain_and_unload(m, s, grace_ms);
    } else if (s->state == IFN_MANAGER_STATE_FAILED && !s->entry.error) {
        s->state = IFN_MANAGER_STATE_UNLOADED; /* Triton: unloading a failed model clears it */
        ifn_free(s->error);
        s->error = NULL;
        pthread_cond_broadcast(&m->changed);
    }
    leave_slot(m, s);
    pthread_mutex_unlock(&m->lock);
    return IFN_OK;
}

/* ---- observation ------------------------------------------------------------------------ */

static char *dup_or_null(const char *s) {
    return s ? ifn_strndup(s, strlen(s)) : NULL;
}

static int fill_info(const ifn_manager_slot *s, ifn_manager_model_info *info) {
    const ifn_repository_entry *e = &s->entry;
    info->name = dup_or_null(e->name);
    info->version = e->version;
    info->state = s->state;
    info->error = dup_or_null(e->error                               ? e->error
                              : s->state == IFN_MANAGER_STATE_FAILED ? s->error
                                                                     : NULL);
    info->model_path = dup_or_null(e->model_path);
    info->estimated_bytes = s->footprint.total_bytes;
    info->estimated_weights_bytes = s->footprint.weights_bytes;
    info->estimated_kv_bytes = s->footprint.kv_bytes;
    info->loaded_bytes = s->loaded_bytes;
    info->n_ctx = s->model ? s->model->n_ctx : s->footprint.n_ctx;
    info->is_pinned = e->config.is_pinned;
    info->is_served = e->is_served;
    info->is_added = s->is_added;
    info->priority = e->config.priority;
    info->last_used_unix_ms = s->last_used_unix_ms;
    info->n_leases = s->n_leases;
    int ok = info->name && (!e->model_path || info->model_path);
    if (ok && e->config.n_aliases > 0) {
        info->aliases = ifn_calloc((size_t)e->config.n_aliases, sizeof *info->aliases);
        ok = info->aliases != NULL;
        for (int32_t i = 0; ok && i < e->config.n_aliases; i++) {
            ok = (info->aliases[i] = dup_or_null(e->config.aliases[i])) != NULL;
            info->n_aliases = i + 1;
        }
    }
    return ok;
}

ifn_status ifn_manager_list(ifn_manager *m, ifn_manager_model_info **out_infos,
                            int32_t *out_count) {
    pthread_mutex_lock(&m->lock);
    int32_t n = m->n_slots;
    ifn_manager_model_info *infos = ifn_calloc((size_t)n + 1, sizeof *infos);
    int ok = infos != NULL;
    for (int32_t i = 0; ok && i < n; i++)
        ok = fill_info(m->slots[i], &infos[i]);
    pthread_mutex_unlock(&m->lock);
    if (!ok) {
        ifn_manager_list_free(infos, n);
        return ifn_fail(IFN_E_NOMEM, "manager: no memory");
    }
    *out_infos = infos;
    *out_count = n;
    return IFN_OK;
}

void ifn_manager_list_free(ifn_manager_model_info *infos, int32_t count) {
    if (!infos) return;
    for (int32_t i = 0; i < count; i++) {
        for (int32_t k = 0; k < infos[i].n_aliases; k++)
            ifn_free(infos[i].aliases[k]);
        ifn_free(infos[i].aliases);
        ifn_free(infos[i].name);
        ifn_free(infos[i].error);
        ifn_free(infos[i].model_path);
    }
    ifn_free(infos);
}

ifn_status ifn_manager_engine_stats(ifn_manager *m, const char *name, ifn_engine_stats *out) {
    ifn_manager_slot *s = NULL;
    pthread_mutex_lock(&m->lock);
    ifn_status st = ifn_manager_catalog_find(m, name, &s);
    if (st == IFN_OK && s->state != IFN_MANAGER_STATE_READY)
        st = ifn_fail(IFN_E_AGAIN, "model '%s' is %s", name, ifn_manager_state_str(s->state));
    if (st != IFN_OK) {
        pthread_mutex_unlock(&m->lock);
        return st;
    }
    s->n_leases++; /* a peek: keeps the engine alive while we read it */
    ifn_engine *engine = s->model->engine;
    pthread_mutex_unlock(&m->lock);
    ifn_engine_get_stats(engine, out);
    pthread_mutex_lock(&m->lock);
    drop_lease(m, s, 0);
    pthread_mutex_unlock(&m->lock);
    return IFN_OK;
}

int32_t ifn_manager_queue_depth(ifn_manager *m, const char *name) {
    ifn_engine_stats st;
    if (ifn_manager_engine_stats(m, name, &st) != IFN_OK) return 0;
    return st.n_running + st.n_waiting;
}

void ifn_manager_abort_all(ifn_manager *m) {
    pthread_mutex_lock(&m->lock);
    int32_t n = m->n_slots;
    ifn_manager_slot **peeked = ifn_malloc(sizeof *peeked * (size_t)(n + 1));
    int32_t n_peeked = 0;
    for (int32_t i = 0; peeked && i < n; i++) {
        ifn_manager_slot *s = m->slots[i];
        if (!s->model ||
            (s->state != IFN_MANAGER_STATE_READY && s->state != IFN_MANAGER_STATE_UNLOADING))
            continue;
        s->n_leases++;
        peeked[n_peeked++] = s;
    }
    pthread_mutex_unlock(&m->lock);
    for (int32_t i = 0; i < n_peeked; i++)
        ifn_engine_abort_all(peeked[i]->model->engine);
    pthread_mutex_lock(&m->lock);
    for (int32_t i = 0; i < n_peeked; i++)
        drop_lease(m, peeked[i], 0);
    pthread_mutex_unlock(&m->lock);
    ifn_free(peeked);
}

void ifn_manager_get_stats(ifn_manager *m, ifn_manager_stats *out) {
    pthread_mutex_lock(&m->lock);
    *out = m->stats;
    out->n_loaded = 0;
    for (int32_t i = 0; i < m->n_slots; i++)
        out->n_loaded += m->slots[i]->state == IFN_MANAGER_STATE_READY;
    out->reserved_bytes = ifn_manager_loader_reserved(m);
    pthread_mutex_unlock(&m->lock);
}
