/* SentencePiece BPE as llama.cpp runs it: the text is cut into UTF-8 characters (an invalid
 * byte is a character of its own), every adjacent pair whose concatenation is a token goes into
 * a max-heap keyed by (score, leftmost), and the best pair merges until none is left. Stale heap
 * entries are recognised by their size. Symbols that are not tokens fall back to <0xNN> byte
 * tokens, or UNK when the vocab has none. O(n log n); chunks that cannot merge with each other
 * run separately so the heap stays small and in cache. */
#include "tokenizer/spm.h"

#include <string.h>

#include "tokenizer/vocab_internal.h"
#include "util/alloc.h"
#include "util/status.h"
#include "util/utf8.h"

typedef struct symbol {
    size_t start; /* byte offset in the text */
    int32_t prev; /* -1 at the ends */
    int32_t next;
    uint32_t len; /* bytes; 0 once merged into the left neighbour */
} symbol;

typedef struct bigram {
    float score;
    int32_t left;
    int32_t right;
    uint32_t len; /* combined length when queued; differs once either side changed */
} bigram;

typedef struct heap {
    bigram *items;
    size_t count, capacity;
} heap;

typedef struct session {
    const ifn_vocab *vocab;
    const char *text;
    symbol *symbols;
    heap queue;
} session;

/* Higher score first, then the leftmost pair. */
static int comes_first(const bigram *a, const bigram *b) {
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static ifn_status heap_push(heap *h, bigram item) {
    if (h->count == h->capacity) {
        size_t cap = h->capacity ? h->capacity * 2 : 64, bytes;
        if (!ifn_mul_size(cap, sizeof(bigram), &bytes))
            return ifn_fail(IFN_E_NOMEM, "spm: merge queue too large");
        bigram *items = ifn_realloc(h->items, bytes);
        if (!items) return ifn_fail(IFN_E_NOMEM, "spm: no memory for %zu queued merges", cap);
        h->items = items;
        h->capacity = cap;
    }
    size_t i = h->count++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!comes_first(&item, &h->items[parent])) break;
        h->items[i] = h->items[parent];
        i = parent;
    }
    h->items[i] = item;
    return IFN_OK;
}

static bigram heap_pop(heap *h) {
    bigram top = h->items[0];
    bigram last = h->items[--h->count];
    size_t i = 0, n = h->count;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && comes_first(&h->items[child + 1], &h->items[child])) child++;
        if (!comes_first(&h->items[child], &last)) break;
        h->items[i] = h->items[child];
        i = child;
    }
    if (n > 0) h->items[i] = last;
    return top;
}

/* Queues (left, right) if their concatenation is a token. */
static ifn_status try_add_bigram(session *s, int32_t left, int32_t right) {
    if (left < 0 || right < 0) return IFN_OK;
    const symbol *l = &s->symbols[left], *r = &s->symbols[right];
    size_t len = (size_t)l->len + r->len;
    int32_t id = ifn_vocab_find(s->vocab, s->text + l->start, len);
    if (id < 0) return IFN_OK;
    bigram b = {s->vocab->scores[id], left, right, (uint32_t)len};
    return heap_push(&s->queue, b);
}

/* Bytes of the character at s[0..len): a valid UTF-8 sequence, else one byte. llama.cpp trusts
 * the lead byte instead, which can swallow the next characters of invalid text (even the escaped
 * spaces) into byte tokens and lose them; on valid UTF-8 the two agree. */
static size_t char_len(const char *s, size_t len) {
    uint32_t cp;
    int n = ifn_utf8_decode(s, len, &cp);
    return n > 0 ? (size_t)n : 1;
}

static ifn_status split_chars(session *s, size_t len, int32_t *out_count) {
    size_t n = 0;
    for (size_t off = 0; off < len; n++)
        off += char_len(s->text + off, len - off);
    if (n > (size_t)INT32_MAX - 1)
        return ifn_fail(IFN_E_INVALID, "spm: text of %zu characters is too long", n);
    s->symbols = ifn_malloc(n * sizeof *s->symbols);
    if (!s->symbols) return ifn_fail(IFN_E_NOMEM, "spm: no memory for %zu characters", n);
    size_t off = 0;
    for (int32_t i = 0; i < (int32_t)n; i++) {
        size_t step = char_len(s->text + off, len - off);
        s->symbols[i] = (symbol){off, i - 1, i + 1 == (int32_t)n ? -1 : i + 1, (uint32_t)step};
        off += step;
    }
    *out_count = (int32_t)n;
    return IFN_OK;
}

/* Merges symbols [first, last] until no adjacent pair forms a token. */
static ifn_status merge_chunk(session *s, int32_t first, int32_t last) {
    ifn_status st = IFN_OK;
    s->symbols[first].prev = -1;
    s->symbols[last].next = -1;
    s->queue.count = 0;
    for (int32_t i = first + 1; i <= last && st == IFN_OK; i++)
        st = try_add_bigram(s, i - 1, i);
    while (s->queue.count > 0 && st == IFN_OK) {
        bigram b = heap_pop(&s->queue);
        symbol *left = &s->symbols[b.left], *right = &s->symbols[b.right];
        if (left->len == 0 || right->len == 0 || left->len + right->len != b.len) continue;
        left->len += right->len;
        right->len = 0;
        left->next = right->next;
        if (right->next >= 0) s->symbols[right->next].prev = b.left;
        st = try_add_bigram(s, left->prev, b.left);
        if (st == IFN_OK) st = try_add_bigram(s, b.left, left->next);
    }
    return st;
}

