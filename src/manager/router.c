/* Request router: parses a routing file into immutable tables (routes with weighted variants,
 * ordered rules, fallback lists) and resolves requests against them. Only the atomic counters
 * change after parsing, which is what makes lock-free resolution safe (router_holder.c swaps
 * whole routers). Nothing here reads anything but the routing file. */
#include "manager/router.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/hashmap.h"
#include "util/mmap.h"
#include "util/status.h"

#define MAX_VARIANTS 64
#define MAX_FALLBACKS 16
#define MAX_WEIGHT 1000000
#define MAX_FILE_BYTES ((size_t)4 << 20)
#define DEFAULT_QUEUE_THRESHOLD 32
#define KIND_MASK_ALL 7u

typedef struct variant {
    char *target;
    uint64_t weight_end; /* sum of the weights of this variant and those before it */
    _Atomic uint64_t n_chosen;
} variant;

typedef struct route {
    char *name;
    variant *variants;
    int32_t n_variants;
    bool is_sticky;
} route;

typedef struct rule {
    char **from; /* requested names it applies to; none and !is_from_any = unnamed requests */
    int32_t n_from;
    bool is_from_any;
    uint32_t kind_mask; /* bit (1 << ifn_router_kind) per kind it applies to */
    int32_t min_context;
    char *target;
    _Atomic uint64_t n_chosen;
} rule;

typedef struct fallback_to {
    char *target;
    _Atomic uint64_t n_chosen;
} fallback_to;

typedef struct fallback {
    char *from;
    fallback_to *to;
    int32_t n_to;
} fallback;

/* Immutable once parsed except `n_refs` and the `n_chosen` counters (atomics), so any thread may
 * resolve through it without a lock. */
struct ifn_router {
    _Atomic int32_t n_refs;
    route *routes;
    int32_t n_routes;
    rule *rules;
    int32_t n_rules;
    fallback *fallbacks;
    int32_t n_fallbacks;
    int32_t queue_threshold;
    ifn_hashmap *route_index;    /* route name -> index in routes (keys borrowed from them) */
    ifn_hashmap *fallback_index; /* model name -> index in fallbacks */
};

static const char *const k_kind_names[] = {"completion", "chat", "embedding"};

/* ---- freeing ---- */

static void free_router(ifn_router *r) {
    for (int32_t i = 0; i < r->n_routes; i++) {
        for (int32_t v = 0; v < r->routes[i].n_variants; v++)
            ifn_free(r->routes[i].variants[v].target);
        ifn_free(r->routes[i].variants);
        ifn_free(r->routes[i].name);
    }
    for (int32_t i = 0; i < r->n_rules; i++) {
        for (int32_t f = 0; f < r->rules[i].n_from; f++)
            ifn_free(r->rules[i].from[f]);
        ifn_free(r->rules[i].from);
        ifn_free(r->rules[i].target);
    }
    for (int32_t i = 0; i < r->n_fallbacks; i++) {
        for (int32_t t = 0; t < r->fallbacks[i].n_to; t++)
            ifn_free(r->fallbacks[i].to[t].target);
        ifn_free(r->fallbacks[i].to);
        ifn_free(r->fallbacks[i].from);
    }
    ifn_free(r->routes);
    ifn_free(r->rules);
    ifn_free(r->fallbacks);
    ifn_hashmap_destroy(r->route_index);
    ifn_hashmap_destroy(r->fallback_index);
    ifn_free(r);
}

void ifn_router_retain(ifn_router *router) {
    atomic_fetch_add(&router->n_refs, 1);
}

void ifn_router_release(ifn_router *router) {
    if (router && atomic_fetch_sub(&router->n_refs, 1) == 1) free_router(router);
}

/* ---- parsing helpers ---- */

typedef struct parse_ctx {
    const char *source;
} parse_ctx;

IFN_PRINTF(3, 4)
static ifn_status bad(const parse_ctx *cx, const char *path, const char *fmt, ...);

static ifn_status bad(const parse_ctx *cx, const char *path, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ifn_fail(IFN_E_FORMAT, "routing: %s: %s: %s", cx->source, path, msg);
}

