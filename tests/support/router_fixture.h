/* Routing test helpers shared by test_router.c and test_router_holder.c: a sample routing file
 * and small wrappers that fail the test on errors. Header-only; include after <cmocka.h>. */
#ifndef IFN_TESTS_SUPPORT_ROUTER_FIXTURE_H
#define IFN_TESTS_SUPPORT_ROUTER_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "manager/router.h"
#include "util/status.h"

static const char k_sample[] =
    "{\n"
    "  \"version\": 1,\n"
    "  \"routes\": {\n"
    "    \"chat\": {\"split\": [{\"model\": \"llama3@2\", \"weight\": 90},\n"
    "                         {\"model\": \"llama3@3\", \"weight\": 10}], \"sticky\": true},\n"
    "    \"fast\": \"tinyllama\",\n"
    "    \"embed\": {\"model\": \"bge@1\"},\n"
    "    \"coin\": {\"split\": [{\"model\": \"a\", \"weight\": 1}, {\"model\": \"b\", \"weight\": "
    "1},\n"
    "                         {\"model\": \"off\", \"weight\": 0}], \"sticky\": false}\n"
    "  },\n"
    "  \"rules\": [\n"
    "    {\"kind\": \"embedding\", \"model\": \"embed\"},\n"
    "    {\"from\": \"chat\", \"kind\": \"chat\", \"min_context\": 4096, \"model\": "
    "\"llama3-long\"},\n"
    "    {\"kind\": [\"chat\", \"completion\"], \"model\": \"chat\"}\n"
    "  ],\n"
    "  \"fallback\": {\"queue_threshold\": 8,\n"
    "               \"models\": {\"llama3@2\": [\"tinyllama\", \"phi@1\"],\n"
    "                          \"llama3-long\": [\"llama3@3\"]}}\n"
    "}\n";

static inline ifn_router *parse_ok(const char *text) {
    ifn_router *r = NULL;
    ifn_status st = ifn_router_parse(text, strlen(text), NULL, &r);
    if (st != IFN_OK) fail_msg("parse failed: %s", ifn_last_error());
    return r;
}

static inline ifn_router_query query(const char *model, ifn_router_kind kind) {
    ifn_router_query q;
    memset(&q, 0, sizeof q);
    q.model = model;
    q.kind = kind;
    return q;
}

static inline ifn_router_choice resolve_ok(const ifn_router *r, const ifn_router_query *q) {
    ifn_router_choice c;
    ifn_status st = ifn_router_resolve(r, q, &c);
    if (st != IFN_OK) fail_msg("resolve failed: %s", ifn_last_error());
    return c;
}

/* Writes `text` to a new temporary file; returns its path (free it, unlink it). */
static inline char *write_temp(const char *text) {
    char *path = strdup("/tmp/ifn_router_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

static inline void rewrite(const char *path, const char *text) {
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    FILE *f = fopen(tmp, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(rename(tmp, path), 0); /* atomic, like an operator's editor should be */
}

static inline int32_t sticky_variant(const ifn_router *r, const char *key, double draw) {
    ifn_router_query q = query("chat", IFN_ROUTER_KIND_COMPLETION);
    q.sticky_key = key;
    q.draw = draw;
    ifn_router_choice c = resolve_ok(r, &q);
    assert_true(c.is_sticky);
    assert_string_equal(c.route, "chat");
    assert_string_equal(c.target, c.variant_index == 0 ? "llama3@2" : "llama3@3");
    return c.variant_index;
}

#endif
