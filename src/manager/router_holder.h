/* The server's current router, replaced whole on reload while other threads resolve through it.
 * Readers take a reference and release it when done; a replaced router is freed when its last
 * reader releases it. A failed reload keeps the current router. */
#ifndef IFN_MANAGER_ROUTER_HOLDER_H
#define IFN_MANAGER_ROUTER_HOLDER_H

#include "manager/router.h"

/* Thread-safe throughout: every function may be called from any thread. */
typedef struct ifn_router_holder ifn_router_holder;

/* Creates a holder for `initial` (may be NULL: no routing, names pass through); it takes over
 * the caller's reference. Errors: IFN_E_NOMEM (then `initial` is still the caller's). */
ifn_status ifn_router_holder_create(ifn_router *initial, ifn_router_holder **out);

/* Drops the holder's reference; readers still holding one keep their router. NULL-safe. */
void ifn_router_holder_destroy(ifn_router_holder *holder);

/* The current router with a new reference (release it with ifn_router_release), or NULL when
 * there is none. Cannot fail. */
ifn_router *ifn_router_holder_acquire(ifn_router_holder *holder);

/* Makes `next` (may be NULL) the current router, taking over the caller's reference. Counters
 * of variants, rules and fallbacks found again in `next` (same route and target, same rule
 * position and model, same pair) carry over, so metrics stay monotonic; a few increments that
 * race with the swap on the old router may be lost. Cannot fail. */
void ifn_router_holder_swap(ifn_router_holder *holder, ifn_router *next);

/* Loads `path` and swaps it in. On failure the current router stays and the error is returned
 * as ifn_router_load's. Blocks on file I/O: never call on an I/O thread. */
ifn_status ifn_router_holder_reload(ifn_router_holder *holder, const char *path);

#endif