/* vsnprintf, out of sight of GCC's truncation warnings: paths that long get cut, harmlessly. */
IFN_PRINTF(3, 4) static void path_fmt(char *out, size_t cap, const char *fmt, ...);

static void path_fmt(char *out, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}

static ifn_status no_memory(void) {
    return ifn_fail(IFN_E_NOMEM, "routing: no memory");
}

static bool is_valid_name(const char *s) {
    size_t len = strlen(s);
    if (len == 0 || len >= IFN_ROUTER_NAME_CAP) return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f) return false;
    }
    return true;
}

static ifn_status bad_key(const parse_ctx *cx, const char *path) {
    return bad(cx, path, "a name is empty, longer than %d bytes, or holds spaces or control bytes",
               IFN_ROUTER_NAME_CAP - 1);
}

static ifn_status parse_name(const parse_ctx *cx, const char *path, const json_t *v, char **out) {
    if (!json_is_string(v)) return bad(cx, path, "must be a string");
    if (!is_valid_name(json_string_value(v)))
        return bad(cx, path, "must be 1-%d bytes with no spaces or control bytes",
                   IFN_ROUTER_NAME_CAP - 1);
    *out = ifn_strndup(json_string_value(v), json_string_length(v));
    return *out ? IFN_OK : no_memory();
}

static ifn_status parse_int(const parse_ctx *cx, const char *path, const json_t *v, int64_t hi,
                            int64_t *out) {
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > hi)
        return bad(cx, path, "must be an integer in 0..%lld", (long long)hi);
    *out = json_integer_value(v);
    return IFN_OK;
}

/* Fails on a field of `obj` that is not in `allowed` (NULL-terminated). */
static ifn_status check_fields(const parse_ctx *cx, const char *path, const json_t *obj,
                               const char *const *allowed) {
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        bool is_known = false;
        for (size_t i = 0; allowed[i] && !is_known; i++)
            is_known = strcmp(key, allowed[i]) == 0;
        if (is_known) continue;
        if (is_valid_name(key)) return bad(cx, path, "unknown field \"%s\"", key);
        return bad(cx, path, "unknown field");
    }
    return IFN_OK;
}

static ifn_status expect_object(const parse_ctx *cx, const char *path, const json_t *v,
                                const char *const *allowed) {
    if (!json_is_object(v)) return bad(cx, path, "must be an object");
    return check_fields(cx, path, v, allowed);
}

/* ---- routes ---- */

static ifn_status parse_variant(const parse_ctx *cx, const char *path, const json_t *v, route *rt,
                                uint64_t *total) {
    static const char *const fields[] = {"model", "weight", NULL};
    char sub[256];
    int64_t weight = 0;
    ifn_status st = expect_object(cx, path, v, fields);
    if (st != IFN_OK) return st;
    path_fmt(sub, sizeof sub, "%s.model", path);
    if (!json_object_get(v, "model")) return bad(cx, sub, "missing");
    variant *var = &rt->variants[rt->n_variants];
    st = parse_name(cx, sub, json_object_get(v, "model"), &var->target);
    if (st != IFN_OK) return st;
    rt->n_variants++;
    for (int32_t i = 0; i + 1 < rt->n_variants; i++)
        if (strcmp(rt->variants[i].target, var->target) == 0)
            return bad(cx, sub, "\"%s\" appears twice in the split", var->target);
    path_fmt(sub, sizeof sub, "%s.weight", path);
    if (!json_object_get(v, "weight")) return bad(cx, sub, "missing");
    st = parse_int(cx, sub, json_object_get(v, "weight"), MAX_WEIGHT, &weight);
    if (st != IFN_OK) return st;
    *total += (uint64_t)weight;
    var->weight_end = *total;
    return IFN_OK;
}

