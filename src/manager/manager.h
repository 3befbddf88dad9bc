/* The model manager: every model of a repository (plus models added directly, like the CLI's -m
 * model), each loaded on first use and unloaded when idle, under a memory budget.
 *
 * - Lazy loading: ifn_manager_acquire on an unloaded model queues its load on the manager's own
 *   thread and waits on a condition variable; every concurrent acquirer of that model waits for
 *   the same single load. Callers never load on their own thread.
 * - Budget: a model's footprint (footprint.h) is estimated from its file before loading. The sum
 *   of the estimates of models loaded, loading or being unloaded never exceeds max_memory_bytes:
 *   before a load, idle unpinned models are evicted (lowest priority first, then least recently
 *   used) until it fits; if even evicting all of them is not enough, the acquire fails with
 *   IFN_E_FULL and nothing is evicted. max_models caps the count the same way.
 * - Keep-alive: an idle model (no leases) unloads after its keep-alive (per acquire, else its
 *   config, else the manager's; -1 forever, 0 at once). Pinned models never unload by themselves.
 * - A leased model is never unloaded, except by ifn_manager_unload, which waits for the leases,
 *   cancels the requests of those still held after a grace period, and waits again.
 * - All engines share one compute thread pool, which serves their steps in turn.
 * Thread-safe: every function may be called from any thread. One mutex guards the manager's
 * state; it is never held while loading, unloading or calling into an engine. */
#ifndef IFN_MANAGER_MANAGER_H
#define IFN_MANAGER_MANAGER_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "inferneo/status.h"
#include "manager/model_config.h"
#include "manager/served_model.h"

#define IFN_MANAGER_WAIT_FOREVER (-1) /* a timeout_ms that never expires */

typedef struct ifn_manager ifn_manager;
typedef struct ifn_manager_lease ifn_manager_lease;

typedef enum ifn_manager_state {
    IFN_MANAGER_STATE_UNLOADED = 0,
    IFN_MANAGER_STATE_LOADING = 1, /* queued or being loaded */
    IFN_MANAGER_STATE_READY = 2,
    IFN_MANAGER_STATE_UNLOADING = 3, /* waiting for leases, or being destroyed */
    IFN_MANAGER_STATE_FAILED = 4,    /* the last load failed, or the repository entry is bad */
} ifn_manager_state;

/* "unloaded", "loading", "ready", "unloading", "failed". Cannot fail. */
const char *ifn_manager_state_str(ifn_manager_state state);

typedef struct ifn_manager_params {
    const char *repository_dir; /* NULL = no repository (models come from ifn_manager_add) */
    size_t max_memory_bytes;    /* budget for the footprint estimates; 0 = unlimited */
    int32_t max_models;         /* models loaded at once; 0 = unlimited */
    int64_t keep_alive_ms;      /* default idle time before unloading (5 min); -1 = forever */
    int64_t rescan_interval_ms; /* poll the repository; 0 = only on ifn_manager_rescan */
    int32_t n_threads;          /* the shared compute pool; 0 = physical cores */
    size_t kv_cap_bytes;        /* a model whose KV memory is not configured gets max_num_seqs
                                   full contexts, at most this; 0 = a quarter of the memory
                                   available when the manager starts */
    ifn_engine_params engine;   /* every model's engine; a model's config overrides n_ctx,
                                   max_num_seqs and kv_cache_bytes; n_threads/pool are set */
} ifn_manager_params;

ifn_manager_params ifn_manager_params_default(void);

/* Creates the compute pool and the manager thread, and scans the repository when one is given
 * (bad entries are listed, not errors). The params' strings are copied. Errors: IFN_E_IO (the
 * repository folder cannot be read), IFN_E_INVALID, IFN_E_NOMEM, IFN_E_INTERNAL (threads). */
ifn_status ifn_manager_create(const ifn_manager_params *params, ifn_manager **out_manager);

/* Stops the manager thread, fails waiting acquires with IFN_E_CANCELLED, cancels the requests of
 * models still leased and waits for their leases to be released, then unloads everything.
 * Lease holders must release promptly. NULL-safe. */
void ifn_manager_destroy(ifn_manager *manager);

/* Adds a model outside the repository (version 1) under `name`; `config` may be NULL (defaults)
 * and is copied; tokenizer_path is NULL for GGUF or a llama2.c checkpoint with its tokenizer
 * beside it. It is not loaded yet. Errors: IFN_E_INVALID (name taken or malformed),
 * IFN_E_IO / IFN_E_FORMAT (the file's header cannot be read), IFN_E_NOMEM. */
ifn_status ifn_manager_add(ifn_manager *manager, const char *name, const char *model_path,
                           const char *tokenizer_path, const ifn_model_config *config);

/* Rescans the repository: new models and versions appear unloaded, changed ones take their new
 * file and config at their next load, removed ones stop resolving and are unloaded once idle.
 * Errors: IFN_E_IO (the folder cannot be read; nothing changes), IFN_E_INVALID (no repository),
 * IFN_E_NOMEM. */
ifn_status ifn_manager_rescan(ifn_manager *manager);

