/* Byte-level BPE: pre-tokenize (pretok.c), map each piece's bytes to GPT-2's printable code
 * points, then merge adjacent symbols lowest rank first (a binary heap over a linked list of
 * symbols, so long pieces cost O(n log n)). Symbols missing from the vocabulary fall back to
 * one token per byte; a byte with no token is dropped: encoding never fails on content.
 * Families without the byte mapping (Gemma 4 style) merge raw UTF-8 and fall back to <0xXX>. */
#include "tokenizer/bpe.h"

#include <stdio.h>
#include <string.h>

#include "tokenizer/pretok.h"
#include "util/alloc.h"
#include "util/hashmap.h"
#include "util/status.h"
#include "util/utf8.h"

struct ifn_bpe {
    const ifn_vocab *vocab; /* borrowed */
    ifn_pretok *pretok;
    const ifn_pretok_info *info; /* inside pretok */
    char *merge_pool;            /* every merge text, back to back; keys of `ranks` */
    ifn_hashmap *ranks;          /* "left right" -> rank (first occurrence wins) */
    int32_t byte_ids[256];       /* fallback token of each raw byte, -1 if none */
};

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the other 68 bytes
 * (0x00-0x20, 0x7F-0xA0, 0xAD) to U+0100.. in byte order. */
static uint32_t byte_to_cp(unsigned char b) {
    if ((b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae) return b;
    if (b <= 0x20) return 0x100 + b;
    if (b <= 0xa0) return 0x100 + 33 + (uint32_t)(b - 0x7f);
    return 0x100 + 67; /* 0xAD */
}

/* Inverse of byte_to_cp; -1 for code points outside the mapping. */
static int cp_to_byte(uint32_t cp) {
    if (cp < 0x100) {
        unsigned char b = (unsigned char)cp;
        return byte_to_cp(b) == cp ? (int)cp : -1;
    }
    if (cp <= 0x100 + 32) return (int)(cp - 0x100);
    if (cp <= 0x100 + 66) return (int)(cp - 0x100 - 33 + 0x7f);
    if (cp == 0x100 + 67) return 0xad;
    return -1;
}

void ifn_bpe_token_to_bytes(const char *token, size_t token_len, char *buf, size_t cap,
                            size_t *out_len) {
    size_t i = 0, o = 0;
    while (i < token_len) {
        uint32_t cp;
        int n = ifn_utf8_decode(token + i, token_len - i, &cp);
        int b = n > 0 ? cp_to_byte(cp) : -1;
        if (b >= 0) {
            if (o < cap) buf[o] = (char)b;
            o++;
        } else {
            size_t k = n > 0 ? (size_t)n : 1; /* copy unmapped characters (or a bad byte) */
            for (size_t j = 0; j < k; j++, o++) {
                if (o < cap) buf[o] = token[i + j];
            }
        }
        i += n > 0 ? (size_t)n : 1;
    }
    *out_len = o;
}

static ifn_status index_merges(ifn_bpe *bpe, const ifn_str *merges, int32_t n_merges) {
    size_t total = 0;
    for (int32_t i = 0; i < n_merges; i++)
        total += merges[i].len;
    bpe->merge_pool = ifn_malloc(total ? total : 1);
    if (!bpe->merge_pool) return ifn_fail(IFN_E_NOMEM, "bpe: no memory for %d merges", n_merges);
    ifn_status st = ifn_hashmap_create((size_t)n_merges, &bpe->ranks);
    if (st != IFN_OK) return st;
    size_t off = 0;
    for (int32_t i = 0; i < n_merges; i++) {
        const char *m = merges[i].ptr;
        size_t len = merges[i].len;
        /* llama.cpp splits at the first space after the first byte */
        if (len < 3 || !memchr(m + 1, ' ', len - 2)) {
            return ifn_fail(IFN_E_FORMAT, "bpe: merge %d ('%.*s') has no space", i,
                            (int)(len > 64 ? 64 : len), m);
        }
        memcpy(bpe->merge_pool + off, m, len);
        int32_t existing;
        if (!ifn_hashmap_get(bpe->ranks, bpe->merge_pool + off, len, &existing)) {
            st = ifn_hashmap_put(bpe->ranks, bpe->merge_pool + off, len, i);
            if (st != IFN_OK) return st;
        }
        off += len;
    }
    return IFN_OK;
}

/* Byte fallback ids: the mapped character of each byte, or "<0xXX>" without the mapping. */
static void index_byte_tokens(ifn_bpe *bpe) {
    for (int b = 0; b < 256; b++) {
        char text[8];
        int n;
        if (bpe->info->byte_encode) {
            n = ifn_utf8_encode(byte_to_cp((unsigned char)b), text);
        } else {
            n = snprintf(text, sizeof text, "<0x%02X>", b);
        }
        bpe->byte_ids[b] = ifn_vocab_find(bpe->vocab, text, (size_t)n);
    }
}

ifn_status ifn_bpe_create(const ifn_vocab *vocab, const char *pre, const ifn_str *merges,
                          int32_t n_merges, ifn_bpe **out_bpe) {
    ifn_status st;
    if (!vocab || n_merges < 0 || (n_merges > 0 && !merges)) {
        return ifn_fail(IFN_E_INVALID, "bpe: bad arguments");
    }
    ifn_bpe *bpe = ifn_calloc(1, sizeof *bpe);
    if (!bpe) return ifn_fail(IFN_E_NOMEM, "bpe: no memory");
    bpe->vocab = vocab;
    st = ifn_pretok_create(pre, &bpe->pretok);
    if (st != IFN_OK) goto out;
    bpe->info = ifn_pretok_get_info(bpe->pretok);
    st = index_merges(bpe, merges, n_merges);
    if (st != IFN_OK) goto out;
    index_byte_tokens(bpe);
    *out_bpe = bpe;
    bpe = NULL;
out:
    ifn_bpe_destroy(bpe);
    return st;
}

void ifn_bpe_destroy(ifn_bpe *bpe) {
    if (!bpe) return;
    ifn_pretok_destroy(bpe->pretok);
    ifn_hashmap_destroy(bpe->ranks);
    ifn_free(bpe->merge_pool);
    ifn_free(bpe);
}

/* One symbol of the word being merged: text[off..off+len) of the mapped word and the raw bytes
 * [raw_off, raw_off+raw_len) it stands for. len == 0 marks a symbol merged into its left. */
typedef struct symbol {
    uint32_t off, len;
    uint32_t raw_off, raw_len;
    int32_t prev, next;
} symbol;

/* A candidate merge of symbols left and left's next, valid while their lengths sum to size. */
typedef struct bigram {
    int32_t rank;
    int32_t left, right;
    uint32_t size;
} bigram;

/* Scratch buffers of one encode call, grown as needed and freed at its end. */
typedef struct work {
    char *word; /* mapped text of the current piece */
    size_t word_cap;
    symbol *syms;
    size_t syms_cap;
    bigram *heap;
    size_t heap_count, heap_cap;
    char *key; /* "left right" */
    size_t key_cap;
} work;

static void work_free(work *w) {
    ifn_free(w->word);
    ifn_free(w->syms);
    ifn_free(w->heap);
    ifn_free(w->key);
}

/* Grows *buf to hold n elements of size elem. */
static ifn_status reserve(void **buf, size_t *cap, size_t n, size_t elem) {
    if (n <= *cap) return IFN_OK;
    size_t want = *cap ? *cap : 64;
    while (want < n)
        want *= 2;
    size_t bytes;
    if (!ifn_mul_size(want, elem, &bytes)) return ifn_fail(IFN_E_NOMEM, "bpe: piece too long");
    void *p = ifn_realloc(*buf, bytes);
    if (!p) return ifn_fail(IFN_E_NOMEM, "bpe: no memory for a %zu-element buffer", n);
    *buf = p;
    *cap = want;
    return IFN_OK;
}

static int bigram_before(const bigram *a, const bigram *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

static ifn_status heap_push(work *w, bigram g) {
    ifn_status st = reserve((void **)&w->heap, &w->heap_cap, w->heap_count + 1, sizeof g);
    if (st != IFN_OK) return st;
    size_t i = w->heap_count++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!bigram_before(&g, &w->heap[parent])) break;
        w->heap[i] = w->heap[parent];
        i = parent;
    }
    w->heap[i] = g;
    return IFN_OK;
}

