/* Request router tests: weighted splits (sticky and drawn) against their weights, stickiness over
 * repeats, rules by kind and context, fallbacks, pass-through and aliases, counters, every
 * malformed-file case with its message, a seeded mutation fuzz of routing files (run under ASan
 * in CI) and allocation failures. Reloads and threads: test_router_holder.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manager/router.h"
#include "support/router_fixture.h"
#include "util/alloc.h"
#include "util/rng.h"
#include "util/status.h"

/* ---- splits ---- */

static void test_router_split_over_sticky_keys_matches_weights(void **state) {
    (void)state;
    ifn_router *r = parse_ok(k_sample);
    int n_minor = 0;
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "user-%d", i);
        n_minor += sticky_variant(r, key, 0.0) == 1;
    }
    assert_in_range(n_minor, 70, 130); /* 10% +- 3% */
    /* Keys that look nothing alike spread too (session ids, e-mail addresses). */
    n_minor = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "%08x-sess@example.org", (unsigned)i * 2654435761u);
        n_minor += sticky_variant(r, key, 0.99) == 1;
    }
    assert_in_range(n_minor, 70, 130);
    ifn_router_release(r);
}

static void test_router_split_over_draws_matches_weights(void **state) {
    (void)state;
    ifn_router *r = parse_ok(k_sample);
    ifn_rng rng;
    ifn_rng_seed(&rng, 1234);
    int n_minor = 0;
    for (int i = 0; i < 1000; i++) {
        ifn_router_query q = query("chat", IFN_ROUTER_KIND_CHAT);
        q.draw = ifn_rng_next_f64(&rng);
        ifn_router_choice c = resolve_ok(r, &q);
        assert_false(c.is_sticky);
        n_minor += c.variant_index == 1;
    }
    assert_in_range(n_minor, 70, 130);
    ifn_router_release(r);
}

static void test_router_draw_edges_map_onto_cumulative_weights(void **state) {
    (void)state;
    ifn_router *r = parse_ok(k_sample);
    const double draws[] = {0.0, 0.8999, 0.9, 0.99999, 1.0, 7.0, -1.0, 0.0 / 0.0};
    const int32_t want[] = {0, 0, 1, 1, 1, 1, 0, 0};
    for (size_t i = 0; i < IFN_ARRAY_LEN(draws); i++) {
        ifn_router_query q = query("chat", IFN_ROUTER_KIND_CHAT);
        q.draw = draws[i];
        assert_int_equal(resolve_ok(r, &q).variant_index, want[i]);
    }
    /* "coin" is not sticky: the key is ignored, and a weight-0 variant is never taken. */
    int n_b = 0;
    for (int i = 0; i < 100; i++) {
        ifn_router_query q = query("coin", IFN_ROUTER_KIND_CHAT);
        q.sticky_key = "same-user";
        q.draw = i / 100.0;
        ifn_router_choice c = resolve_ok(r, &q);
        assert_false(c.is_sticky);
        assert_string_not_equal(c.target, "off");
        n_b += strcmp(c.target, "b") == 0;
    }
    assert_int_equal(n_b, 50);
    ifn_router_release(r);
}

static void test_router_sticky_key_never_switches(void **state) {
    (void)state;
    ifn_router *r = parse_ok(k_sample);
    int32_t first[100];
    char key[32];
    ifn_rng rng;
    ifn_rng_seed(&rng, 99);
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "u%d", i);
        first[i] = sticky_variant(r, key, 0.5);
    }
    for (int rep = 0; rep < 10000; rep++) {
        int i = rep % 100;
        snprintf(key, sizeof key, "u%d", i);
        assert_int_equal(sticky_variant(r, key, ifn_rng_next_f64(&rng)), first[i]);
    }
    ifn_router_release(r);
}

/* Pinned values: if these change, every sticky user moves to another variant. */
static void test_router_sticky_hash_is_pinned(void **state) {
    (void)state;
    assert_true(ifn_router_sticky_hash("chat", "alice") == UINT64_C(0x5cbe16a2c5356947));
    assert_true(ifn_router_sticky_hash("chat", "") == UINT64_C(0x238b6f83548cc9b4));
    assert_true(ifn_router_sticky_hash("", "") == UINT64_C(0x2748743e07d88504));
    /* The route separates keys: ("ab", "c") and ("a", "bc") differ. */
    assert_true(ifn_router_sticky_hash("ab", "c") != ifn_router_sticky_hash("a", "bc"));
}