static ifn_status parse_split(const parse_ctx *cx, const char *path, const json_t *arr, route *rt) {
    char sub[256];
    uint64_t total = 0;
    size_t n = json_array_size(arr);
    if (!json_is_array(arr) || n == 0 || n > MAX_VARIANTS)
        return bad(cx, path, "must be an array of 1..%d variants", MAX_VARIANTS);
    rt->variants = ifn_calloc(n, sizeof *rt->variants);
    if (!rt->variants) return no_memory();
    for (size_t i = 0; i < n; i++) {
        path_fmt(sub, sizeof sub, "%s[%zu]", path, i);
        ifn_status st = parse_variant(cx, sub, json_array_get(arr, i), rt, &total);
        if (st != IFN_OK) return st;
    }
    if (total == 0) return bad(cx, path, "the weights add up to 0");
    return IFN_OK;
}

static ifn_status parse_alias(const parse_ctx *cx, const char *path, const json_t *v, route *rt) {
    rt->variants = ifn_calloc(1, sizeof *rt->variants);
    if (!rt->variants) return no_memory();
    ifn_status st = parse_name(cx, path, v, &rt->variants[0].target);
    if (st != IFN_OK) return st;
    rt->n_variants = 1;
    rt->variants[0].weight_end = 1;
    return IFN_OK;
}

static ifn_status parse_route(const parse_ctx *cx, const char *path, const json_t *v, route *rt) {
    static const char *const fields[] = {"model", "split", "sticky", NULL};
    char sub[256];
    rt->is_sticky = true;
    if (json_is_string(v)) return parse_alias(cx, path, v, rt);
    if (!json_is_object(v)) return bad(cx, path, "must be a model name or an object");
    ifn_status st = check_fields(cx, path, v, fields);
    if (st != IFN_OK) return st;
    const json_t *model = json_object_get(v, "model"), *split = json_object_get(v, "split");
    const json_t *sticky = json_object_get(v, "sticky");
    if (!model == !split) return bad(cx, path, "needs exactly one of \"model\" and \"split\"");
    if (sticky && !json_is_boolean(sticky)) {
        path_fmt(sub, sizeof sub, "%s.sticky", path);
        return bad(cx, sub, "must be true or false");
    }
    rt->is_sticky = !sticky || json_is_true(sticky);
    path_fmt(sub, sizeof sub, "%s.%s", path, model ? "model" : "split");
    return model ? parse_alias(cx, sub, model, rt) : parse_split(cx, sub, split, rt);
}

static ifn_status parse_routes(const parse_ctx *cx, const json_t *obj, ifn_router *r) {
    char path[256];
    const char *name;
    json_t *v;
    if (!json_is_object(obj)) return bad(cx, "routes", "must be an object");
    size_t n = json_object_size(obj);
    r->routes = ifn_calloc(n ? n : 1, sizeof *r->routes);
    if (!r->routes) return no_memory();
    json_object_foreach((json_t *)obj, name, v) {
        if (!is_valid_name(name)) return bad_key(cx, "routes");
        route *rt = &r->routes[r->n_routes++];
        rt->name = ifn_strndup(name, strlen(name));
        if (!rt->name) return no_memory();
        path_fmt(path, sizeof path, "routes.%s", name);
        ifn_status st = parse_route(cx, path, v, rt);
        if (st == IFN_OK)
            st = ifn_hashmap_put(r->route_index, rt->name, strlen(rt->name), r->n_routes - 1);
        if (st != IFN_OK) return st;
    }
    return IFN_OK;
}

/* ---- rules ---- */

static ifn_status parse_from(const parse_ctx *cx, const char *path, const json_t *v, rule *ru) {
    char sub[256];
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    if (!json_is_array(v) && !json_is_string(v))
        return bad(cx, path, "must be a name, \"*\", or an array of names");
    ru->from = ifn_calloc(n ? n : 1, sizeof *ru->from);
    if (!ru->from) return no_memory();
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_is_array(v) ? json_array_get(v, i) : v;
        if (json_is_array(v))
            path_fmt(sub, sizeof sub, "%s[%zu]", path, i);
        else
            path_fmt(sub, sizeof sub, "%s", path);
        if (json_is_string(item) && strcmp(json_string_value(item), "*") == 0) {
            ru->is_from_any = true;
            continue;
        }
        ifn_status st = parse_name(cx, sub, item, &ru->from[ru->n_from]);
        if (st != IFN_OK) return st;
        ru->n_from++;
    }
    if (n == 0) return bad(cx, path, "must not be empty (leave it out for unnamed requests)");
    return IFN_OK;
}