static bigram heap_pop(work *w) {
    bigram top = w->heap[0];
    bigram last = w->heap[--w->heap_count];
    size_t i = 0, n = w->heap_count;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && bigram_before(&w->heap[c + 1], &w->heap[c])) c++;
        if (!bigram_before(&w->heap[c], &last)) break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (n > 0) w->heap[i] = last;
    return top;
}

/* Queues the merge of `left` with its right neighbour if the merge table has it. */
static ifn_status try_bigram(const ifn_bpe *bpe, work *w, int32_t left) {
    if (left < 0) return IFN_OK;
    int32_t right = w->syms[left].next;
    if (right < 0) return IFN_OK;
    const symbol *l = &w->syms[left], *r = &w->syms[right];
    size_t key_len = (size_t)l->len + 1 + r->len;
    ifn_status st = reserve((void **)&w->key, &w->key_cap, key_len, 1);
    if (st != IFN_OK) return st;
    memcpy(w->key, w->word + l->off, l->len);
    w->key[l->len] = ' ';
    memcpy(w->key + l->len + 1, w->word + r->off, r->len);
    int32_t rank;
    if (!ifn_hashmap_get(bpe->ranks, w->key, key_len, &rank)) return IFN_OK;
    bigram g = {rank, left, right, l->len + r->len};
    return heap_push(w, g);
}