/* ---- rules, aliases, pass-through ---- */

static ifn_router_choice resolve_ctx(const ifn_router *r, const char *model, ifn_router_kind kind,
                                     int32_t n_ctx) {
    ifn_router_query q = query(model, kind);
    q.n_ctx_needed = n_ctx;
    q.sticky_key = "fixed-user";
    return resolve_ok(r, &q);
}

static void test_router_rules_by_kind_and_context(void **state) {
    (void)state;
    ifn_router *r = parse_ok(k_sample);
    ifn_router_choice c = resolve_ctx(r, NULL, IFN_ROUTER_KIND_EMBEDDING, 0);
    assert_string_equal(c.target, "bge@1"); /* rule 0 names route "embed" */
    assert_string_equal(c.route, "embed");
    assert_int_equal(c.rule_index, 0);
    c = resolve_ctx(r, "", IFN_ROUTER_KIND_CHAT, 100); /* "" is no model too */
    assert_int_equal(c.rule_index, 2);
    assert_string_equal(c.route, "chat");
    c = resolve_ctx(r, "chat", IFN_ROUTER_KIND_CHAT, 5000);
    assert_int_equal(c.rule_index, 1);
    assert_string_equal(c.target, "llama3-long");
    assert_string_equal(c.route, ""); /* llama3-long is no route */
    assert_int_equal(c.variant_index, -1);
    assert_int_equal(resolve_ctx(r, "chat", IFN_ROUTER_KIND_CHAT, 4096).rule_index, 1);
    c = resolve_ctx(r, "chat", IFN_ROUTER_KIND_CHAT, 4095);
    assert_int_equal(c.rule_index, -1);
    assert_string_equal(c.route, "chat");
    assert_int_equal(resolve_ctx(r, "chat", IFN_ROUTER_KIND_CHAT, 0).rule_index, -1);
    assert_int_equal(resolve_ctx(r, "chat", IFN_ROUTER_KIND_COMPLETION, 9000).rule_index, -1);
    /* Rules without "from" leave named requests alone. */
    c = resolve_ctx(r, "bge@2", IFN_ROUTER_KIND_EMBEDDING, 0);
    assert_string_equal(c.target, "bge@2");
    assert_int_equal(c.rule_index, -1);
    ifn_router_release(r);
}

static void test_router_rule_from_any_and_lists(void **state) {
    (void)state;
    ifn_router *r = parse_ok("{\"rules\": [\n"
                             " {\"from\": \"*\", \"kind\": \"embedding\", \"model\": \"bge\"},\n"
                             " {\"from\": [\"x\", \"y\"], \"model\": \"z@4\"}]}");
    assert_string_equal(resolve_ctx(r, "llama3", IFN_ROUTER_KIND_EMBEDDING, 0).target, "bge");
    assert_string_equal(resolve_ctx(r, NULL, IFN_ROUTER_KIND_EMBEDDING, 0).target, "bge");
    assert_string_equal(resolve_ctx(r, "y", IFN_ROUTER_KIND_COMPLETION, 0).target, "z@4");
    assert_string_equal(resolve_ctx(r, "w", IFN_ROUTER_KIND_COMPLETION, 0).target, "w");
    ifn_router_choice c;
    ifn_router_query q = query(NULL, IFN_ROUTER_KIND_CHAT);
    assert_int_equal(ifn_router_resolve(r, &q, &c), IFN_E_INVALID);
    assert_non_null(strstr(ifn_last_error(), "names no model"));
    ifn_router_release(r);
}

