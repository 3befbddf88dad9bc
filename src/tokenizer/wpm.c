/* WordPiece (BERT), following HF's BertNormalizer + BertPreTokenizer + WordPiece and llama.cpp's
 * GGUF conventions: drop NUL, U+FFFD and other control/format characters; split on Unicode
 * White_Space; NFD-decompose and drop nonspacing marks (Mn); lowercase; punctuation (and ASCII
 * symbols) and CJK ideographs become one-character words. Each word is matched greedily,
 * longest piece first: the first piece as "▁" + text, later pieces as bare text (GGUF drops
 * BERT's "##"). A word with no full match, or over 100 characters, becomes UNK. An invalid
 * UTF-8 byte becomes an UNK word of its own. Does not add CLS/SEP (vocab.c does). */
#include "tokenizer/wpm.h"

#include <string.h>
#include <utf8proc.h>

#include "util/alloc.h"
#include "util/status.h"
#include "util/utf8.h"

enum {
    WORD_START_LEN = 3,   /* "▁" */
    MAX_WORD_CHARS = 100, /* HF WordPiece max_input_chars_per_word */
    MAX_DECOMPOSED = 8,   /* code points one character may decompose into (NFD) */
};

/* The word being built: "▁" then the normalized text; n_chars counts the text's characters. */
typedef struct word_buf {
    char *bytes;
    size_t len, cap;
    size_t n_chars;
} word_buf;

static int is_white_space(uint32_t cp) {
    return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
           cp == 0x205f || cp == 0x3000;
}

/* NUL, U+FFFD and categories Cc/Cf/Cs/Co/Cn are removed (tab, LF, CR are white space). */
static int is_dropped(uint32_t cp) {
    if (cp == 0 || cp == 0xfffd) return 1;
    switch (utf8proc_category((utf8proc_int32_t)cp)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
        return 1;
    default:
        return 0;
    }
}

static int is_punctuation(uint32_t cp) {
    if (cp < 0x80)
        return (cp >= 0x21 && cp <= 0x2f) || (cp >= 0x3a && cp <= 0x40) ||
               (cp >= 0x5b && cp <= 0x60) || (cp >= 0x7b && cp <= 0x7e);
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}

/* CJK ideograph blocks as BERT (and HF's Rust port) list them. */
static int is_cjk(uint32_t cp) {
    return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
           (cp >= 0x20000 && cp <= 0x2a6df) || (cp >= 0x2a700 && cp <= 0x2b73f) ||
           (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b920 && cp <= 0x2ceaf) ||
           (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}

static ifn_status word_append(word_buf *w, uint32_t cp) {
    if (w->len + 4 > w->cap) {
        size_t cap = w->cap * 2 + 64;
        char *p = ifn_realloc(w->bytes, cap);
        if (!p) return ifn_fail(IFN_E_NOMEM, "wpm: no memory for a word");
        w->bytes = p;
        w->cap = cap;
    }
    if (w->len == 0) {
        memcpy(w->bytes, "\xe2\x96\x81", WORD_START_LEN);
        w->len = WORD_START_LEN;
    }
    w->len += (size_t)ifn_utf8_encode(cp, w->bytes + w->len);
    w->n_chars++;
    return IFN_OK;
}

static ifn_status push_unk(const ifn_vocab *vocab, ifn_token_vec *out) {
    int32_t unk = ifn_vocab_unk(vocab);
    return unk >= 0 ? ifn_token_vec_push(out, unk) : IFN_OK;
}

/* Longest piece of w->bytes[start..) that is a token; *out_end is where it stops. The first
 * piece keeps the "▁" prefix, so it starts at 0; others start after a character. */
static int32_t longest_piece(const ifn_vocab *vocab, const word_buf *w, size_t start,
                             size_t *out_end) {
    for (size_t end = w->len; end > start; end--) {
        if (end < w->len && ((unsigned char)w->bytes[end] & 0xc0) == 0x80) continue;
        int32_t id = ifn_vocab_find(vocab, w->bytes + start, end - start);
        if (id >= 0) {
            *out_end = end;
            return id;
        }
    }
    return -1;
}

/* Greedy longest-match-first; all or nothing (UNK) per word. Empties the word. */
static ifn_status flush_word(const ifn_vocab *vocab, word_buf *w, ifn_token_vec *out) {
    if (w->len == 0) return IFN_OK;
    size_t mark = out->count, pos = 0;
    ifn_status st = IFN_OK;
    int ok = w->n_chars <= MAX_WORD_CHARS;
    while (ok && pos < w->len && st == IFN_OK) {
        size_t end = 0;
        int32_t id = longest_piece(vocab, w, pos, &end);
        if (id < 0 || (pos == 0 && end <= WORD_START_LEN)) {
            ok = 0;
            break;
        }
        st = ifn_token_vec_push(out, id);
        pos = end;
    }
    if (st == IFN_OK && !ok) {
        out->count = mark;
        st = push_unk(vocab, out);
    }
    w->len = 0;
    w->n_chars = 0;
    return st;
}

/* Normalizes one input character into the current word, or into a word of its own for
 * punctuation and CJK. */
static ifn_status add_char(const ifn_vocab *vocab, uint32_t cp, word_buf *w, ifn_token_vec *out) {
    utf8proc_int32_t parts[MAX_DECOMPOSED];
    int last_boundclass = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char((utf8proc_int32_t)cp, parts, MAX_DECOMPOSED,
                                                 UTF8PROC_DECOMPOSE, &last_boundclass);
    if (n < 0 || n > MAX_DECOMPOSED) {
        parts[0] = (utf8proc_int32_t)cp;
        n = 1;
    }
    int alone = is_cjk(cp);
    ifn_status st = IFN_OK;
    for (utf8proc_ssize_t i = 0; i < n && st == IFN_OK; i++) {
        uint32_t d = (uint32_t)parts[i];
        if (utf8proc_category(parts[i]) == UTF8PROC_CATEGORY_MN) continue;
        d = (uint32_t)utf8proc_tolower((utf8proc_int32_t)d);
        if (alone || is_punctuation(d)) {
            st = flush_word(vocab, w, out);
            if (st == IFN_OK) st = word_append(w, d);
            if (st == IFN_OK) st = flush_word(vocab, w, out);
        } else {
            st = word_append(w, d);
        }
    }
    if (st == IFN_OK && alone) st = flush_word(vocab, w, out);
    return st;
}

ifn_status ifn_wpm_encode(const ifn_vocab *vocab, const char *text, size_t len,
                          ifn_token_vec *out) {
    word_buf w = {0};
    ifn_status st = IFN_OK;
    size_t i = 0;
    while (i < len && st == IFN_OK) {
        uint32_t cp;
        int n = ifn_utf8_decode(text + i, len - i, &cp);
        if (n == 0) { /* invalid byte: a word of its own that cannot match */
            st = flush_word(vocab, &w, out);
            if (st == IFN_OK) st = push_unk(vocab, out);
            i++;
            continue;
        }
        i += (size_t)n;
        if (is_white_space(cp)) {
            st = flush_word(vocab, &w, out);
        } else if (!is_dropped(cp)) {
            st = add_char(vocab, cp, &w, out);
        }
    }
    if (st == IFN_OK) st = flush_word(vocab, &w, out);
    ifn_free(w.bytes);
    return st;
}