static ifn_status emit_bytes(const ifn_vocab *v, const char *bytes, size_t len,
                             ifn_token_vec *out) {
    for (size_t i = 0; i < len; i++) {
        int32_t id = v->byte_ids[(unsigned char)bytes[i]];
        if (id < 0) id = v->unk_id;
        if (id < 0) continue; /* neither byte tokens nor UNK: the byte cannot be represented */
        ifn_status st = ifn_token_vec_push(out, id);
        if (st != IFN_OK) return st;
    }
    return IFN_OK;
}

static ifn_status emit_chunk(const session *s, int32_t first, ifn_token_vec *out) {
    ifn_status st = IFN_OK;
    for (int32_t i = first; i != -1 && st == IFN_OK; i = s->symbols[i].next) {
        const symbol *sym = &s->symbols[i];
        const char *piece = s->text + sym->start;
        int32_t id = ifn_vocab_find(s->vocab, piece, sym->len);
        if (id >= 0)
            st = ifn_token_vec_push(out, id);
        else
            st = emit_bytes(s->vocab, piece, sym->len, out);
    }
    return st;
}

/* The two Bloom-filter bits of a character pair. */
static void pair_bits(const ifn_vocab *v, const char *pair, size_t len, size_t *a, size_t *b) {
    uint64_t h = ifn_hash_bytes(pair, len);
    *a = (size_t)h & v->spm_pair_mask;
    *b = (size_t)(h >> 32) & v->spm_pair_mask;
}

static int has_bit(const uint64_t *bits, size_t i) {
    return (bits[i >> 6] >> (i & 63)) & 1;
}

/* 0 only if characters i and i + 1 are adjacent in no token. Then no merge can ever join them
 * (every merge result is a token), so the text splits there into chunks that merge
 * independently: the result is unchanged and each heap stays small and in cache. */
static int may_join(const session *s, int32_t i) {
    const symbol *a = &s->symbols[i], *b = &s->symbols[i + 1];
    size_t x, y;
    pair_bits(s->vocab, s->text + a->start, (size_t)a->len + b->len, &x, &y);
    return has_bit(s->vocab->spm_pair_bits, x) && has_bit(s->vocab->spm_pair_bits, y);
}

ifn_status ifn_spm_encode(const ifn_vocab *vocab, const char *text, size_t len,
                          ifn_token_vec *out) {
    if (len == 0) return IFN_OK;
    session s = {vocab, text, NULL, {NULL, 0, 0}};
    int32_t n = 0;
    size_t start_count = out->count;
    ifn_status st = split_chars(&s, len, &n);
    for (int32_t first = 0, i = 0; i < n && st == IFN_OK; i++) {
        if (i + 1 < n && may_join(&s, i)) continue;
        st = merge_chunk(&s, first, i);
        if (st == IFN_OK) st = emit_chunk(&s, first, out);
        first = i + 1;
    }
    if (st != IFN_OK) out->count = start_count;
    ifn_free(s.queue.items);
    ifn_free(s.symbols);
    return st;
}

/* Calls visit(v, pair, len) for each pair of adjacent characters inside each token text;
 * returns the number of pairs. */
static size_t each_pair(ifn_vocab *v, void (*visit)(ifn_vocab *, const char *, size_t)) {
    size_t count = 0;
    for (int32_t id = 0; id < v->n_tokens; id++) {
        ifn_str t = v->texts[id];
        size_t prev = char_len(t.ptr, t.len);
        for (size_t at = prev; at < t.len; at += prev, count++) {
            size_t cur = char_len(t.ptr + at, t.len - at);
            if (visit) visit(v, t.ptr + at - prev, prev + cur);
            prev = cur;
        }
    }
    return count;
}

static void set_pair(ifn_vocab *v, const char *pair, size_t len) {
    size_t a, b;
    pair_bits(v, pair, len, &a, &b);
    v->spm_pair_bits[a >> 6] |= 1ull << (a & 63);
    v->spm_pair_bits[b >> 6] |= 1ull << (b & 63);
}

/* About 8 bits per pair with two probes: a few percent false positives, which only cost a
 * missed split, never a wrong result. */
ifn_status ifn_spm_index_pairs(ifn_vocab *v) {
    size_t n_pairs = each_pair(v, NULL), n_bits = 1024;
    while (n_bits < n_pairs * 8 && n_bits < ((size_t)1 << 32))
        n_bits *= 2;
    v->spm_pair_bits = ifn_calloc(n_bits / 64, sizeof *v->spm_pair_bits);
    if (!v->spm_pair_bits)
        return ifn_fail(IFN_E_NOMEM, "spm: no memory for the pair filter (%zu bits)", n_bits);
    v->spm_pair_mask = n_bits - 1;
    each_pair(v, set_pair);
    return IFN_OK;
}
