/* Text building for the chat-template interpreter: an arena-backed growable buffer with an
 * output cap, and Python's str()/repr() of values (floats print like Python: 1.0, 2.5, 1e-05).
 * Buffers never free: growth leaves the old block in the arena (at most 2x the final size). */
#ifndef IFN_TOKENIZER_JINJA_TEXT_H
#define IFN_TOKENIZER_JINJA_TEXT_H

#include <stddef.h>

#include "tokenizer/jinja_value.h"

typedef struct ifn_jinja_buf {
    ifn_jinja_arena *arena;
    char *data;
    size_t len;
    size_t cap;
    size_t limit_bytes; /* appends past this fail with IFN_E_FULL; 0: no cap */
} ifn_jinja_buf;

void ifn_jinja_text_init(ifn_jinja_buf *buf, ifn_jinja_arena *arena, size_t limit_bytes);
/* The bytes so far (valid until the next append). Cannot fail. */
ifn_str ifn_jinja_text_view(const ifn_jinja_buf *buf);

/* Appends; IFN_E_FULL past the cap, IFN_E_NOMEM when the arena is exhausted. */
ifn_status ifn_jinja_text_append(ifn_jinja_buf *buf, const char *s, size_t len);
ifn_status ifn_jinja_text_append_cstr(ifn_jinja_buf *buf, const char *s);
/* Python str(v): strings as they are, None, True, [1, 'a'], {'k': 2}, undefined as "". */
ifn_status ifn_jinja_text_append_value(ifn_jinja_buf *buf, ifn_jinja_value v);
/* Python repr(v): strings quoted and escaped. */
ifn_status ifn_jinja_text_append_repr(ifn_jinja_buf *buf, ifn_jinja_value v);
/* HTML-escapes like markupsafe: & < > " ' become entities. */
ifn_status ifn_jinja_text_append_escaped(ifn_jinja_buf *buf, ifn_str s);

/* str(v) as a string: a string value is returned as is, anything else is formatted into the
 * arena. IFN_E_NOMEM when the arena is exhausted. */
ifn_status ifn_jinja_text_to_str(ifn_jinja_arena *arena, ifn_jinja_value v, ifn_str *out);

/* Python repr of a double (shortest round-trip digits) into out (32 bytes room); returns the
 * length. Cannot fail. */
size_t ifn_jinja_text_format_float(double f, char *out);

#endif