static void test_router_pass_through_and_aliases(void **state) {
    (void)state;
    ifn_router *r = parse_ok(k_sample);
    ifn_router_choice c = resolve_ctx(r, "mistral", IFN_ROUTER_KIND_COMPLETION, 0);
    assert_string_equal(c.target, "mistral");
    assert_string_equal(c.route, "");
    assert_int_equal(c.variant_index, -1);
    assert_false(c.is_fallback);
    assert_string_equal(resolve_ctx(r, "llama3@7", IFN_ROUTER_KIND_CHAT, 0).target, "llama3@7");
    c = resolve_ctx(r, "fast", IFN_ROUTER_KIND_CHAT, 0);
    assert_string_equal(c.target, "tinyllama");
    assert_string_equal(c.route, "fast");
    assert_int_equal(c.variant_index, 0);
    assert_string_equal(resolve_ctx(r, "embed", IFN_ROUTER_KIND_EMBEDDING, 0).target, "bge@1");
    /* Route targets are not routes again: one level only. */
    ifn_router *self = parse_ok("{\"routes\": {\"llama3\": {\"split\": [\n"
                                " {\"model\": \"llama3\", \"weight\": 1},\n"
                                " {\"model\": \"llama3@3\", \"weight\": 0}]}}}");
    assert_string_equal(resolve_ctx(self, "llama3", IFN_ROUTER_KIND_CHAT, 0).target, "llama3");
    ifn_router_release(self);
    /* No router at all: names pass through, no name is an error. */
    assert_string_equal(resolve_ctx(NULL, "m@1", IFN_ROUTER_KIND_CHAT, 0).target, "m@1");
    ifn_router_query q = query(NULL, IFN_ROUTER_KIND_CHAT);
    assert_int_equal(ifn_router_resolve(NULL, &q, &c), IFN_E_INVALID);
    char long_name[200];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    q.model = long_name;
    assert_int_equal(ifn_router_resolve(r, &q, &c), IFN_E_INVALID);
    q.model = "bad\r\nX-Evil: 1";
    assert_int_equal(ifn_router_resolve(r, &q, &c), IFN_E_INVALID);
    q.model = "ok";
    q.kind = (ifn_router_kind)7;
    assert_int_equal(ifn_router_resolve(r, &q, &c), IFN_E_INVALID);
    ifn_router_release(r);
}

/* ---- fallback ---- */

typedef struct load_state {
    const char *overloaded[4];
    const char *incapable[4];
    int n_calls;
    int32_t seen_threshold;
} load_state;

static int in_list(const char *const *list, const char *model) {
    for (int i = 0; i < 4 && list[i]; i++)
        if (strcmp(list[i], model) == 0) return 1;
    return 0;
}

static int fake_overloaded(void *user, const char *model, int32_t queue_threshold) {
    load_state *s = user;
    s->n_calls++;
    s->seen_threshold = queue_threshold;
    return in_list(s->overloaded, model);
}

static int fake_can_serve(void *user, const char *model, ifn_router_kind kind, int32_t n_ctx) {
    (void)kind;
    (void)n_ctx;
    return !in_list(((load_state *)user)->incapable, model);
}

static ifn_router_choice resolve_loaded(const ifn_router *r, const char *model, load_state *s) {
    ifn_router_query q = query(model, IFN_ROUTER_KIND_CHAT);
    q.user = s;
    q.is_overloaded = fake_overloaded;
    q.can_serve = fake_can_serve;
    return resolve_ok(r, &q);
}

static void test_router_fallback_when_overloaded(void **state) {
    (void)state;
    ifn_router *r = parse_ok(k_sample);
    load_state s = {{"llama3@2"}, {NULL}, 0, 0};
    ifn_router_choice c = resolve_loaded(r, "llama3@2", &s);
    assert_string_equal(c.target, "tinyllama");
    assert_string_equal(c.fallback_from, "llama3@2");
    assert_true(c.is_fallback);
    assert_false(c.is_fallback_exhausted);
    assert_int_equal(s.seen_threshold, 8);
    load_state s2 = {{"llama3@2", "tinyllama"}, {NULL}, 0, 0};
    assert_string_equal(resolve_loaded(r, "llama3@2", &s2).target, "phi@1");
    load_state s3 = {{"llama3@2", "tinyllama", "phi@1"}, {NULL}, 0, 0};
    c = resolve_loaded(r, "llama3@2", &s3);
    assert_string_equal(c.target, "llama3@2");
    assert_false(c.is_fallback);
    assert_true(c.is_fallback_exhausted);
    /* A route's variant falls back too: the sticky user of variant 0 lands on tinyllama. */
    ifn_router_query q = query("chat", IFN_ROUTER_KIND_CHAT);
    q.draw = 0.1;
    q.user = &s;
    q.is_overloaded = fake_overloaded;
    c = resolve_ok(r, &q);
    assert_string_equal(c.route, "chat");
    assert_int_equal(c.variant_index, 0);
    assert_string_equal(c.target, "tinyllama");
    ifn_router_release(r);
}

