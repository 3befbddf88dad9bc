/* Robustness of the chat-template interpreter: malformed and random templates, deep nesting,
 * runaway loops, recursion, output and memory growth, deeply nested variables and failing
 * allocations must all end in an error status with a message, never a crash or a hang
 * (run under ASan/UBSan in CI). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/chat_template.h"
#include "util/alloc.h"
#include "util/rng.h"
#include "util/status.h"

/* Parses and (if it parsed) renders; returns the first failing status or IFN_OK. */
static ifn_status try_template(const char *src, size_t len, const json_t *vars,
                               const ifn_chat_template_limits *limits) {
    ifn_chat_template *t = NULL;
    char *text = NULL;
    ifn_status st = ifn_chat_template_create(src, len, &t);
    if (st == IFN_OK && limits) ifn_chat_template_set_limits(t, limits);
    if (st == IFN_OK) st = ifn_chat_template_render(t, vars, &text, NULL);
    if (st != IFN_OK) assert_true(strlen(ifn_last_error()) > 0);
    ifn_free(text);
    ifn_chat_template_destroy(t);
    return st;
}

static ifn_status try_cstr(const char *src) {
    return try_template(src, strlen(src), NULL, NULL);
}

/* A string of `depth` copies of open, then middle, then `depth` copies of close. */
static char *nested(const char *open, const char *middle, const char *close, int depth) {
    size_t n = strlen(open) * (size_t)depth + strlen(middle) + strlen(close) * (size_t)depth;
    char *s = malloc(n + 1), *p = s;
    for (int i = 0; i < depth; i++)
        p += sprintf(p, "%s", open);
    p += sprintf(p, "%s", middle);
    for (int i = 0; i < depth; i++)
        p += sprintf(p, "%s", close);
    return s;
}

static void test_chat_template_deep_nesting_is_an_error(void **state) {
    (void)state;
    static const char *const shapes[][3] = {
        {"{{ ", "1", " }}"}, /* wrapped below */
        {"{% if 1 %}", "x", "{% endif %}"},
        {"{% for i in [1] %}", "x", "{% endfor %}"},
    };
    char *parens = nested("(", "1", ")", 100000);
    char *expr = malloc(strlen(parens) + 8);
    sprintf(expr, "{{ %s }}", parens);
    assert_int_equal(try_cstr(expr), IFN_E_FORMAT);
    char *lists = nested("[", "1", "]", 100000);
    sprintf(expr, "{{ %.*s", (int)strlen(lists) - 4, lists); /* truncated too */
    assert_int_equal(try_cstr(expr), IFN_E_FORMAT);
    char *nots = nested("{{ not ", "1", "", 1);
    free(nots);
    nots = nested("not ", "1 }}", "", 100000);
    char *not_expr = malloc(strlen(nots) + 4);
    sprintf(not_expr, "{{ %s", nots);
    assert_int_equal(try_cstr(not_expr), IFN_E_FORMAT);
    free(not_expr);
    for (size_t i = 1; i < sizeof shapes / sizeof shapes[0]; i++) {
        char *deep = nested(shapes[i][0], shapes[i][1], shapes[i][2], 50000);
        assert_int_equal(try_cstr(deep), IFN_E_FORMAT);
        free(deep);
        char *ok = nested(shapes[i][0], shapes[i][1], shapes[i][2], 50);
        assert_int_equal(try_cstr(ok), IFN_OK);
        free(ok);
    }
    char *conds = nested("1 if 0 else ", "2", "", 100000);
    char *cond_expr = malloc(strlen(conds) + 8);
    sprintf(cond_expr, "{{ %s }}", conds);
    assert_int_equal(try_cstr(cond_expr), IFN_E_FORMAT);
    free(parens), free(expr), free(lists), free(nots), free(conds), free(cond_expr);
}

