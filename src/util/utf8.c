/* UTF-8 decoding per RFC 3629: rejects overlongs, surrogates and code points past U+10FFFF. */
#include "util/utf8.h"

int ifn_utf8_decode(const char *s, size_t len, uint32_t *out_cp) {
    const unsigned char *u = (const unsigned char *)s;
    if (len == 0) return 0;
    int n = ifn_utf8_seq_len(u[0]);
    if (n == 0 || (size_t)n > len) return 0;
    if (n == 1) {
        *out_cp = u[0];
        return 1;
    }
    uint32_t cp = u[0] & (0xff >> (n + 1));
    for (int i = 1; i < n; i++) {
        if ((u[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (u[i] & 0x3f);
    }
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    *out_cp = cp;
    return n;
}

int ifn_utf8_encode(uint32_t cp, char *out) {
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xc0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp >= 0xd800 && cp <= 0xdfff) return 0;
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xe0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    if (cp > 0x10ffff) return 0;
    o[0] = (unsigned char)(0xf0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

size_t ifn_utf8_complete_prefix(const char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        int n = ifn_utf8_decode(s + i, len - i, &cp);
        if (n > 0) {
            i += (size_t)n;
            continue;
        }
        /* Could the bytes from i be the start of a valid sequence cut off by the end? */
        int want = ifn_utf8_seq_len((unsigned char)s[i]);
        if (want > 1 && (size_t)want > len - i) {
            size_t k = i + 1;
            while (k < len && ((unsigned char)s[k] & 0xc0) == 0x80) k++;
            if (k == len) return i;
        }
        i++; /* invalid byte: emitting it cannot be fixed by waiting */
    }
    return len;
}

int ifn_utf8_is_valid(const char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        int n = ifn_utf8_decode(s + i, len - i, &cp);
        if (n == 0) return 0;
        i += (size_t)n;
    }
    return 1;
}