static void test_router_no_fallback_when_not_overloaded(void **state) {
    (void)state;
    ifn_router *r = parse_ok(k_sample);
    load_state s = {{NULL}, {NULL}, 0, 0};
    ifn_router_choice c = resolve_loaded(r, "llama3@2", &s);
    assert_string_equal(c.target, "llama3@2");
    assert_false(c.is_fallback);
    assert_false(c.is_fallback_exhausted);
    assert_string_equal(c.fallback_from, "");
    assert_int_equal(s.n_calls, 1);
    /* Targets without a fallback list never reach the callbacks. */
    load_state busy = {{"tinyllama", "mistral"}, {NULL}, 0, 0};
    assert_string_equal(resolve_loaded(r, "mistral", &busy).target, "mistral");
    assert_string_equal(resolve_loaded(r, "fast", &busy).target, "tinyllama");
    assert_int_equal(busy.n_calls, 0);
    ifn_router_release(r);
}

static void test_router_fallback_when_incapable(void **state) {
    (void)state;
    ifn_router *r = parse_ok(k_sample);
    load_state s = {{NULL}, {"llama3@2", "tinyllama"}, 0, 0};
    ifn_router_choice c = resolve_loaded(r, "llama3@2", &s);
    assert_string_equal(c.target, "phi@1");
    assert_true(c.is_fallback);
    ifn_router_release(r);
}

/* ---- counters ---- */

static uint64_t count_of(const ifn_router *r, ifn_router_count_kind kind, const char *from,
                         const char *target) {
    ifn_router_count counts[32];
    size_t n = ifn_router_get_counts(r, counts, IFN_ARRAY_LEN(counts));
    assert_true(n <= IFN_ARRAY_LEN(counts));
    for (size_t i = 0; i < n; i++) {
        if (counts[i].kind != kind || strcmp(counts[i].target, target) != 0) continue;
        if (from && strcmp(counts[i].from, from) != 0) continue;
        return counts[i].n_chosen;
    }
    fail_msg("no counter %s -> %s", from ? from : "(rule)", target);
    return 0;
}

static void test_router_counts_and_carry_over(void **state) {
    (void)state;
    ifn_router *r = parse_ok(k_sample);
    for (int i = 0; i < 5; i++)
        resolve_ctx(r, "fast", IFN_ROUTER_KIND_CHAT, 0);
    resolve_ctx(r, NULL, IFN_ROUTER_KIND_EMBEDDING, 0);
    load_state s = {{"llama3@2"}, {NULL}, 0, 0};
    resolve_loaded(r, "llama3@2", &s);
    assert_int_equal(count_of(r, IFN_ROUTER_COUNT_VARIANT, "fast", "tinyllama"), 5);
    assert_int_equal(count_of(r, IFN_ROUTER_COUNT_VARIANT, "embed", "bge@1"), 1);
    assert_int_equal(count_of(r, IFN_ROUTER_COUNT_RULE, NULL, "embed"), 1);
    assert_int_equal(count_of(r, IFN_ROUTER_COUNT_FALLBACK, "llama3@2", "tinyllama"), 1);
    assert_int_equal(ifn_router_get_counts(r, NULL, 0), 2 + 1 + 1 + 3 + 3 + 3);
    assert_int_equal(ifn_router_route_count(r), 4);
    assert_string_equal(ifn_router_route_name(r, 0), "chat"); /* file order */
    assert_string_equal(ifn_router_route_name(r, 3), "coin");
    assert_int_equal(ifn_router_get_counts(NULL, NULL, 0), 0);

    /* A reload keeps what it still has: "fast" and the fallback pair, not a retargeted alias. */
    ifn_router *next = parse_ok("{\"routes\": {\"fast\": \"tinyllama\", \"embed\": \"bge@2\"},\n"
                                " \"fallback\": {\"models\": {\"llama3@2\": [\"tinyllama\"]}}}");
    ifn_router_carry_counts(r, next);
    assert_int_equal(count_of(next, IFN_ROUTER_COUNT_VARIANT, "fast", "tinyllama"), 5);
    assert_int_equal(count_of(next, IFN_ROUTER_COUNT_VARIANT, "embed", "bge@2"), 0);
    assert_int_equal(count_of(next, IFN_ROUTER_COUNT_FALLBACK, "llama3@2", "tinyllama"), 1);
    resolve_ctx(next, "fast", IFN_ROUTER_KIND_CHAT, 0);
    assert_int_equal(count_of(next, IFN_ROUTER_COUNT_VARIANT, "fast", "tinyllama"), 6);
    ifn_router_release(next);
    ifn_router_release(r);
}