static void test_chat_template_runaway_templates_hit_limits(void **state) {
    (void)state;
    ifn_chat_template_limits small = ifn_chat_template_limits_default();
    small.max_steps = 10000;
    small.max_output_bytes = 4096;
    small.max_memory_bytes = 8 << 20;
    static const char *const runaway[] = {
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
        "{% for i in range(10000) %}xxxxxxxxxx{% endfor %}",
        "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}"
        "{% endfor %}",
        "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}"
        "{% endfor %}",
        "{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}"
        "{% endfor %}",
        "{{ 'x' * 1000000000 }}",
        "{{ [1] * 1000000000 }}",
        "{{ range(1000000) | list }}",
        "{% set ns = namespace(d={}) %}{% for i in range(5000) %}{% set ns.d = dict(ns.d, "
        "a=[ns.d]) %}"
        "{% endfor %}{{ ns.d | tojson }}",
    };
    for (size_t i = 0; i < sizeof runaway / sizeof runaway[0]; i++) {
        ifn_status st = try_template(runaway[i], strlen(runaway[i]), NULL, &small);
        if (st == IFN_OK) fprintf(stderr, "  rendered: %s\n", runaway[i]);
        assert_int_not_equal(st, IFN_OK);
    }
    /* The same loop within the limits renders. */
    const char *fine = "{% for i in range(100) %}x{% endfor %}";
    assert_int_equal(try_template(fine, strlen(fine), NULL, &small), IFN_OK);
}

static void test_chat_template_deep_variables_are_refused(void **state) {
    (void)state;
    json_t *root = json_object(), *cur = json_array();
    json_object_set_new(root, "messages", cur);
    for (int i = 0; i < 2000; i++) {
        json_t *next = json_array();
        json_array_append_new(cur, next);
        cur = next;
    }
    const char *src = "{{ messages | length }}";
    assert_int_equal(try_template(src, strlen(src), root, NULL), IFN_E_INVALID);
    json_decref(root);
}

/* ---- fuzzing ----------------------------------------------------------------------------- */

static const char g_vars_json[] =
    "{\"messages\": [{\"role\": \"system\", \"content\": \"s\"}, {\"role\": \"user\", "
    "\"content\": \"u \\u00e9\"}, {\"role\": \"assistant\", \"content\": null, "
    "\"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"f\", \"arguments\": "
    "{\"a\": 1}}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\"}}], "
    "\"add_generation_prompt\": true, \"bos_token\": \"<s>\", \"eos_token\": \"</s>\", "
    "\"x\": [1, 2.5, \"three\"]}";

static const char *const g_fragments[] = {
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    "#}",
    "{%-",
    "-%}",
    "{{-",
    "-}}",
    "{%+",
    " ",
    "\n",
    "x",
    "if",
    "elif",
    "else",
    "endif",
    "for",
    "in",
    "endfor",
    "set",
    "endset",
    "=",
    "==",
    "messages",
    "m",
    "loop",
    ".index",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "'",
    "\"",
    "'a'",
    "|",
    "trim",
    "tojson",
    "join",
    "map",
    "selectattr",
    "is",
    "not",
    "defined",
    "none",
    "1",
    "-1",
    "2.5",
    ".",
    ",",
    ":",
    "~",
    "+",
    "*",
    "**",
    "//",
    "%",
    "raw",
    "endraw",
    "macro",
    "endmacro",
    "call",
    "caller",
    "namespace",
    "ns",
    "ns.a",
    "break",
    "continue",
    "\\",
    "\x01",
    "\xc3\xa9",
    "\xff",
    "range(3)",
    "x[0]",
    "x[1:]",
    "m.role",
    "m['content']",
    "raise_exception",
    "filter",
    "upper",
    "endfilter",
    "with",
    "endwith",
    "and",
    "or",
    "true",
    "dict(a=1)",
    "items()",
    "|length",
};

static void test_chat_template_random_fragments_never_crash(void **state) {
    (void)state;
    json_t *vars = json_loads(g_vars_json, 0, NULL);
    assert_non_null(vars);
    ifn_chat_template_limits limits = ifn_chat_template_limits_default();
    limits.max_steps = 20000;
    limits.max_memory_bytes = 16 << 20;
    ifn_rng rng;
    ifn_rng_seed(&rng, 42);
    char src[512];
    size_t n_frag = sizeof g_fragments / sizeof g_fragments[0], rendered = 0;
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = 0, count = 1 + ifn_rng_next_u64(&rng) % 40;
        for (size_t k = 0; k < count; k++) {
            const char *f = g_fragments[ifn_rng_next_u64(&rng) % n_frag];
            size_t fl = strlen(f);
            if (len + fl >= sizeof src) break;
            memcpy(src + len, f, fl);
            len += fl;
        }
        rendered += try_template(src, len, vars, &limits) == IFN_OK;
    }
    fprintf(stderr, "  %zu of 20000 random templates rendered, the rest failed cleanly\n",
            rendered);
    json_decref(vars);
}

