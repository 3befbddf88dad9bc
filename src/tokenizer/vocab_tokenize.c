/* Text to token ids. Splits the text on special tokens the way llama.cpp's
 * tokenizer_st_partition does (each special token in turn, longest first, claims its leftmost
 * non-overlapping occurrences in text no earlier token claimed), adds BOS/EOS (CLS/SEP for WPM),
 * applies SentencePiece's space handling and hands each plain fragment to spm.c, bpe.c or wpm.c.
 * Occurrences are found in one trie walk, so the cost does not grow with the special count. */
#include "tokenizer/vocab.h"

#include <stdlib.h>
#include <string.h>

#include "tokenizer/spm.h"
#include "tokenizer/vocab_internal.h"
#include "tokenizer/wpm.h"
#include "util/alloc.h"
#include "util/status.h"

#define SPACE_MARK "\xe2\x96\x81"
#define SPACE_MARK_LEN 3

/* ---- matcher construction ---------------------------------------------------------------- */

typedef struct special_key {
    size_t len;
    int32_t id;
} special_key;

static int compare_special(const void *a, const void *b) {
    const special_key *x = a, *y = b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static int is_special_type(unsigned char type) {
    return type == IFN_TOKEN_TYPE_CONTROL || type == IFN_TOKEN_TYPE_USER_DEFINED ||
           type == IFN_TOKEN_TYPE_UNKNOWN;
}

static ifn_status new_node(ifn_vocab *v, int32_t *capacity, unsigned char byte, int32_t *out) {
    if (v->n_trie == *capacity) {
        int32_t cap = *capacity ? *capacity * 2 : 256;
        ifn_vocab_trie_node *nodes = ifn_realloc(v->trie, (size_t)cap * sizeof *nodes);
        if (!nodes) return ifn_fail(IFN_E_NOMEM, "vocab: no memory for the special-token trie");
        v->trie = nodes;
        *capacity = cap;
    }
    v->trie[v->n_trie] = (ifn_vocab_trie_node){-1, -1, -1, byte};
    *out = v->n_trie++;
    return IFN_OK;
}

static int32_t find_child(const ifn_vocab *v, int32_t node, unsigned char byte) {
    int32_t child = v->trie[node].first_child;
    while (child >= 0 && v->trie[child].byte != byte)
        child = v->trie[child].next_sibling;
    return child;
}

static ifn_status trie_insert(ifn_vocab *v, int32_t *capacity, ifn_str text, int32_t rank) {
    const unsigned char *s = (const unsigned char *)text.ptr;
    ifn_status st;
    int32_t node = v->trie_root[s[0]];
    if (node < 0) {
        if ((st = new_node(v, capacity, s[0], &node)) != IFN_OK) return st;
        v->trie_root[s[0]] = node;
    }
    for (size_t i = 1; i < text.len; i++) {
        int32_t child = find_child(v, node, s[i]);
        if (child < 0) {
            if ((st = new_node(v, capacity, s[i], &child)) != IFN_OK) return st;
            v->trie[child].next_sibling = v->trie[node].first_child;
            v->trie[node].first_child = child;
        }
        node = child;
    }
    if (v->trie[node].rank < 0) v->trie[node].rank = rank; /* an earlier rank wins */
    return IFN_OK;
}

ifn_status ifn_vocab_tokenize_build_matcher(ifn_vocab *v) {
    for (int i = 0; i < 256; i++)
        v->trie_root[i] = -1;
    int32_t n = 0, capacity = 0;
    for (int32_t id = 0; id < v->n_tokens; id++)
        n += is_special_type(v->types[id]);
    if (n == 0) return IFN_OK;
    special_key *keys = ifn_malloc((size_t)n * sizeof *keys);
    v->special_ids = ifn_malloc((size_t)n * sizeof *v->special_ids);
    if (!keys || !v->special_ids) {
        ifn_free(keys);
        return ifn_fail(IFN_E_NOMEM, "vocab: no memory for %d special tokens", (int)n);
    }
    int32_t k = 0;
    for (int32_t id = 0; id < v->n_tokens; id++)
        if (is_special_type(v->types[id])) keys[k++] = (special_key){v->texts[id].len, id};
    qsort(keys, (size_t)n, sizeof *keys, compare_special);
    ifn_status st = IFN_OK;
    for (int32_t i = 0; i < n && st == IFN_OK; i++) {
        v->special_ids[i] = keys[i].id;
        st = trie_insert(v, &capacity, v->texts[keys[i].id], i);
    }
    v->n_special = n;
    ifn_free(keys);
    return st;
}

/* ---- splitting on special tokens --------------------------------------------------------- */

typedef struct match {
    size_t pos;
    int32_t rank;
} match;

typedef struct match_list {
    match *items;
    size_t count, capacity;
} match_list;

typedef struct fragment {
    size_t start, len;
    int32_t id; /* the special token, or -1 for plain text */
} fragment;

static ifn_status push_match(match_list *list, size_t pos, int32_t rank) {
    if (list->count == list->capacity) {
        size_t cap = list->capacity ? list->capacity * 2 : 64, bytes;
        if (!ifn_mul_size(cap, sizeof(match), &bytes))
            return ifn_fail(IFN_E_NOMEM, "vocab: too many special-token matches");
        match *items = ifn_realloc(list->items, bytes);
        if (!items) return ifn_fail(IFN_E_NOMEM, "vocab: no memory for special-token matches");
        list->items = items;
        list->capacity = cap;
    }
    list->items[list->count++] = (match){pos, rank};
    return IFN_OK;
}

/* Without PARSE_SPECIAL only user-defined tokens split the text (llama.cpp does the same,
 * following Hugging Face tokenizers, which pre-tokenize added tokens first). */
static int may_match(const ifn_vocab *v, int32_t rank, int parse_special) {
    return parse_special || v->types[v->special_ids[rank]] == IFN_TOKEN_TYPE_USER_DEFINED;
}

/* Every occurrence of every matchable special token, as (start, rank). */
static ifn_status find_matches(const ifn_vocab *v, const char *text, size_t len, int parse_special,
                               match_list *list) {
    const unsigned char *s = (const unsigned char *)text;
    for (size_t pos = 0; pos < len; pos++) {
        int32_t node = v->trie_root[s[pos]];
        for (size_t k = pos; node >= 0;) {
            int32_t rank = v->trie[node].rank;
            if (rank >= 0 && may_match(v, rank, parse_special)) {
                ifn_status st = push_match(list, pos, rank);
                if (st != IFN_OK) return st;
            }
            if (++k == len) break;
            node = find_child(v, node, s[k]);
        }
    }
    return IFN_OK;
}

static int compare_rank_pos(const void *a, const void *b) {
    const match *x = a, *y = b;
    if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

static int compare_pos(const void *a, const void *b) {
    const match *x = a, *y = b;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

static int range_free(const unsigned char *bits, size_t start, size_t n) {
    for (size_t i = start; i < start + n; i++)
        if (bits[i >> 3] & (1u << (i & 7))) return 0;
    return 1;
}

static void claim_range(unsigned char *bits, size_t start, size_t n) {
    for (size_t i = start; i < start + n; i++)
        bits[i >> 3] |= (unsigned char)(1u << (i & 7));
}

/* Keeps, in rank order, each match that lies wholly in text no earlier match claimed: the
 * same result as llama.cpp's fragment-by-fragment search. Leaves them sorted by position. */
static ifn_status select_matches(const ifn_vocab *v, size_t len, match_list *list) {
    unsigned char *bits = ifn_calloc(len / 8 + 1, 1);
    if (!bits) return ifn_fail(IFN_E_NOMEM, "vocab: no memory to split %zu bytes", len);
    qsort(list->items, list->count, sizeof(match), compare_rank_pos);
    size_t kept = 0;
    for (size_t i = 0; i < list->count; i++) {
        match m = list->items[i];
        size_t n = v->texts[v->special_ids[m.rank]].len;
        if (!range_free(bits, m.pos, n)) continue;
        claim_range(bits, m.pos, n);
        list->items[kept++] = m;
    }
    list->count = kept;
    qsort(list->items, kept, sizeof(match), compare_pos);
    ifn_free(bits);
    return IFN_OK;
}

static ifn_status split_specials(const ifn_vocab *v, const char *text, size_t len,
                                 int parse_special, fragment **out, size_t *out_count) {
    match_list list = {0};
    fragment *frags = NULL;
    size_t n = 0, at = 0;
    ifn_status st = IFN_OK;
    if (v->n_special > 0) st = find_matches(v, text, len, parse_special, &list);
    if (st == IFN_OK && list.count > 0) st = select_matches(v, len, &list);
    if (st != IFN_OK) goto out;
    frags = ifn_malloc((2 * list.count + 1) * sizeof *frags);
    if (!frags) {
        st = ifn_fail(IFN_E_NOMEM, "vocab: no memory for text fragments");
        goto out;
    }
    for (size_t i = 0; i < list.count; i++) {
        match m = list.items[i];
        if (m.pos > at) frags[n++] = (fragment){at, m.pos - at, -1};
        int32_t id = v->special_ids[m.rank];
        frags[n++] = (fragment){m.pos, v->texts[id].len, id};
        at = m.pos + v->texts[id].len;
    }
    if (at < len) frags[n++] = (fragment){at, len - at, -1};
    *out = frags;
    *out_count = n;
out:
    ifn_free(list.items);
    return st;
}

/* ---- encoding ---------------------------------------------------------------------------- */

typedef struct scratch {
    char *buf;
    size_t cap;
} scratch;

/* SentencePiece: optional leading space, then every space becomes U+2581. */
static ifn_status encode_spm(const ifn_vocab *v, const char *text, size_t len, int add_prefix,
                             scratch *tmp, ifn_token_vec *out) {
    size_t need;
    if (!ifn_mul_size(len + 1, SPACE_MARK_LEN, &need))
        return ifn_fail(IFN_E_NOMEM, "vocab: text of %zu bytes is too long", len);
    if (need > tmp->cap) {
        char *buf = ifn_realloc(tmp->buf, need);
        if (!buf) return ifn_fail(IFN_E_NOMEM, "vocab: no memory for %zu bytes", need);
        tmp->buf = buf;
        tmp->cap = need;
    }
    size_t n = 0;
    if (add_prefix) {
        memcpy(tmp->buf, SPACE_MARK, SPACE_MARK_LEN);
        n = SPACE_MARK_LEN;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(tmp->buf + n, SPACE_MARK, SPACE_MARK_LEN);
            n += SPACE_MARK_LEN;
        } else {
            tmp->buf[n++] = text[i];
        }
    }
    return ifn_spm_encode(v, tmp->buf, n, out);
}

static ifn_status encode_fragments(const ifn_vocab *v, const char *text, const fragment *frags,
                                   size_t n_frags, ifn_token_vec *out) {
    scratch tmp = {NULL, 0};
    int is_prev_special = 1; /* SPM prefixes a space at the start and after special tokens */
    ifn_status st = IFN_OK;
    for (size_t i = 0; i < n_frags && st == IFN_OK; i++) {
        const fragment *f = &frags[i];
        if (f->id >= 0) {
            st = ifn_token_vec_push(out, f->id);
            is_prev_special = 1;
            continue;
        }
        const char *s = text + f->start;
        if (v->kind == IFN_VOCAB_SPM)
            st = encode_spm(v, s, f->len, v->add_space_prefix && is_prev_special, &tmp, out);
        else if (v->kind == IFN_VOCAB_BPE)
            st = ifn_bpe_encode(v->bpe, s, f->len, out);
        else
            st = ifn_wpm_encode(v, s, f->len, out);
        is_prev_special = 0;
    }
    ifn_free(tmp.buf);
    return st;
}

/* WPM frames the text with CLS ... SEP whenever special tokens are asked for (llama.cpp). */
static int32_t leading_special(const ifn_vocab *v) {
    if (v->kind == IFN_VOCAB_WPM) return v->cls_id;
    return v->add_bos ? v->bos_id : -1;
}

static int32_t trailing_special(const ifn_vocab *v) {
    if (v->kind == IFN_VOCAB_WPM) return v->sep_id;
    return v->add_eos ? v->eos_id : -1;
}

ifn_status ifn_vocab_tokenize(const ifn_vocab *vocab, const char *text, size_t len, int flags,
                              ifn_token_vec *out) {
    if (!text && len > 0) return ifn_fail(IFN_E_INVALID, "vocab: NULL text of %zu bytes", len);
    int add_special = (flags & IFN_TOKENIZE_ADD_SPECIAL) != 0;
    size_t n_frags = 0, start_count = out->count;
    fragment *frags = NULL;
    ifn_status st = IFN_OK;
    if (len > 0)
        st = split_specials(vocab, text, len, flags & IFN_TOKENIZE_PARSE_SPECIAL, &frags, &n_frags);
    if (st == IFN_OK && add_special && leading_special(vocab) >= 0)
        st = ifn_token_vec_push(out, leading_special(vocab));
    if (st == IFN_OK) st = encode_fragments(vocab, text, frags, n_frags, out);
    if (st == IFN_OK && add_special && trailing_special(vocab) >= 0)
        st = ifn_token_vec_push(out, trailing_special(vocab));
    ifn_free(frags);
    if (st != IFN_OK) out->count = start_count; /* the caller's earlier ids stay */
    return st;
}