/* ---- malformed files ---- */

typedef struct bad_case {
    const char *text;
    ifn_status want;
    const char *message; /* must appear in the error */
} bad_case;

static const bad_case k_bad[] = {
    {"", IFN_E_FORMAT, "line 1"},
    {"{\"routes\": {", IFN_E_FORMAT, "line 1"},
    {"{} x", IFN_E_FORMAT, "line 1"},
    {"[]", IFN_E_FORMAT, "(top level): must be an object"},
    {"{\"routs\": {}}", IFN_E_FORMAT, "(top level): unknown field \"routs\""},
    {"{\"version\": 2}", IFN_E_UNSUPPORTED, "version: only version 1"},
    {"{\"version\": \"1\"}", IFN_E_UNSUPPORTED, "version: only version 1"},
    {"{\"routes\": []}", IFN_E_FORMAT, "routes: must be an object"},
    {"{\"routes\": {\"a\": \"b\", \"a\": \"c\"}}", IFN_E_FORMAT, "duplicate"},
    {"{\"routes\": {\"chat\": 5}}", IFN_E_FORMAT, "routes.chat: must be a model name or an object"},
    {"{\"routes\": {\"chat\": {}}}", IFN_E_FORMAT, "routes.chat: needs exactly one"},
    {"{\"routes\": {\"chat\": {\"model\": \"a\", \"split\": []}}}", IFN_E_FORMAT,
     "routes.chat: needs exactly one"},
    {"{\"routes\": {\"chat\": {\"split\": []}}}", IFN_E_FORMAT,
     "routes.chat.split: must be an array of 1..64 variants"},
    {"{\"routes\": {\"chat\": {\"split\": {}}}}", IFN_E_FORMAT, "routes.chat.split: must be an"},
    {"{\"routes\": {\"chat\": {\"split\": [{\"model\": \"a\"}]}}}", IFN_E_FORMAT,
     "routes.chat.split[0].weight: missing"},
    {"{\"routes\": {\"chat\": {\"split\": [{\"weight\": 1}]}}}", IFN_E_FORMAT,
     "routes.chat.split[0].model: missing"},
    {"{\"routes\": {\"chat\": {\"split\": [{\"model\": \"a\", \"weight\": 1}, "
     "{\"model\": \"b\", \"weight\": -1}]}}}",
     IFN_E_FORMAT, "routes.chat.split[1].weight: must be an integer in 0..1000000"},
    {"{\"routes\": {\"chat\": {\"split\": [{\"model\": \"a\", \"weight\": 1.5}]}}}", IFN_E_FORMAT,
     "routes.chat.split[0].weight: must be an integer"},
    {"{\"routes\": {\"chat\": {\"split\": [{\"model\": \"a\", \"weight\": \"10\"}]}}}",
     IFN_E_FORMAT, "routes.chat.split[0].weight: must be an integer"},
    {"{\"routes\": {\"chat\": {\"split\": [{\"model\": \"a\", \"weight\": 1000001}]}}}",
     IFN_E_FORMAT, "routes.chat.split[0].weight: must be an integer"},
    {"{\"routes\": {\"chat\": {\"split\": [{\"model\": \"a\", \"weight\": 0}]}}}", IFN_E_FORMAT,
     "routes.chat.split: the weights add up to 0"},
    {"{\"routes\": {\"chat\": {\"split\": [{\"model\": \"a\", \"weight\": 1}, "
     "{\"model\": \"a\", \"weight\": 2}]}}}",
     IFN_E_FORMAT, "routes.chat.split[1].model: \"a\" appears twice"},
    {"{\"routes\": {\"chat\": {\"split\": [{\"model\": \"a\", \"wieght\": 1}]}}}", IFN_E_FORMAT,
     "routes.chat.split[0]: unknown field \"wieght\""},
    {"{\"routes\": {\"chat\": {\"split\": [7]}}}", IFN_E_FORMAT,
     "routes.chat.split[0]: must be an object"},
    {"{\"routes\": {\"chat\": \"a b\"}}", IFN_E_FORMAT,
     "routes.chat: must be 1-127 bytes with no spaces or control bytes"},
    {"{\"routes\": {\"chat\": {\"model\": \"\"}}}", IFN_E_FORMAT,
     "routes.chat.model: must be 1-127 bytes"},
    {"{\"routes\": {\"chat\": {\"model\": 3}}}", IFN_E_FORMAT,
     "routes.chat.model: must be a string"},
    {"{\"routes\": {\"chat\": \"x\\ty\"}}", IFN_E_FORMAT, "routes.chat: must be 1-127 bytes"},
    {"{\"routes\": {\"chat\": \"x\\u0000y\"}}", IFN_E_FORMAT, "line 1"},
    {"{\"routes\": {\"\": \"a\"}}", IFN_E_FORMAT, "routes: a name is empty"},
    {"{\"routes\": {\"a b\": \"a\"}}", IFN_E_FORMAT, "routes: a name is empty"},
    {"{\"routes\": {\"chat\": {\"model\": \"a\", \"sticky\": \"yes\"}}}", IFN_E_FORMAT,
     "routes.chat.sticky: must be true or false"},
    {"{\"routes\": {\"chat\": {\"model\": \"a\", \"stiky\": true}}}", IFN_E_FORMAT,
     "routes.chat: unknown field \"stiky\""},
    {"{\"rules\": {}}", IFN_E_FORMAT, "rules: must be an array"},
    {"{\"rules\": [3]}", IFN_E_FORMAT, "rules[0]: must be an object"},
    {"{\"rules\": [{\"kind\": \"chat\"}]}", IFN_E_FORMAT, "rules[0].model: missing"},
    {"{\"rules\": [{\"model\": \"m\"}, {\"kind\": \"image\", \"model\": \"m\"}]}", IFN_E_FORMAT,
     "rules[1].kind: must be \"completion\", \"chat\" or \"embedding\""},
    {"{\"rules\": [{\"kind\": [\"chat\", 4], \"model\": \"m\"}]}", IFN_E_FORMAT,
     "rules[0].kind[1]: must be"},
    {"{\"rules\": [{\"kind\": [], \"model\": \"m\"}]}", IFN_E_FORMAT,
     "rules[0].kind: must not be empty"},
    {"{\"rules\": [{\"min_context\": -5, \"model\": \"m\"}]}", IFN_E_FORMAT,
     "rules[0].min_context: must be an integer in 0..2147483647"},
    {"{\"rules\": [{\"min_context\": 4294967296, \"model\": \"m\"}]}", IFN_E_FORMAT,
     "rules[0].min_context: must be an integer"},
    {"{\"rules\": [{\"from\": [], \"model\": \"m\"}]}", IFN_E_FORMAT,
     "rules[0].from: must not be empty"},
    {"{\"rules\": [{\"from\": 3, \"model\": \"m\"}]}", IFN_E_FORMAT,
     "rules[0].from: must be a name, \"*\", or an array of names"},
    {"{\"rules\": [{\"from\": [\"a\", \"\"], \"model\": \"m\"}]}", IFN_E_FORMAT,
     "rules[0].from[1]: must be 1-127 bytes"},
    {"{\"rules\": [{\"model\": \"m\", \"when\": 1}]}", IFN_E_FORMAT,
     "rules[0]: unknown field \"when\""},
    {"{\"fallback\": []}", IFN_E_FORMAT, "fallback: must be an object"},
    {"{\"fallback\": {\"queue_threshold\": \"8\"}}", IFN_E_FORMAT,
     "fallback.queue_threshold: must be an integer"},
    {"{\"fallback\": {\"llama3@2\": [\"tiny\"]}}", IFN_E_FORMAT,
     "fallback: unknown field \"llama3@2\""},
    {"{\"fallback\": {\"models\": []}}", IFN_E_FORMAT, "fallback.models: must be an object"},
    {"{\"fallback\": {\"models\": {\"x\": \"y\"}}}", IFN_E_FORMAT,
     "fallback.models.x: must be an array of 1..16 model names"},
    {"{\"fallback\": {\"models\": {\"x\": []}}}", IFN_E_FORMAT,
     "fallback.models.x: must be an array of 1..16"},
    {"{\"fallback\": {\"models\": {\"x\": [\"y\", \"x\"]}}}", IFN_E_FORMAT,
     "fallback.models.x[1]: a model cannot be its own fallback"},
    {"{\"fallback\": {\"models\": {\"x\": [\"y\", \"y\"]}}}", IFN_E_FORMAT,
     "fallback.models.x[1]: \"y\" appears twice"},
    {"{\"fallback\": {\"models\": {\"x\": [null]}}}", IFN_E_FORMAT,
     "fallback.models.x[0]: must be a string"},
    {"{\"fallback\": {\"models\": {\"\\n\": [\"y\"]}}}", IFN_E_FORMAT,
     "fallback.models: a name is empty"},
};