static ifn_status parse_kind_name(const parse_ctx *cx, const char *path, const json_t *v,
                                  uint32_t *mask) {
    for (size_t k = 0; json_is_string(v) && k < IFN_ARRAY_LEN(k_kind_names); k++) {
        if (strcmp(json_string_value(v), k_kind_names[k]) == 0) {
            *mask |= 1u << k;
            return IFN_OK;
        }
    }
    return bad(cx, path, "must be \"completion\", \"chat\" or \"embedding\"");
}

static ifn_status parse_kind(const parse_ctx *cx, const char *path, const json_t *v, rule *ru) {
    char sub[256];
    ru->kind_mask = 0;
    if (!json_is_array(v)) return parse_kind_name(cx, path, v, &ru->kind_mask);
    if (json_array_size(v) == 0) return bad(cx, path, "must not be empty");
    for (size_t i = 0; i < json_array_size(v); i++) {
        path_fmt(sub, sizeof sub, "%s[%zu]", path, i);
        ifn_status st = parse_kind_name(cx, sub, json_array_get(v, i), &ru->kind_mask);
        if (st != IFN_OK) return st;
    }
    return IFN_OK;
}

static ifn_status parse_rule(const parse_ctx *cx, const char *path, const json_t *v, rule *ru) {
    static const char *const fields[] = {"from", "kind", "min_context", "model", NULL};
    char sub[256];
    int64_t min_context = 0;
    ifn_status st = expect_object(cx, path, v, fields);
    ru->kind_mask = KIND_MASK_ALL;
    path_fmt(sub, sizeof sub, "%s.model", path);
    if (st == IFN_OK && !json_object_get(v, "model")) st = bad(cx, sub, "missing");
    if (st == IFN_OK) st = parse_name(cx, sub, json_object_get(v, "model"), &ru->target);
    path_fmt(sub, sizeof sub, "%s.from", path);
    if (st == IFN_OK && json_object_get(v, "from"))
        st = parse_from(cx, sub, json_object_get(v, "from"), ru);
    path_fmt(sub, sizeof sub, "%s.kind", path);
    if (st == IFN_OK && json_object_get(v, "kind"))
        st = parse_kind(cx, sub, json_object_get(v, "kind"), ru);
    path_fmt(sub, sizeof sub, "%s.min_context", path);
    if (st == IFN_OK && json_object_get(v, "min_context"))
        st = parse_int(cx, sub, json_object_get(v, "min_context"), INT32_MAX, &min_context);
    ru->min_context = (int32_t)min_context;
    return st;
}

static ifn_status parse_rules(const parse_ctx *cx, const json_t *arr, ifn_router *r) {
    char path[64];
    if (!json_is_array(arr)) return bad(cx, "rules", "must be an array");
    size_t n = json_array_size(arr);
    r->rules = ifn_calloc(n ? n : 1, sizeof *r->rules);
    if (!r->rules) return no_memory();
    for (size_t i = 0; i < n; i++) {
        path_fmt(path, sizeof path, "rules[%zu]", i);
        r->n_rules++;
        ifn_status st = parse_rule(cx, path, json_array_get(arr, i), &r->rules[i]);
        if (st != IFN_OK) return st;
    }
    return IFN_OK;
}

/* ---- fallbacks ---- */

static ifn_status parse_fallback_list(const parse_ctx *cx, const char *path, const json_t *arr,
                                      fallback *fb) {
    char sub[256];
    size_t n = json_array_size(arr);
    if (!json_is_array(arr) || n == 0 || n > MAX_FALLBACKS)
        return bad(cx, path, "must be an array of 1..%d model names", MAX_FALLBACKS);
    fb->to = ifn_calloc(n, sizeof *fb->to);
    if (!fb->to) return no_memory();
    for (size_t i = 0; i < n; i++) {
        path_fmt(sub, sizeof sub, "%s[%zu]", path, i);
        char **target = &fb->to[fb->n_to].target;
        ifn_status st = parse_name(cx, sub, json_array_get(arr, i), target);
        if (st != IFN_OK) return st;
        fb->n_to++;
        if (strcmp(*target, fb->from) == 0)
            return bad(cx, sub, "a model cannot be its own fallback");
        for (int32_t j = 0; j + 1 < fb->n_to; j++)
            if (strcmp(fb->to[j].target, *target) == 0)
                return bad(cx, sub, "\"%s\" appears twice", *target);
    }
    return IFN_OK;
}