/* Leases the model `name` refers to ("name", "name@3" or an alias; see ifn_repository_resolve),
 * loading it first when needed and waiting up to timeout_ms for that (IFN_MANAGER_WAIT_FOREVER:
 * no limit; 0: fail unless ready now). keep_alive_ms sets how long the model stays loaded once
 * idle after this lease (IFN_KEEP_ALIVE_DEFAULT: the model's own). The lease keeps the model
 * loaded until ifn_manager_release. Errors, with a message for the client:
 * IFN_E_INVALID (unknown name or version, removed), IFN_E_FULL (it cannot fit the budget or
 * max_models even after evicting every idle unpinned model; nothing was evicted),
 * IFN_E_FORMAT / IFN_E_IO / IFN_E_UNSUPPORTED (the load failed: the loader's message; the next
 * acquire tries again), IFN_E_TIMEOUT (the load goes on), IFN_E_CANCELLED (shutting down),
 * IFN_E_NOMEM. */
ifn_status ifn_manager_acquire(ifn_manager *manager, const char *name, int64_t keep_alive_ms,
                               int64_t timeout_ms, ifn_manager_lease **out_lease);

/* Ends a lease (NULL-safe). The model becomes idle when its last lease ends. */
void ifn_manager_release(ifn_manager_lease *lease);

/* The leased model, its name, version and config (`defaults` holds the sampling defaults);
 * borrowed, valid until the lease is released. Read-only: other leases share them (copy
 * `defaults` with json_deep_copy before changing it). */
ifn_served_model *ifn_manager_lease_model(const ifn_manager_lease *lease);
const char *ifn_manager_lease_name(const ifn_manager_lease *lease);
int64_t ifn_manager_lease_version(const ifn_manager_lease *lease);
const ifn_model_config *ifn_manager_lease_config(const ifn_manager_lease *lease);

/* Loads a model and leaves it loaded but idle (acquire + release): it stays for keep_alive_ms
 * (IFN_KEEP_ALIVE_DEFAULT: its own) and is evictable like any idle model unless pinned.
 * timeout_ms 0 queues the load and returns IFN_OK at once. Errors: as ifn_manager_acquire. */
ifn_status ifn_manager_load(ifn_manager *manager, const char *name, int64_t keep_alive_ms,
                            int64_t timeout_ms);

/* Unloads a model: no new leases are granted (acquirers wait, then load it again); waits for the
 * leases to end; after grace_ms (IFN_MANAGER_WAIT_FOREVER: never) cancels the running requests
 * of its engine (ifn_engine_abort_all) and waits for the leases again; then frees the model.
 * Waits for a load in progress first. Returns IFN_OK when the model is not loaded.
 * Errors: IFN_E_INVALID (unknown name). */
ifn_status ifn_manager_unload(ifn_manager *manager, const char *name, int64_t grace_ms);

typedef struct ifn_manager_model_info {
    char *name;
    int64_t version; /* 0: a model folder without a usable version */
    char **aliases;  /* [n_aliases] */
    int32_t n_aliases;
    ifn_manager_state state;
    char *error;            /* failed: why (load error or bad entry); else NULL */
    char *model_path;       /* NULL for bad entries */
    size_t estimated_bytes; /* footprint estimate: weights + KV + scratch */
    size_t estimated_weights_bytes;
    size_t estimated_kv_bytes;
    size_t loaded_bytes; /* ready: weights + KV cache as allocated; else 0 */
    int32_t n_ctx;       /* context its engine has (estimated until loaded) */
    int is_pinned;
    int is_served; /* the version policy serves it */
    int is_added;  /* added with ifn_manager_add, not from the repository */
    int32_t priority;
    int64_t last_used_unix_ms; /* last acquire or release; 0 = never */
    int32_t n_leases;
} ifn_manager_model_info;

/* A snapshot of every model and version, sorted by name then version (removed models still
 * loaded included). Free with ifn_manager_list_free. Errors: IFN_E_NOMEM. */
ifn_status ifn_manager_list(ifn_manager *manager, ifn_manager_model_info **out_infos,
                            int32_t *out_count);
void ifn_manager_list_free(ifn_manager_model_info *infos, int32_t count);

/* Running + waiting requests of the model's engine; 0 when it is not loaded or unknown. */
int32_t ifn_manager_queue_depth(ifn_manager *manager, const char *name);

/* The engine statistics of a loaded model (ifn_engine_get_stats). Errors: IFN_E_INVALID
 * (unknown name), IFN_E_AGAIN (not loaded: no engine to ask). */
ifn_status ifn_manager_engine_stats(ifn_manager *manager, const char *name,
                                    ifn_engine_stats *out_stats);

/* Cancels every request queued or running in every loaded model (ifn_engine_abort_all), e.g.
 * when a shutdown grace period ends. Models stay loaded. */
void ifn_manager_abort_all(ifn_manager *manager);

typedef struct ifn_manager_stats {
    int64_t loads; /* successful loads */
    int64_t load_failures;
    int64_t unloads;       /* every unload: explicit, idle, eviction, removal */
    int64_t evictions;     /* unloads to make room (budget or max_models) */
    int64_t rejected_full; /* acquires refused with IFN_E_FULL */
    int64_t rescans;
    int32_t n_loaded;           /* models ready now */
    size_t reserved_bytes;      /* estimates of models loaded, loading or unloading now */
    size_t peak_reserved_bytes; /* the most reserved_bytes has been */
} ifn_manager_stats;

void ifn_manager_get_stats(ifn_manager *manager, ifn_manager_stats *out_stats);

/* The shared compute pool (borrowed; lives as long as the manager). */
ifn_pool *ifn_manager_pool(ifn_manager *manager);

#endif
