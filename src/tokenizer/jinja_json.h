/* JSON at the edges of the chat-template interpreter: render variables arrive as a jansson
 * tree and become interpreter values, and the tojson filter writes values the way Hugging
 * Face's tojson does (Python json.dumps with ensure_ascii=False: non-ASCII stays raw,
 * ", " and ": " separators, or "," and ": " with an indent; keys keep insertion order). */
#ifndef IFN_TOKENIZER_JINJA_JSON_H
#define IFN_TOKENIZER_JINJA_JSON_H

#include <jansson.h>

#include "tokenizer/jinja_text.h"

/* Converts a jansson value. Strings are borrowed from `json`, which must outlive every use of
 * the result; containers are built in `arena`. IFN_E_INVALID when nested deeper than 512,
 * IFN_E_NOMEM when the arena is exhausted. */
ifn_status ifn_jinja_json_from_jansson(ifn_jinja_arena *arena, const json_t *json,
                                       ifn_jinja_value *out);

typedef struct ifn_jinja_json_options {
    ifn_str indent;   /* per level; used when has_indent */
    int has_indent;   /* json.dumps(indent=...) given (an int n means n spaces) */
    ifn_str item_sep; /* between items; default ", " (or "," with an indent) */
    ifn_str key_sep;  /* between key and value; default ": " */
    int sort_keys;
    int ensure_ascii; /* escape non-ASCII as \uXXXX (HF default: off) */
} ifn_jinja_json_options;

/* Options equal to json.dumps' defaults (no indent). Cannot fail. */
ifn_jinja_json_options ifn_jinja_json_options_default(void);

/* Appends the JSON text of v. IFN_E_INVALID ("TypeError: Object of type X is not JSON
 * serializable") for undefined, generators, callables and namespaces; IFN_E_FULL/NOMEM from
 * the buffer. */
ifn_status ifn_jinja_json_dump(ifn_jinja_buf *buf, ifn_jinja_value v,
                               const ifn_jinja_json_options *options);

#endif