static void test_router_bad_files_give_clear_errors(void **state) {
    (void)state;
    size_t live = ifn_alloc_live_bytes();
    for (size_t i = 0; i < IFN_ARRAY_LEN(k_bad); i++) {
        ifn_router *r = NULL;
        ifn_status st = ifn_router_parse(k_bad[i].text, strlen(k_bad[i].text), "routes.json", &r);
        if (st != k_bad[i].want || !strstr(ifn_last_error(), k_bad[i].message) ||
            strncmp(ifn_last_error(), "routing: routes.json: ", 22) != 0) {
            fail_msg("case %zu (%s): got %s \"%s\", want %s \"%s\"", i, k_bad[i].text,
                     ifn_status_str(st), ifn_last_error(), ifn_status_str(k_bad[i].want),
                     k_bad[i].message);
        }
        assert_null(r);
    }
    assert_int_equal(ifn_alloc_live_bytes(), live);
}

static void test_router_load_names_the_file(void **state) {
    (void)state;
    ifn_router *r = NULL;
    assert_int_equal(ifn_router_load("/nonexistent/routes.json", &r), IFN_E_IO);
    assert_non_null(strstr(ifn_last_error(), "/nonexistent/routes.json"));
    char *path = write_temp("{\"routes\": {\"chat\": {\"split\": [{\"model\": \"a\", \"weight\": "
                            "1}, {\"model\": \"b\", \"weight\": -1}]}}}");
    assert_int_equal(ifn_router_load(path, &r), IFN_E_FORMAT);
    assert_non_null(strstr(ifn_last_error(), path));
    assert_non_null(strstr(ifn_last_error(), "routes.chat.split[1].weight"));
    assert_null(r);
    unlink(path);
    free(path);
    /* An empty file routes nothing. */
    assert_int_equal(ifn_router_parse("{}", 2, NULL, &r), IFN_OK);
    assert_string_equal(resolve_ctx(r, "chat", IFN_ROUTER_KIND_CHAT, 0).target, "chat");
    ifn_router_release(r);
}

