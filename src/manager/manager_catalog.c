/* Which models the manager knows: slots made from repository entries (or added directly), kept
 * sorted by name and version, merged with each rescan, indexed for name resolution, and freed
 * once removed from the repository and no longer used. Every function but
 * ifn_manager_catalog_estimate runs with the manager's lock held. */
#include "manager/manager_impl.h"

#include <string.h>

#include "util/alloc.h"
#include "util/log.h"
#include "util/status.h"

ifn_engine_params ifn_manager_catalog_engine_params(const ifn_manager *m,
                                                    const ifn_repository_entry *e) {
    ifn_engine_params ep = m->params.engine;
    if (e->config.context_length > 0) ep.n_ctx = e->config.context_length;
    if (e->config.max_num_seqs > 0) ep.max_num_seqs = e->config.max_num_seqs;
    if (e->config.kv_cache_bytes > 0) ep.kv_cache_bytes = e->config.kv_cache_bytes;
    ep.n_threads = ifn_pool_size(m->pool);
    ep.pool = m->pool;
    return ep;
}

ifn_status ifn_manager_catalog_estimate(ifn_manager *m, ifn_repository_entry *e,
                                        ifn_footprint *out) {
    memset(out, 0, sizeof *out);
    if (e->error) return IFN_OK;
    ifn_engine_params ep = ifn_manager_catalog_engine_params(m, e);
    ifn_status st =
        ifn_footprint_estimate(e->model_path, e->tokenizer_path, &ep, m->params.kv_cap_bytes, out);
    if (st == IFN_OK) return IFN_OK;
    e->error = ifn_strndup(ifn_last_error(), strlen(ifn_last_error()));
    e->is_served = 0;
    return e->error ? st : ifn_fail(IFN_E_NOMEM, "manager: no memory");
}

void ifn_manager_catalog_free_slot(ifn_manager_slot *s) {
    if (!s) return;
    IFN_ASSERT(s->model == NULL);
    ifn_repository_entry_deinit(&s->entry);
    ifn_repository_entry_deinit(&s->pending);
    ifn_free(s->error);
    ifn_free(s);
}

static int compare_slot(const ifn_manager_slot *s, const char *name, int64_t version) {
    int c = strcmp(s->entry.name, name);
    return c ? c : (s->entry.version > version) - (s->entry.version < version);
}

ifn_status ifn_manager_catalog_insert(ifn_manager *m, ifn_repository_entry *entry,
                                      const ifn_footprint *footprint, int is_added) {
    if (m->n_slots == m->slot_capacity) {
        int32_t cap = m->slot_capacity ? m->slot_capacity * 2 : 16;
        ifn_manager_slot **grown = ifn_realloc(m->slots, sizeof *grown * (size_t)cap);
        if (!grown) return ifn_fail(IFN_E_NOMEM, "manager: no memory");
        m->slots = grown;
        m->slot_capacity = cap;
    }
    ifn_manager_slot *s = ifn_calloc(1, sizeof *s);
    if (!s) return ifn_fail(IFN_E_NOMEM, "manager: no memory");
    s->entry = *entry;
    memset(entry, 0, sizeof *entry);
    ifn_model_config_init(&entry->config);
    ifn_model_config_init(&s->pending.config);
    s->footprint = *footprint;
    s->is_added = is_added;
    s->keep_alive_ms = IFN_KEEP_ALIVE_DEFAULT;
    s->state = s->entry.error ? IFN_MANAGER_STATE_FAILED : IFN_MANAGER_STATE_UNLOADED;
    int32_t at = m->n_slots;
    while (at > 0 && compare_slot(m->slots[at - 1], s->entry.name, s->entry.version) > 0)
        at--;
    memmove(m->slots + at + 1, m->slots + at, sizeof *m->slots * (size_t)(m->n_slots - at));
    m->slots[at] = s;
    m->n_slots++;
    return IFN_OK;
}

ifn_status ifn_manager_catalog_reindex(ifn_manager *m) {
    size_t cap = (size_t)(m->n_slots > 0 ? m->n_slots : 1);
    const ifn_repository_entry **index = ifn_realloc(m->index, sizeof *index * cap);
    if (index) m->index = index;
    ifn_manager_slot **slots = ifn_realloc(m->index_slots, sizeof *slots * cap);
    if (slots) m->index_slots = slots;
    if (!index || !slots) {
        m->n_index = 0; /* nothing resolves rather than stale pointers */
        return ifn_fail(IFN_E_NOMEM, "manager: no memory");
    }
    m->n_index = 0;
    for (int32_t i = 0; i < m->n_slots; i++) {
        if (m->slots[i]->is_removed) continue;
        m->index[m->n_index] = &m->slots[i]->entry;
        m->index_slots[m->n_index++] = m->slots[i];
    }
    return IFN_OK;
}

