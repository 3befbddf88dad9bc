/* UTF-8 helpers shared by tokenizers and streaming detokenization. */
#ifndef IFN_UTIL_UTF8_H
#define IFN_UTIL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length of the sequence a lead byte announces (1-4), or 0 for a continuation/invalid byte. */
static inline int ifn_utf8_seq_len(unsigned char lead) {
    if (lead < 0x80) return 1;
    if (lead < 0xc2) return 0;
    if (lead < 0xe0) return 2;
    if (lead < 0xf0) return 3;
    if (lead < 0xf5) return 4;
    return 0;
}

/* Decodes one well-formed code point at s[0..len); returns its byte length and stores it in
 * *out_cp, or returns 0 if the bytes there are not a complete valid sequence. */
int ifn_utf8_decode(const char *s, size_t len, uint32_t *out_cp);

/* Encodes `cp` into out (4 bytes room); returns the byte count (0 for an invalid code point). */
int ifn_utf8_encode(uint32_t cp, char *out);

/* Number of bytes at the start of s[0..len) that form complete, valid UTF-8 sequences, stopping
 * before an incomplete sequence at the end. Invalid bytes in the middle count as complete
 * (they can never become valid), so streaming never stalls on them. */
size_t ifn_utf8_complete_prefix(const char *s, size_t len);

/* 1 if s[0..len) is entirely valid UTF-8. */
int ifn_utf8_is_valid(const char *s, size_t len);

#endif
