/* Chat templates: renders a model's `tokenizer.chat_template` (a Jinja2 template) into the
 * prompt text, the way Hugging Face's apply_chat_template does (trim_blocks, lstrip_blocks,
 * loop controls, tojson without ASCII escaping, raise_exception). The interpreter is our
 * own (jinja_*.c); built-in templates cover models that ship none.
 *
 * Thread-safety: a parsed template is immutable, so any number of threads may render it at
 * once; each render uses its own memory. Errors are reported through ifn_fail(), so the
 * message is in ifn_last_error() on the rendering thread. */
#ifndef IFN_TOKENIZER_CHAT_TEMPLATE_H
#define IFN_TOKENIZER_CHAT_TEMPLATE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "inferneo/status.h"

typedef struct ifn_chat_template ifn_chat_template;

/* Guards against runaway templates; exceeding one fails the render with IFN_E_FULL. */
typedef struct ifn_chat_template_limits {
    size_t max_output_bytes; /* rendered text (and any captured block or string built) */
    size_t max_memory_bytes; /* everything one render allocates */
    int64_t max_steps;       /* loop iterations plus macro calls */
    int32_t max_call_depth;  /* nested macro calls */
} ifn_chat_template_limits;

/* 16 MiB output, 512 MiB memory, 1,000,000 steps, call depth 100. */
ifn_chat_template_limits ifn_chat_template_limits_default(void);

/* Parses source[0..len) (need not be NUL-terminated; copied). IFN_E_FORMAT with a message
 * naming the line for syntax errors (unterminated tags, unknown tags, filters or tests, bad
 * expressions); IFN_E_NOMEM. */
ifn_status ifn_chat_template_create(const char *source, size_t len,
                                    ifn_chat_template **out_template);

/* Replaces the limits; call before sharing the template between threads. */
void ifn_chat_template_set_limits(ifn_chat_template *tmpl, const ifn_chat_template_limits *limits);

/* Renders with `variables`, a JSON object whose members become template variables
 * (messages, add_generation_prompt, bos_token, eos_token, tools, ...); NULL means none.
 * The caller keeps `variables` and must not modify it during the call. On success
 * *out_text is a NUL-terminated ifn_malloc'd buffer (free with ifn_free) of *out_len bytes.
 * Errors: IFN_E_INVALID when the template raises (raise_exception's message verbatim) or
 * fails (Jinja2-style message plus the template line), IFN_E_FULL past a limit,
 * IFN_E_NOMEM. Thread-safe. */
ifn_status ifn_chat_template_render(const ifn_chat_template *tmpl, const json_t *variables,
                                    char **out_text, size_t *out_len);

/* NULL does nothing. */
void ifn_chat_template_destroy(ifn_chat_template *tmpl);

/* ---- built-in templates (chat_template_builtin.c) ----------------------------------------- */

/* Source of the built-in template `name` ("chatml", "llama2", "llama3", "mistral", "gemma",
 * "phi3", "zephyr"), or NULL if there is none. Static storage; thread-safe. Message content
 * must be a string. */
const char *ifn_chat_template_builtin(const char *name);

/* Name of built-in template `index` (0-based), or NULL past the last. */
const char *ifn_chat_template_builtin_name(size_t index);

#endif