/* Seeded damage to valid files: byte changes biased to JSON syntax, cut, doubled and removed
 * spans. Each text must parse or fail cleanly; what parses must resolve to valid names. */
static void mutate(ifn_rng *rng, char *buf, size_t *len, size_t cap) {
    static const char alphabet[] = "{}[]\",:0123456789-.eE tfnu\\@*abc\x01\xff";
    int n_edits = 1 + (int)(ifn_rng_next_u64(rng) % 4);
    for (int e = 0; e < n_edits && (*len) > 0; e++) {
        size_t at = ifn_rng_next_u64(rng) % *len;
        size_t span = 1 + ifn_rng_next_u64(rng) % 16;
        if (span > *len - at) span = *len - at;
        switch (ifn_rng_next_u64(rng) % 4) {
        case 0:
            buf[at] = alphabet[ifn_rng_next_u64(rng) % (sizeof alphabet - 1)];
            break;
        case 1:
            memmove(buf + at, buf + at + span, *len - at - span);
            *len -= span;
            break;
        case 2:
            if (*len + span > cap) break;
            memmove(buf + at + span, buf + at, *len - at);
            *len += span;
            break;
        default:
            *len = at;
            break;
        }
    }
}

static void check_parsed(const ifn_router *r) {
    static const char *const names[] = {NULL, "chat", "fast", "embed", "coin", "x", "llama3@2"};
    for (size_t i = 0; i < IFN_ARRAY_LEN(names); i++) {
        for (int kind = 0; kind < 3; kind++) {
            ifn_router_query q = query(names[i], (ifn_router_kind)kind);
            q.n_ctx_needed = 5000;
            q.sticky_key = i % 2 ? "k" : NULL;
            q.draw = 0.5;
            ifn_router_choice c;
            if (ifn_router_resolve(r, &q, &c) != IFN_OK) continue;
            assert_true(strlen(c.target) > 0 && strlen(c.target) < IFN_ROUTER_NAME_CAP);
            for (const char *p = c.target; *p; p++)
                assert_true((unsigned char)*p > 0x20 && *p != 0x7f);
        }
    }
}

