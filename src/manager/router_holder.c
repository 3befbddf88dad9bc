/* The server's current router: replaced whole on reload (SIGHUP or the API) while other threads
 * resolve through it. Readers take a reference under a mutex held only to copy a pointer, so a
 * replaced router lives until its last reader releases it (RCU by reference count). Holds no lock
 * while loading or resolving. */
#include "manager/router_holder.h"

#include <pthread.h>

#include "util/alloc.h"
#include "util/status.h"

struct ifn_router_holder {
    pthread_mutex_t lock;      /* guards `current`; held only to read or replace the pointer */
    pthread_mutex_t swap_lock; /* serialises swaps; taken before `lock` */
    ifn_router *current;       /* the holder's own reference; NULL = no routing */
};

ifn_status ifn_router_holder_create(ifn_router *initial, ifn_router_holder **out) {
    ifn_router_holder *h = ifn_calloc(1, sizeof *h);
    if (!h) return ifn_fail(IFN_E_NOMEM, "routing: no memory");
    pthread_mutex_init(&h->lock, NULL);
    pthread_mutex_init(&h->swap_lock, NULL);
    h->current = initial;
    *out = h;
    return IFN_OK;
}

void ifn_router_holder_destroy(ifn_router_holder *holder) {
    if (!holder) return;
    ifn_router_release(holder->current);
    pthread_mutex_destroy(&holder->lock);
    pthread_mutex_destroy(&holder->swap_lock);
    ifn_free(holder);
}

ifn_router *ifn_router_holder_acquire(ifn_router_holder *holder) {
    pthread_mutex_lock(&holder->lock);
    ifn_router *r = holder->current;
    if (r) ifn_router_retain(r);
    pthread_mutex_unlock(&holder->lock);
    return r;
}

void ifn_router_holder_swap(ifn_router_holder *holder, ifn_router *next) {
    pthread_mutex_lock(&holder->swap_lock);
    /* Only swaps replace `current`, and they hold swap_lock: it stays alive and can be read
     * here without `lock`. */
    ifn_router *old = holder->current;
    if (old && next) ifn_router_carry_counts(old, next);
    pthread_mutex_lock(&holder->lock);
    holder->current = next;
    pthread_mutex_unlock(&holder->lock);
    pthread_mutex_unlock(&holder->swap_lock);
    ifn_router_release(old);
}

ifn_status ifn_router_holder_reload(ifn_router_holder *holder, const char *path) {
    ifn_router *next = NULL;
    ifn_status st = ifn_router_load(path, &next);
    if (st != IFN_OK) return st;
    ifn_router_holder_swap(holder, next);
    return IFN_OK;
}