static ifn_status parse_fallback_models(const parse_ctx *cx, const json_t *obj, ifn_router *r) {
    char path[256];
    const char *name;
    json_t *v;
    if (!json_is_object(obj)) return bad(cx, "fallback.models", "must be an object");
    size_t n = json_object_size(obj);
    r->fallbacks = ifn_calloc(n ? n : 1, sizeof *r->fallbacks);
    if (!r->fallbacks) return no_memory();
    json_object_foreach((json_t *)obj, name, v) {
        if (!is_valid_name(name)) return bad_key(cx, "fallback.models");
        fallback *fb = &r->fallbacks[r->n_fallbacks++];
        fb->from = ifn_strndup(name, strlen(name));
        if (!fb->from) return no_memory();
        path_fmt(path, sizeof path, "fallback.models.%s", name);
        ifn_status st = parse_fallback_list(cx, path, v, fb);
        if (st == IFN_OK)
            st = ifn_hashmap_put(r->fallback_index, fb->from, strlen(fb->from), r->n_fallbacks - 1);
        if (st != IFN_OK) return st;
    }
    return IFN_OK;
}

static ifn_status parse_fallback(const parse_ctx *cx, const json_t *obj, ifn_router *r) {
    static const char *const fields[] = {"queue_threshold", "models", NULL};
    int64_t threshold = DEFAULT_QUEUE_THRESHOLD;
    ifn_status st = expect_object(cx, "fallback", obj, fields);
    const json_t *v = json_object_get(obj, "queue_threshold");
    if (st == IFN_OK && v) st = parse_int(cx, "fallback.queue_threshold", v, INT32_MAX, &threshold);
    r->queue_threshold = (int32_t)threshold;
    v = json_object_get(obj, "models");
    if (st == IFN_OK && v) st = parse_fallback_models(cx, v, r);
    return st;
}

/* ---- whole file ---- */

static ifn_status parse_root(const parse_ctx *cx, const json_t *root, ifn_router *r) {
    static const char *const fields[] = {"version", "routes", "rules", "fallback", NULL};
    ifn_status st = expect_object(cx, "(top level)", root, fields);
    const json_t *v = json_object_get(root, "version");
    if (st == IFN_OK && v && !(json_is_integer(v) && json_integer_value(v) == 1)) {
        bad(cx, "version", "only version 1 is known");
        st = IFN_E_UNSUPPORTED;
    }
    if (st == IFN_OK && (v = json_object_get(root, "routes"))) st = parse_routes(cx, v, r);
    if (st == IFN_OK && (v = json_object_get(root, "rules"))) st = parse_rules(cx, v, r);
    if (st == IFN_OK && (v = json_object_get(root, "fallback"))) st = parse_fallback(cx, v, r);
    return st;
}

static ifn_status new_router(ifn_router **out) {
    ifn_router *r = ifn_calloc(1, sizeof *r);
    if (!r) return no_memory();
    atomic_init(&r->n_refs, 1);
    r->queue_threshold = DEFAULT_QUEUE_THRESHOLD;
    ifn_status st = ifn_hashmap_create(16, &r->route_index);
    if (st == IFN_OK) st = ifn_hashmap_create(16, &r->fallback_index);
    if (st != IFN_OK) {
        free_router(r);
        return no_memory();
    }
    *out = r;
    return IFN_OK;
}

