/* Small helpers over Jansson (the JSON library): strings from bytes that may not be valid
 * UTF-8, and compact serialisation into an ifn_malloc'd buffer. */
#ifndef IFN_UTIL_JSON_H
#define IFN_UTIL_JSON_H

#include <jansson.h>
#include <stddef.h>

/* A JSON string of text[0..len); invalid UTF-8 sequences become U+FFFD (Jansson itself refuses
 * them). NULL only when out of memory. */
json_t *ifn_json_string(const char *text, size_t len);

/* Compact JSON text (NUL-terminated, ifn_free it), or NULL when out of memory. */
char *ifn_json_dump(const json_t *value, size_t *out_len);

#endif
