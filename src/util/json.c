#include "util/json.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/utf8.h"

json_t *ifn_json_string(const char *text, size_t len) {
    if (len == 0) return json_string("");
    if (ifn_utf8_is_valid(text, len)) return json_stringn(text, len);
    char *clean = ifn_malloc(len * 3 + 1); /* each bad byte may grow to 3 */
    if (!clean) return NULL;
    size_t out = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        int n = ifn_utf8_decode(text + i, len - i, &cp);
        if (n > 0) {
            memcpy(clean + out, text + i, (size_t)n);
            out += (size_t)n;
            i += (size_t)n;
        } else {
            memcpy(clean + out, "\xEF\xBF\xBD", 3);
            out += 3;
            i++;
        }
    }
    json_t *value = json_stringn(clean, out);
    ifn_free(clean);
    return value;
}

char *ifn_json_dump(const json_t *value, size_t *out_len) {
    char *text = json_dumps(value, JSON_COMPACT | JSON_REAL_PRECISION(9)) /* float32 round-trips */;
    if (!text) return NULL;
    size_t len = strlen(text);
    char *copy = ifn_malloc(len + 1);
    if (copy) memcpy(copy, text, len + 1);
    free(text);
    if (copy && out_len) *out_len = len;
    return copy;
}