static ifn_status merge_symbols(const ifn_bpe *bpe, work *w, size_t n_syms) {
    ifn_status st = IFN_OK;
    w->heap_count = 0;
    for (size_t i = 0; i + 1 < n_syms && st == IFN_OK; i++)
        st = try_bigram(bpe, w, (int32_t)i);
    while (st == IFN_OK && w->heap_count > 0) {
        bigram g = heap_pop(w);
        symbol *l = &w->syms[g.left], *r = &w->syms[g.right];
        if (l->len == 0 || r->len == 0 || l->len + r->len != g.size) continue; /* stale */
        l->len += r->len;
        l->raw_len += r->raw_len;
        r->len = 0;
        l->next = r->next;
        if (r->next >= 0) w->syms[r->next].prev = g.left;
        st = try_bigram(bpe, w, l->prev);
        if (st == IFN_OK) st = try_bigram(bpe, w, g.left);
    }
    return st;
}

/* Pushes the byte fallback of raw bytes. A byte without a token is dropped, as llama.cpp does:
 * byte-level vocabularies often name EOS as their UNK, which must not appear mid-prompt. */
static ifn_status emit_bytes(const ifn_bpe *bpe, const unsigned char *raw, size_t n,
                             ifn_token_vec *out) {
    for (size_t i = 0; i < n; i++) {
        int32_t id = bpe->byte_ids[raw[i]];
        if (id < 0) continue;
        ifn_status st = ifn_token_vec_push(out, id);
        if (st != IFN_OK) return st;
    }
    return IFN_OK;
}

static ifn_status emit_symbols(const ifn_bpe *bpe, const work *w, const char *raw,
                               ifn_token_vec *out) {
    for (int32_t i = 0; i >= 0; i = w->syms[i].next) {
        const symbol *s = &w->syms[i];
        int32_t id = ifn_vocab_find(bpe->vocab, w->word + s->off, s->len);
        ifn_status st =
            id >= 0 ? ifn_token_vec_push(out, id)
                    : emit_bytes(bpe, (const unsigned char *)raw + s->raw_off, s->raw_len, out);
        if (st != IFN_OK) return st;
    }
    return IFN_OK;
}

/* Fills w->word and w->syms from a raw piece: one symbol per byte with the byte mapping, one
 * per UTF-8 character (or invalid byte) without it. Returns the symbol count in *out_n. */