ifn_status ifn_router_parse(const char *text, size_t len, const char *source, ifn_router **out) {
    parse_ctx cx = {source ? source : "<text>"};
    json_error_t err;
    ifn_router *r = NULL;
    ifn_status st;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        return ifn_fail(IFN_E_FORMAT, "routing: %s: line %d column %d: %s", cx.source, err.line,
                        err.column, err.text);
    }
    st = new_router(&r);
    if (st == IFN_OK) st = parse_root(&cx, root, r);
    json_decref(root);
    if (st != IFN_OK) {
        if (r) free_router(r);
        return st;
    }
    *out = r;
    return IFN_OK;
}

ifn_status ifn_router_load(const char *path, ifn_router **out) {
    ifn_mmap map = {0};
    ifn_status st = ifn_mmap_open(path, &map);
    if (st != IFN_OK) return ifn_fail(st, "routing: %s", ifn_last_error());
    if (map.size > MAX_FILE_BYTES)
        st = ifn_fail(IFN_E_FORMAT, "routing: %s: larger than %zu bytes", path, MAX_FILE_BYTES);
    else
        st = ifn_router_parse((const char *)map.data, map.size, path, out);
    ifn_mmap_close(&map);
    return st;
}

/* ---- sticky hash: SipHash-2-4 (Aumasson and Bernstein), streamed byte by byte ---- */

typedef struct sip_state {
    uint64_t v[4];
    uint64_t tail; /* pending bytes, little-endian */
    uint64_t n_bytes;
} sip_state;

static uint64_t rotl(uint64_t x, int b) {
    return (x << b) | (x >> (64 - b));
}

static void sip_round(uint64_t *v) {
    v[0] += v[1];
    v[1] = rotl(v[1], 13) ^ v[0];
    v[0] = rotl(v[0], 32);
    v[2] += v[3];
    v[3] = rotl(v[3], 16) ^ v[2];
    v[0] += v[3];
    v[3] = rotl(v[3], 21) ^ v[0];
    v[2] += v[1];
    v[1] = rotl(v[1], 17) ^ v[2];
    v[2] = rotl(v[2], 32);
}

static void sip_block(sip_state *s, uint64_t m) {
    s->v[3] ^= m;
    sip_round(s->v);
    sip_round(s->v);
    s->v[0] ^= m;
}

static void sip_update(sip_state *s, const void *data, size_t len) {
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        s->tail |= (uint64_t)p[i] << (8 * (s->n_bytes % 8));
        if (++s->n_bytes % 8 == 0) {
            sip_block(s, s->tail);
            s->tail = 0;
        }
    }
}

static uint64_t sip_final(sip_state *s) {
    sip_block(s, s->tail | (s->n_bytes << 56));
    s->v[2] ^= 0xff;
    for (int i = 0; i < 4; i++)
        sip_round(s->v);
    return s->v[0] ^ s->v[1] ^ s->v[2] ^ s->v[3];
}

uint64_t ifn_router_sticky_hash(const char *route_name, const char *sticky_key) {
    /* A fixed key: assignments must survive restarts and reloads. */
    const uint64_t k0 = 0x6f656e7265666e69ull, k1 = 0x726574756f722d6eull;
    sip_state s = {{k0 ^ 0x736f6d6570736575ull, k1 ^ 0x646f72616e646f6dull,
                    k0 ^ 0x6c7967656e657261ull, k1 ^ 0x7465646279746573ull},
                   0,
                   0};
    /* The NUL keeps ("ab", "c") apart from ("a", "bc"). */
    sip_update(&s, route_name, strlen(route_name) + 1);
    sip_update(&s, sticky_key, strlen(sticky_key));
    return sip_final(&s);
}

/* ---- resolution ---- */

static bool rule_matches(const rule *ru, const ifn_router_query *q, const char *name) {
    if (!(ru->kind_mask & (1u << q->kind))) return false;
    if (q->n_ctx_needed < ru->min_context) return false;
    if (ru->is_from_any) return true;
    if (!name) return ru->n_from == 0;
    for (int32_t i = 0; i < ru->n_from; i++)
        if (strcmp(ru->from[i], name) == 0) return true;
    return false;
}

