/* Internal layout of ifn_manager, shared by manager.c (the API), manager_catalog.c (which models
 * exist) and manager_loader.c (the manager thread: loads, evictions, idle unloads, polling).
 * Not for use outside src/manager/. Every field below `lock` is guarded by it. */
#ifndef IFN_MANAGER_MANAGER_IMPL_H
#define IFN_MANAGER_MANAGER_IMPL_H

#include <pthread.h>

#include "manager/footprint.h"
#include "manager/manager.h"
#include "manager/repository.h"

/* One model version the manager knows. `entry` and `footprint` change only while the model is
 * unloaded (a rescan parks newer ones in `pending`), so whoever loads or leases it may read them
 * without the lock. */
typedef struct ifn_manager_slot {
    ifn_repository_entry entry;
    ifn_footprint footprint;      /* valid when entry.error is NULL */
    ifn_repository_entry pending; /* has_pending: applied when next unloaded */
    ifn_footprint pending_footprint;
    int has_pending;
    ifn_manager_state state;
    int is_queued;           /* in the load queue (state LOADING) */
    int is_counted;          /* its footprint counts against the budget */
    int is_added;            /* from ifn_manager_add: rescans leave it alone */
    int is_removed;          /* gone from the repository: unload when idle, then free */
    ifn_served_model *model; /* READY and UNLOADING */
    int32_t n_leases;
    int32_t n_waiters;     /* acquirers waiting for it: it is not idle */
    int64_t keep_alive_ms; /* for the current or next idle period */
    int64_t idle_since_ns; /* when n_leases last dropped to 0 (or it became ready) */
    int64_t last_used_ns;  /* LRU order */
    int64_t last_used_unix_ms;
    size_t loaded_bytes;
    uint64_t n_attempts;       /* load attempts finished (acquirers watch it) */
    ifn_status attempt_status; /* of the last attempt */
    char *error;               /* the last attempt's message when it failed */
    struct ifn_manager_slot *next_queued;
} ifn_manager_slot;

struct ifn_manager_lease {
    ifn_manager *manager;
    ifn_manager_slot *slot;
};

struct ifn_manager {
    ifn_manager_params params; /* repository_dir points at repository_dir below */
    char *repository_dir;
    ifn_pool *pool;
    pthread_t thread;
    int has_thread;
    pthread_mutex_t scan_lock; /* serialises rescans; taken before `lock` */
    pthread_mutex_t lock;
    pthread_cond_t changed;   /* a slot changed state or lost leases or waiters */
    pthread_cond_t work;      /* wakes the manager thread */
    ifn_manager_slot **slots; /* [n_slots] sorted by name, version */
    int32_t n_slots, slot_capacity;
    const ifn_repository_entry **index; /* [n_index] entries that resolve (not removed) */
    ifn_manager_slot **index_slots;     /* [n_index] their slots */
    int32_t n_index;
    ifn_manager_slot *queue_head, *queue_tail;
    int is_stopping;
    int64_t next_scan_ns;
    ifn_manager_stats stats;
};

/* ---- manager_catalog.c ---- */

/* The engine params `entry` is served with (its config over the manager's; the shared pool). */
ifn_engine_params ifn_manager_catalog_engine_params(const ifn_manager *manager,
                                                    const ifn_repository_entry *entry);
/* Estimates the entry's footprint (disk I/O: call without the lock). When that fails the entry
 * becomes bad (its error is set) and the estimate's status is returned; IFN_E_NOMEM if even
 * that cannot be recorded. */
ifn_status ifn_manager_catalog_estimate(ifn_manager *manager, ifn_repository_entry *entry,
                                        ifn_footprint *out_footprint);
/* Merges a fresh scan into the slots (lock held), taking over entries[0..n) (left empty).
 * Errors: IFN_E_NOMEM (nothing is removed; slots stay valid). */
ifn_status ifn_manager_catalog_merge(ifn_manager *manager, ifn_repository_entry *entries,
                                     const ifn_footprint *footprints, int32_t n);
/* Appends a slot taking over `entry` (lock held). Errors: IFN_E_NOMEM (entry untouched). */
ifn_status ifn_manager_catalog_insert(ifn_manager *manager, ifn_repository_entry *entry,
                                      const ifn_footprint *footprint, int is_added);
/* Rebuilds the name index after slots changed (lock held). Errors: IFN_E_NOMEM. */
ifn_status ifn_manager_catalog_reindex(ifn_manager *manager);
/* Frees removed slots nobody uses any more (lock held). */
void ifn_manager_catalog_prune(ifn_manager *manager);
/* Resolves a client's name (lock held). Errors: as ifn_repository_resolve. */
ifn_status ifn_manager_catalog_find(ifn_manager *manager, const char *name,
                                    ifn_manager_slot **out_slot);
void ifn_manager_catalog_free_slot(ifn_manager_slot *slot);

/* ---- manager_loader.c ---- */

void *ifn_manager_loader_main(void *manager);
/* Checks that `slot` can fit the budget and max_models by evicting idle unpinned models; when
 * out_victims is given, chooses them (ifn_malloc'd array). Lock held. Errors: IFN_E_FULL with a
 * message, IFN_E_NOMEM. */
ifn_status ifn_manager_loader_plan(ifn_manager *manager, const ifn_manager_slot *slot,
                                   ifn_manager_slot ***out_victims, int32_t *out_n_victims);
/* The model became unloaded (lock held): forget it, apply a pending entry, wake waiters. */
void ifn_manager_loader_finish_unload(ifn_manager *manager, ifn_manager_slot *slot);
/* Sum of the footprints counted against the budget (lock held). */
size_t ifn_manager_loader_reserved(const ifn_manager *manager);
/* Counts a slot's footprint against the budget from now on (lock held). */
void ifn_manager_loader_count(ifn_manager *manager, ifn_manager_slot *slot);
/* Waits on `cond` (with the manager's lock) until signalled or deadline_ns (INT64_MAX: none);
 * returns 0 once the deadline has passed. */
int ifn_manager_loader_wait(ifn_manager *manager, pthread_cond_t *cond, int64_t deadline_ns);
/* The keep-alive the slot's next idle period gets: the per-acquire value, else its config's,
 * else the manager's (lock held). */
int64_t ifn_manager_loader_keep_alive(const ifn_manager *manager, const ifn_manager_slot *slot,
                                      int64_t requested_ms);

#endif