static ifn_status build_symbols(const ifn_bpe *bpe, work *w, const char *raw, size_t len,
                                size_t *out_n) {
    ifn_status st = reserve((void **)&w->word, &w->word_cap, len * 2 + 1, 1);
    if (st == IFN_OK) st = reserve((void **)&w->syms, &w->syms_cap, len, sizeof(symbol));
    if (st != IFN_OK) return st;
    size_t n = 0, o = 0, i = 0;
    while (i < len) {
        size_t raw_n = 1, text_n;
        if (bpe->info->byte_encode) {
            text_n = (size_t)ifn_utf8_encode(byte_to_cp((unsigned char)raw[i]), w->word + o);
        } else {
            uint32_t cp;
            int k = ifn_utf8_decode(raw + i, len - i, &cp);
            raw_n = k > 0 ? (size_t)k : 1;
            memcpy(w->word + o, raw + i, raw_n);
            text_n = raw_n;
        }
        symbol s = {(uint32_t)o,     (uint32_t)text_n, (uint32_t)i,
                    (uint32_t)raw_n, (int32_t)n - 1,   (int32_t)n + 1};
        w->syms[n++] = s;
        o += text_n;
        i += raw_n;
    }
    if (n > 0) w->syms[n - 1].next = -1;
    *out_n = n;
    return IFN_OK;
}

/* A piece emitted as one token without merging (ignore_merges, or Gemma's newline runs). */
static int32_t whole_piece_id(const ifn_bpe *bpe, const work *w, size_t n_syms) {
    const symbol *last = &w->syms[n_syms - 1];
    size_t len = (size_t)last->off + last->len;
    int take = bpe->info->ignore_merges;
    if (!take && !bpe->info->byte_encode) {
        take = 1;
        for (size_t i = 0; i < len; i++)
            take &= w->word[i] == '\n';
    }
    return take ? ifn_vocab_find(bpe->vocab, w->word, len) : -1;
}

static ifn_status encode_piece(const ifn_bpe *bpe, work *w, const char *raw, size_t len,
                               ifn_token_vec *out) {
    size_t n_syms;
    if (len > UINT32_MAX / 2) return ifn_fail(IFN_E_INVALID, "bpe: piece of %zu bytes", len);
    ifn_status st = build_symbols(bpe, w, raw, len, &n_syms);
    if (st != IFN_OK || n_syms == 0) return st;
    int32_t whole = whole_piece_id(bpe, w, n_syms);
    if (whole >= 0) return ifn_token_vec_push(out, whole);
    st = merge_symbols(bpe, w, n_syms);
    if (st != IFN_OK) return st;
    return emit_symbols(bpe, w, raw, out);
}

/* Spaces to U+2581 for families that escape whitespace; *out_text is text itself otherwise. */
static ifn_status escape_spaces(const char *text, size_t len, char **out_buf, size_t *out_len) {
    size_t n_spaces = 0;
    for (size_t i = 0; i < len; i++)
        n_spaces += text[i] == ' ';
    char *buf = ifn_malloc(len + 2 * n_spaces + 1);
    if (!buf) return ifn_fail(IFN_E_NOMEM, "bpe: no memory to escape %zu bytes", len);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(buf + o, "\xe2\x96\x81", 3);
            o += 3;
        } else {
            buf[o++] = text[i];
        }
    }
    *out_buf = buf;
    *out_len = o;
    return IFN_OK;
}

ifn_status ifn_bpe_encode(const ifn_bpe *bpe, const char *text, size_t len, ifn_token_vec *out) {
    ifn_status st = IFN_OK;
    char *escaped = NULL;
    ifn_pretok_pieces pieces = {0};
    work w = {0};
    if (len == 0) return IFN_OK;
    if (bpe->info->escape_whitespaces) {
        st = escape_spaces(text, len, &escaped, &len);
        if (st != IFN_OK) goto out;
        text = escaped;
    }
    st = ifn_pretok_split(bpe->pretok, text, len, &pieces);
    for (size_t i = 0; i < pieces.count && st == IFN_OK; i++) {
        st = encode_piece(bpe, &w, text + pieces.items[i].offset, pieces.items[i].len, out);
    }
out:
    work_free(&w);
    ifn_pretok_pieces_free(&pieces);
    ifn_free(escaped);
    return st;
}