ifn_status ifn_manager_catalog_find(ifn_manager *m, const char *name, ifn_manager_slot **out) {
    int32_t i;
    ifn_status st = ifn_repository_resolve(m->index, m->n_index, name, &i);
    if (st == IFN_OK) *out = m->index_slots[i];
    return st;
}

static int is_unused(const ifn_manager_slot *s) {
    return (s->state == IFN_MANAGER_STATE_UNLOADED || s->state == IFN_MANAGER_STATE_FAILED) &&
           !s->is_queued && s->n_leases == 0 && s->n_waiters == 0;
}

void ifn_manager_catalog_prune(ifn_manager *m) {
    int32_t kept = 0;
    for (int32_t i = 0; i < m->n_slots; i++) {
        ifn_manager_slot *s = m->slots[i];
        if (s->is_removed && is_unused(s)) {
            IFN_LOG_INFO("manager", "removed from the repository model=%s version=%lld",
                         s->entry.name, (long long)s->entry.version);
            ifn_manager_catalog_free_slot(s);
            continue;
        }
        m->slots[kept++] = s;
    }
    m->n_slots = kept;
}

/* ---- rescans ---------------------------------------------------------------------------- */

static ifn_manager_slot *find_slot(ifn_manager *m, const char *name, int64_t version,
                                   int is_added) {
    for (int32_t i = 0; i < m->n_slots; i++) {
        ifn_manager_slot *s = m->slots[i];
        if (s->is_added == is_added && compare_slot(s, name, version) == 0) return s;
    }
    return NULL;
}

static int is_added_name(ifn_manager *m, const char *name) {
    for (int32_t i = 0; i < m->n_slots; i++)
        if (m->slots[i]->is_added && strcmp(m->slots[i]->entry.name, name) == 0) return 1;
    return 0;
}

/* Gives an existing slot its newer entry: now if unloaded, else when it next unloads. */
static void update_slot(ifn_manager_slot *s, ifn_repository_entry *e, const ifn_footprint *fp) {
    int is_idle =
        (s->state == IFN_MANAGER_STATE_UNLOADED || s->state == IFN_MANAGER_STATE_FAILED) &&
        !s->is_queued;
    ifn_repository_entry *dst = is_idle ? &s->entry : &s->pending;
    ifn_repository_entry_deinit(dst);
    *dst = *e;
    memset(e, 0, sizeof *e);
    ifn_model_config_init(&e->config);
    if (is_idle) {
        s->footprint = *fp;
        s->has_pending = 0;
        ifn_repository_entry_deinit(&s->pending);
        /* a bad entry is failed; a fixed one may load again */
        if (s->entry.error)
            s->state = IFN_MANAGER_STATE_FAILED;
        else if (s->state == IFN_MANAGER_STATE_FAILED && !s->error)
            s->state = IFN_MANAGER_STATE_UNLOADED;
    } else {
        s->pending_footprint = *fp;
        s->has_pending = 1;
    }
}

static ifn_status merge_entry(ifn_manager *m, ifn_repository_entry *e, const ifn_footprint *fp) {
    if (!e->error && is_added_name(m, e->name)) {
        const char *msg = "the name is taken by a model added outside the repository";
        e->error = ifn_strndup(msg, strlen(msg));
        e->is_served = 0;
        if (!e->error) return ifn_fail(IFN_E_NOMEM, "manager: no memory");
    }
    ifn_manager_slot *s = find_slot(m, e->name, e->version, 0);
    if (!s) return ifn_manager_catalog_insert(m, e, fp, 0);
    s->is_removed = 0;
    update_slot(s, e, fp);
    return IFN_OK;
}

ifn_status ifn_manager_catalog_merge(ifn_manager *m, ifn_repository_entry *entries,
                                     const ifn_footprint *footprints, int32_t n) {
    ifn_status st = IFN_OK;
    for (int32_t i = 0; i < m->n_slots; i++)
        if (!m->slots[i]->is_added) m->slots[i]->is_removed = 1; /* until seen again */
    for (int32_t i = 0; st == IFN_OK && i < n; i++)
        st = merge_entry(m, &entries[i], &footprints[i]);
    if (st != IFN_OK) { /* out of memory half-way: remove nothing this time */
        for (int32_t i = 0; i < m->n_slots; i++)
            if (!m->slots[i]->is_added) m->slots[i]->is_removed = 0;
    }
    ifn_manager_catalog_prune(m);
    ifn_status st_index = ifn_manager_catalog_reindex(m);
    return st != IFN_OK ? st : st_index;
}