static void test_router_fuzz_mutated_files(void **state) {
    (void)state;
    static const char *const seeds[] = {
        k_sample,
        "{\"routes\": {\"c\": {\"split\": [{\"model\": \"a\", \"weight\": 3}, {\"model\": \"b\", "
        "\"weight\": 1}]}}, \"rules\": [{\"from\": [\"c\", \"*\"], \"kind\": [\"chat\"], "
        "\"model\": \"c\"}]}",
    };
    ifn_rng rng;
    ifn_rng_seed(&rng, 20240611);
    size_t live = ifn_alloc_live_bytes();
    int n_ok = 0;
    for (int iter = 0; iter < 4000; iter++) {
        char buf[4096];
        const char *seed = seeds[iter % IFN_ARRAY_LEN(seeds)];
        size_t len = strlen(seed);
        memcpy(buf, seed, len);
        mutate(&rng, buf, &len, sizeof buf);
        char *text = malloc(len ? len : 1); /* exact size: ASan sees any overread */
        memcpy(text, buf, len);
        ifn_router *r = NULL;
        ifn_status st = ifn_router_parse(text, len, "fuzz", &r);
        if (st == IFN_OK) {
            n_ok++;
            check_parsed(r);
            ifn_router_release(r);
        } else {
            assert_true(st == IFN_E_FORMAT || st == IFN_E_UNSUPPORTED);
            assert_int_equal(strncmp(ifn_last_error(), "routing: fuzz: ", 15), 0);
            assert_null(r);
        }
        free(text);
    }
    assert_true(n_ok > 50); /* the fuzz reaches past the syntax checks */
    assert_int_equal(ifn_alloc_live_bytes(), live);
}

static void test_router_allocation_failures_are_clean(void **state) {
    (void)state;
    size_t live = ifn_alloc_live_bytes();
    int n_failed = 0;
    for (int64_t nth = 1; nth < 1000; nth++) {
        ifn_router *r = NULL;
        ifn_alloc_fail_after(nth);
        ifn_status st = ifn_router_parse(k_sample, strlen(k_sample), NULL, &r);
        ifn_alloc_fail_after(0);
        if (st == IFN_OK) {
            ifn_router_release(r);
            break;
        }
        assert_int_equal(st, IFN_E_NOMEM);
        assert_null(r);
        n_failed++;
        assert_int_equal(ifn_alloc_live_bytes(), live);
    }
    assert_true(n_failed > 20);
    assert_int_equal(ifn_alloc_live_bytes(), live);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_router_split_over_sticky_keys_matches_weights),
        cmocka_unit_test(test_router_split_over_draws_matches_weights),
        cmocka_unit_test(test_router_draw_edges_map_onto_cumulative_weights),
        cmocka_unit_test(test_router_sticky_key_never_switches),
        cmocka_unit_test(test_router_sticky_hash_is_pinned),
        cmocka_unit_test(test_router_rules_by_kind_and_context),
        cmocka_unit_test(test_router_rule_from_any_and_lists),
        cmocka_unit_test(test_router_pass_through_and_aliases),
        cmocka_unit_test(test_router_fallback_when_overloaded),
        cmocka_unit_test(test_router_no_fallback_when_not_overloaded),
        cmocka_unit_test(test_router_fallback_when_incapable),
        cmocka_unit_test(test_router_counts_and_carry_over),
        cmocka_unit_test(test_router_bad_files_give_clear_errors),
        cmocka_unit_test(test_router_load_names_the_file),
        cmocka_unit_test(test_router_fuzz_mutated_files),
        cmocka_unit_test(test_router_allocation_failures_are_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