/* Mutates a real template (delete, insert or replace a few bytes) many times. */
static void test_chat_template_mutated_real_template_never_crashes(void **state) {
    (void)state;
    static const char base[] =
        "{%- if tools %}{{- '<|im_start|>system\\n' }}{%- for tool in tools %}{{- '\\n' }}"
        "{{- tool | tojson }}{%- endfor %}{%- endif %}\n{%- for message in messages %}\n"
        "    {%- if message.role == 'user' or (message.role == 'assistant' and not "
        "message.tool_calls) %}\n        {{- '<|im_start|>' + message.role + '\\n' + "
        "message.content + '<|im_end|>\\n' }}\n    {%- elif message.role == 'assistant' %}\n"
        "        {%- for tool_call in message.tool_calls %}{%- set tc = tool_call.function %}"
        "{{- tc.name }}{{- tc.arguments | tojson(indent=2) }}{%- endfor %}\n    {%- endif %}\n"
        "{%- endfor %}\n{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
        "{%- endif %}\n";
    static const char alphabet[] = "{}%#-+|'\"()[]., =~\n\\ax1";
    json_t *vars = json_loads(g_vars_json, 0, NULL);
    assert_non_null(vars);
    assert_int_equal(try_template(base, strlen(base), vars, NULL), IFN_OK);
    ifn_rng rng;
    ifn_rng_seed(&rng, 7);
    char src[sizeof base + 16];
    size_t ok = 0;
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = strlen(base);
        memcpy(src, base, len);
        for (int edits = 1 + (int)(ifn_rng_next_u64(&rng) % 3); edits > 0; edits--) {
            size_t at = ifn_rng_next_u64(&rng) % len;
            char c = alphabet[ifn_rng_next_u64(&rng) % (sizeof alphabet - 1)];
            switch (ifn_rng_next_u64(&rng) % 3) {
            case 0:
                memmove(src + at, src + at + 1, len - at - 1), len--;
                break;
            case 1:
                memmove(src + at + 1, src + at, len - at), src[at] = c, len++;
                break;
            default:
                src[at] = ifn_rng_next_u64(&rng) & 1 ? c : (char)ifn_rng_next_u64(&rng);
            }
        }
        ok += try_template(src, len, vars, NULL) == IFN_OK;
    }
    fprintf(stderr, "  %zu of 20000 mutated templates rendered, the rest failed cleanly\n", ok);
    json_decref(vars);
}

static void test_chat_template_allocation_failures_are_errors(void **state) {
    (void)state;
    const char *src = ifn_chat_template_builtin("llama2");
    json_t *vars = json_loads(g_vars_json, 0, NULL);
    int failures = 0;
    for (int64_t nth = 1; nth < 400; nth++) {
        ifn_chat_template *t = NULL;
        char *text = NULL;
        ifn_alloc_fail_after(nth);
        ifn_status st = ifn_chat_template_create(src, strlen(src), &t);
        if (st == IFN_OK) st = ifn_chat_template_render(t, vars, &text, NULL);
        ifn_alloc_fail_after(0);
        failures += st != IFN_OK;
        if (st != IFN_OK) assert_int_equal(st, IFN_E_NOMEM);
        ifn_free(text);
        ifn_chat_template_destroy(t);
    }
    assert_true(failures > 0);
    json_decref(vars);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_template_deep_nesting_is_an_error),
        cmocka_unit_test(test_chat_template_runaway_templates_hit_limits),
        cmocka_unit_test(test_chat_template_deep_variables_are_refused),
        cmocka_unit_test(test_chat_template_random_fragments_never_crash),
        cmocka_unit_test(test_chat_template_mutated_real_template_never_crashes),
        cmocka_unit_test(test_chat_template_allocation_failures_are_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
