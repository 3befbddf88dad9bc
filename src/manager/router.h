/* Request router: maps the model name a request asks for to the model the manager should serve,
 * through aliases, weighted A/B splits (sticky per user or session), rules by request kind and
 * context length, and fallbacks for overloaded or incapable models (docs/routing.md). A router is
 * immutable once parsed, apart from its atomic counters, so any thread may resolve through it.
 * It does no I/O besides reading the routing file and knows nothing of loaded models: the caller
 * answers "is it overloaded / can it serve this" through callbacks. */
#ifndef IFN_MANAGER_ROUTER_H
#define IFN_MANAGER_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "inferneo/status.h"

/* Names in a routing file are 1..IFN_ROUTER_NAME_CAP-1 bytes with no spaces or control bytes;
 * requested names that pass through are checked for length and control bytes only. Either way a
 * chosen target fits a choice's buffers and can go into an HTTP header as it is. */
#define IFN_ROUTER_NAME_CAP 128

typedef struct ifn_router ifn_router;

typedef enum ifn_router_kind {
    IFN_ROUTER_KIND_COMPLETION = 0,
    IFN_ROUTER_KIND_CHAT = 1,
    IFN_ROUTER_KIND_EMBEDDING = 2,
} ifn_router_kind;

/* One request to route. Everything is borrowed for the call only. */
typedef struct ifn_router_query {
    const char *model; /* name the client asked for; NULL or "" = none */
    ifn_router_kind kind;
    int32_t n_ctx_needed;   /* context the request needs (prompt + max tokens); 0 = unknown */
    const char *sticky_key; /* OpenAI `user` or X-Session-Id; NULL or "" = none */
    double draw; /* uniform in [0, 1): splits use it without a sticky key or when not sticky */
    void *user;  /* passed to the callbacks */
    /* Nonzero when `model`'s queue is above `queue_threshold` (the routing file's). Called only
     * for targets that have a fallback list, and for their fallbacks. NULL = never overloaded. */
    int (*is_overloaded)(void *user, const char *model, int32_t queue_threshold);
    /* Zero when `model` is known unable to serve this request (context shorter than
     * n_ctx_needed, no embeddings); nonzero when it can or when unknown. Same calls as above.
     * NULL = every model can. */
    int (*can_serve)(void *user, const char *model, ifn_router_kind kind, int32_t n_ctx_needed);
} ifn_router_query;

/* Where a request goes. Self-contained (copies, no pointers into the router). */
typedef struct ifn_router_choice {
    char target[IFN_ROUTER_NAME_CAP];        /* model to serve: a repository name or name@version */
    char route[IFN_ROUTER_NAME_CAP];         /* route taken, "" when the name passed through */
    char fallback_from[IFN_ROUTER_NAME_CAP]; /* target replaced by a fallback, "" when none */
    int32_t rule_index;        /* rule that matched (position in "rules"), -1 when none */
    int32_t variant_index;     /* variant of `route` taken, -1 when no route */
    int is_sticky;             /* the variant came from the sticky key, not the draw */
    int is_fallback;           /* `target` is a fallback of `fallback_from` */
    int is_fallback_exhausted; /* the target could not take the request and neither could any of
                                  its fallbacks: `target` is kept, the caller queues or refuses */
} ifn_router_choice;

/* Parses a routing file held in text[0..len). `source` names it in error messages (a path, or
 * NULL for "<text>"). Errors: IFN_E_FORMAT with "routing: <source>: <json path>: <problem>" (for
 * example "routes.chat.split[1].weight: must be an integer in 0..1000000"), IFN_E_UNSUPPORTED for
 * an unknown "version", IFN_E_NOMEM. The result has one reference. Thread-safe. */
ifn_status ifn_router_parse(const char *text, size_t len, const char *source, ifn_router **out);

/* Reads and parses the file at `path` (at most 4 MiB). Errors as ifn_router_parse, plus IFN_E_IO
 * when it cannot be read. Thread-safe. */
ifn_status ifn_router_load(const char *path, ifn_router **out);

void ifn_router_retain(ifn_router *router);
/* Drops a reference; frees the router with the last one. NULL-safe. Thread-safe. */
void ifn_router_release(ifn_router *router);

/* Routes one request (docs/routing.md, "Resolution"). `router` may be NULL: every name passes
 * through. Errors (nothing written to *out): IFN_E_INVALID when the request names no model and
 * no rule picks one, or when the name is too long or holds control bytes. Thread-safe; counts
 * the route variant, rule and fallback taken. */
ifn_status ifn_router_resolve(const ifn_router *router, const ifn_router_query *query,
                              ifn_router_choice *out);

/* The stable 64-bit hash behind sticky splits (SipHash-2-4 of route, NUL, key, under a fixed
 * key). It must never change: changing it moves users between variants. Cannot fail. */
uint64_t ifn_router_sticky_hash(const char *route_name, const char *sticky_key);

typedef enum ifn_router_count_kind {
    IFN_ROUTER_COUNT_VARIANT = 0,  /* `from` route chose `target` */
    IFN_ROUTER_COUNT_RULE = 1,     /* rule number `index` matched; `target` is its model */
    IFN_ROUTER_COUNT_FALLBACK = 2, /* `from` could not take a request, `target` did */
} ifn_router_count_kind;

typedef struct ifn_router_count {
    ifn_router_count_kind kind;
    const char *from;   /* route or model name; NULL for rules. Borrowed from the router */
    const char *target; /* borrowed from the router */
    int32_t index;      /* variant, rule or fallback position */
    uint64_t n_chosen;
} ifn_router_count;

/* Writes up to `cap` counters to `out` (variants route by route in file order, then rules,
 * then fallbacks) and returns how many there are in all; `out` may be NULL when `cap` is 0.
 * Names stay valid while the caller holds its reference. Thread-safe; each count is read
 * atomically, the set is not a snapshot. NULL router: 0. */
size_t ifn_router_get_counts(const ifn_router *router, ifn_router_count *out, size_t cap);

/* Route names in file order (for listing them as models); `index` below the count, else it
 * aborts. Borrowed like the counts. */
size_t ifn_router_route_count(const ifn_router *router);
const char *ifn_router_route_name(const ifn_router *router, size_t index);

/* Copies the counters of `old` that `next` has too (same route and target, same rule position
 * and model, same fallback pair) into `next`, so metrics stay monotonic across a reload. `next`
 * must not be in use by other threads yet. Cannot fail. */
void ifn_router_carry_counts(const ifn_router *old, ifn_router *next);

#endif