static int32_t pick_variant(const route *rt, const ifn_router_query *q, bool *is_sticky) {
    uint64_t total = rt->variants[rt->n_variants - 1].weight_end, point;
    *is_sticky = rt->is_sticky && q->sticky_key && q->sticky_key[0];
    if (*is_sticky) {
        /* The modulo bias is below total / 2^64: invisible at these weights. */
        point = ifn_router_sticky_hash(rt->name, q->sticky_key) % total;
    } else {
        double draw = q->draw >= 0.0 ? q->draw : 0.0; /* also catches NaN */
        point = draw < 1.0 ? (uint64_t)(draw * (double)total) : total - 1;
        if (point >= total) point = total - 1;
    }
    int32_t i = 0;
    while (point >= rt->variants[i].weight_end)
        i++;
    return i;
}

/* `name` is known shorter than IFN_ROUTER_NAME_CAP. */
static void copy_name(char out[IFN_ROUTER_NAME_CAP], const char *name) {
    memcpy(out, name, strlen(name) + 1);
}

static bool can_take(const ifn_router *r, const ifn_router_query *q, const char *model) {
    if (q->can_serve && !q->can_serve(q->user, model, q->kind, q->n_ctx_needed)) return false;
    return !(q->is_overloaded && q->is_overloaded(q->user, model, r->queue_threshold));
}

static void apply_fallback(const ifn_router *r, const ifn_router_query *q, ifn_router_choice *c) {
    int32_t index;
    if (!ifn_hashmap_get(r->fallback_index, c->target, strlen(c->target), &index)) return;
    if (can_take(r, q, c->target)) return;
    fallback *fb = &r->fallbacks[index];
    for (int32_t i = 0; i < fb->n_to; i++) {
        if (!can_take(r, q, fb->to[i].target)) continue;
        /* Relaxed: a statistic; nothing is ordered by it. */
        atomic_fetch_add_explicit(&fb->to[i].n_chosen, 1, memory_order_relaxed);
        memcpy(c->fallback_from, c->target, sizeof c->target);
        copy_name(c->target, fb->to[i].target);
        c->is_fallback = 1;
        return;
    }
    c->is_fallback_exhausted = 1;
}

static ifn_status check_requested(const char *name) {
    size_t len = strlen(name);
    if (len >= IFN_ROUTER_NAME_CAP)
        return ifn_fail(IFN_E_INVALID, "model name longer than %d bytes", IFN_ROUTER_NAME_CAP - 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch < 0x20 || ch == 0x7f)
            return ifn_fail(IFN_E_INVALID, "model name holds control bytes");
    }
    return IFN_OK;
}

/* Applies the first matching rule and the route its result names; returns the target. */
static const char *apply_rules_and_route(const ifn_router *r, const ifn_router_query *q,
                                         const char *name, ifn_router_choice *c) {
    for (int32_t i = 0; i < r->n_rules; i++) {
        if (!rule_matches(&r->rules[i], q, name)) continue;
        atomic_fetch_add_explicit(&r->rules[i].n_chosen, 1, memory_order_relaxed);
        c->rule_index = i;
        name = r->rules[i].target;
        break;
    }
    int32_t index;
    if (!name || !ifn_hashmap_get(r->route_index, name, strlen(name), &index)) return name;
    const route *rt = &r->routes[index];
    bool is_sticky;
    c->variant_index = pick_variant(rt, q, &is_sticky);
    c->is_sticky = is_sticky;
    atomic_fetch_add_explicit(&rt->variants[c->variant_index].n_chosen, 1, memory_order_relaxed);
    copy_name(c->route, rt->name);
    return rt->variants[c->variant_index].target;
}

ifn_status ifn_router_resolve(const ifn_router *router, const ifn_router_query *query,
                              ifn_router_choice *out) {
    ifn_router_choice c;
    memset(&c, 0, sizeof c);
    c.rule_index = -1;
    c.variant_index = -1;
    const char *name = query->model && query->model[0] ? query->model : NULL;
    if (name && check_requested(name) != IFN_OK) return IFN_E_INVALID;
    if ((unsigned)query->kind >= IFN_ARRAY_LEN(k_kind_names))
        return ifn_fail(IFN_E_INVALID, "routing: unknown request kind %d", (int)query->kind);
    if (router) name = apply_rules_and_route(router, query, name, &c);
    if (!name)
        return ifn_fail(IFN_E_INVALID, "the request names no model and no routing rule picks one");
    copy_name(c.target, name);
    if (router) apply_fallback(router, query, &c);
    *out = c;
    return IFN_OK;
}

/* ---- counters and listing ---- */

static void put_count(ifn_router_count *out, size_t cap, size_t *n, ifn_router_count_kind kind,
                      const char *from, const char *target, int32_t index,
                      const _Atomic uint64_t *counter) {
    if (*n < cap) {
        ifn_router_count c = {kind, from, target, index,
                              atomic_load_explicit(counter, memory_order_relaxed)};
        out[*n] = c;
    }
    (*n)++;
}

size_t ifn_router_get_counts(const ifn_router *router, ifn_router_count *out, size_t cap) {
    size_t n = 0;
    if (!router) return 0;
    for (int32_t i = 0; i < router->n_routes; i++) {
        const route *rt = &router->routes[i];
        for (int32_t v = 0; v < rt->n_variants; v++)
            put_count(out, cap, &n, IFN_ROUTER_COUNT_VARIANT, rt->name, rt->variants[v].target, v,
                      &rt->variants[v].n_chosen);
    }
    for (int32_t i = 0; i < router->n_rules; i++)
        put_count(out, cap, &n, IFN_ROUTER_COUNT_RULE, NULL, router->rules[i].target, i,
                  &router->rules[i].n_chosen);
    for (int32_t i = 0; i < router->n_fallbacks; i++) {
        const fallback *fb = &router->fallbacks[i];
        for (int32_t t = 0; t < fb->n_to; t++)
            put_count(out, cap, &n, IFN_ROUTER_COUNT_FALLBACK, fb->from, fb->to[t].target, t,
                      &fb->to[t].n_chosen);
    }
    return n;
}

size_t ifn_router_route_count(const ifn_router *router) {
    return router ? (size_t)router->n_routes : 0;
}

const char *ifn_router_route_name(const ifn_router *router, size_t index) {
    IFN_ASSERT(router && index < (size_t)router->n_routes);
    return router->routes[index].name;
}

/* ---- counters across reloads ---- */

static void copy_count(_Atomic uint64_t *to, const _Atomic uint64_t *from) {
    atomic_store_explicit(to, atomic_load_explicit(from, memory_order_relaxed),
                          memory_order_relaxed);
}

static void carry_route_counts(const route *old, route *next) {
    for (int32_t i = 0; i < next->n_variants; i++)
        for (int32_t j = 0; j < old->n_variants; j++)
            if (strcmp(next->variants[i].target, old->variants[j].target) == 0)
                copy_count(&next->variants[i].n_chosen, &old->variants[j].n_chosen);
}

static void carry_fallback_counts(const fallback *old, fallback *next) {
    for (int32_t i = 0; i < next->n_to; i++)
        for (int32_t j = 0; j < old->n_to; j++)
            if (strcmp(next->to[i].target, old->to[j].target) == 0)
                copy_count(&next->to[i].n_chosen, &old->to[j].n_chosen);
}

void ifn_router_carry_counts(const ifn_router *old, ifn_router *next) {
    int32_t index;
    for (int32_t i = 0; i < next->n_routes; i++) {
        const char *name = next->routes[i].name;
        if (ifn_hashmap_get(old->route_index, name, strlen(name), &index))
            carry_route_counts(&old->routes[index], &next->routes[i]);
    }
    for (int32_t i = 0; i < next->n_rules && i < old->n_rules; i++)
        if (strcmp(next->rules[i].target, old->rules[i].target) == 0)
            copy_count(&next->rules[i].n_chosen, &old->rules[i].n_chosen);
    for (int32_t i = 0; i < next->n_fallbacks; i++) {
        const char *name = next->fallbacks[i].from;
        if (ifn_hashmap_get(old->fallback_index, name, strlen(name), &index))
            carry_fallback_counts(&old->fallbacks[index], &next->fallbacks[i]);
    }
}
