/* Streaming detokenization: each push renders one token's piece, prepends the bytes held back
 * from earlier pushes, hands out the longest prefix of complete UTF-8 and keeps the (at most
 * three byte) incomplete tail. Bytes that can never become valid are replaced by U+FFFD, so the
 * output is always valid UTF-8. Uses only the public vocab API. */
#include "tokenizer/vocab.h"

#include <string.h>

#include "util/alloc.h"
#include "util/status.h"
#include "util/utf8.h"

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */
#define REPLACEMENT_LEN 3

/* is_first: 1 = nothing rendered yet, 2 = only a leading BOS so far, 0 = past the start. */
void ifn_detok_stream_init(ifn_detok_stream *stream, const ifn_vocab *vocab, int flags) {
    memset(stream, 0, sizeof *stream);
    stream->vocab = vocab;
    stream->flags = flags;
    stream->is_first = 1;
}

/* Length of the invalid run at s[0..len): a lead byte plus the continuation bytes it
 * announced (one U+FFFD for a truncated sequence), or a single stray byte. */
static size_t invalid_run(const unsigned char *s, size_t len) {
    int want = ifn_utf8_seq_len(s[0]);
    size_t n = 1;
    while (want > 1 && n < (size_t)want && n < len && (s[n] & 0xc0) == 0x80)
        n++;
    return n;
}

/* Bytes `emit_valid` writes for s[0..len). */
static size_t valid_size(const char *s, size_t len) {
    size_t i = 0, size = 0;
    while (i < len) {
        uint32_t cp;
        int n = ifn_utf8_decode(s + i, len - i, &cp);
        if (n > 0) {
            i += (size_t)n;
            size += (size_t)n;
        } else {
            i += invalid_run((const unsigned char *)s + i, len - i);
            size += REPLACEMENT_LEN;
        }
    }
    return size;
}

/* Copies s[0..len) to out, replacing invalid runs with U+FFFD; out has valid_size() room. */
static size_t emit_valid(const char *s, size_t len, char *out) {
    size_t i = 0, o = 0;
    while (i < len) {
        uint32_t cp;
        int n = ifn_utf8_decode(s + i, len - i, &cp);
        if (n > 0) {
            memcpy(out + o, s + i, (size_t)n);
            i += (size_t)n;
            o += (size_t)n;
        } else {
            i += invalid_run((const unsigned char *)s + i, len - i);
            memcpy(out + o, REPLACEMENT, REPLACEMENT_LEN);
            o += REPLACEMENT_LEN;
        }
    }
    return o;
}

/* Flags for this token's piece; advances the leading-space state. */
static int piece_flags(ifn_detok_stream *s, int32_t id) {
    int flags = s->flags & IFN_DETOKENIZE_RENDER_SPECIAL;
    int strip = (s->flags & IFN_DETOKENIZE_STRIP_LEADING) && ifn_vocab_adds_space_prefix(s->vocab);
    if (s->is_first == 1 && id == ifn_vocab_bos(s->vocab)) {
        s->is_first = 2;
        return flags;
    }
    if (s->is_first && strip) flags |= IFN_DETOKENIZE_STRIP_LEADING;
    s->is_first = 0;
    return flags;
}

static ifn_status render(ifn_detok_stream *s, int32_t id, char *work, size_t work_cap,
                         char **out_work, size_t *out_len) {
    ifn_detok_stream saved = *s;
    int flags = piece_flags(s, id);
    size_t room = work_cap - s->pending_len, len = 0;
    memcpy(work, s->pending, s->pending_len);
    ifn_status st =
        ifn_vocab_token_to_piece(s->vocab, id, flags, work + s->pending_len, room, &len);
    if (st == IFN_OK && len > room) {
        char *big = ifn_malloc(s->pending_len + len);
        if (!big) st = ifn_fail(IFN_E_NOMEM, "detok: no memory for a %zu-byte piece", len);
        if (st == IFN_OK) {
            memcpy(big, s->pending, s->pending_len);
            st = ifn_vocab_token_to_piece(s->vocab, id, flags, big + s->pending_len, len, &len);
            work = big;
        }
    }
    if (st != IFN_OK) {
        *s = saved;
        return st;
    }
    *out_work = work;
    *out_len = s->pending_len + len;
    return IFN_OK;
}

ifn_status ifn_detok_stream_push(ifn_detok_stream *stream, int32_t id, char *buf, size_t cap,
                                 size_t *out_len) {
    char local[512];
    char *work = NULL;
    size_t total = 0;
    ifn_detok_stream saved = *stream;
    ifn_status st = render(stream, id, local, sizeof local, &work, &total);
    if (st != IFN_OK) return st;
    size_t complete = ifn_utf8_complete_prefix(work, total);
    size_t need = valid_size(work, complete);
    if (need > cap || total - complete > sizeof stream->pending) {
        *stream = saved;
        st = ifn_fail(IFN_E_FULL, "detok: %zu bytes of output do not fit in %zu", need, cap);
    } else {
        *out_len = emit_valid(work, complete, buf);
        stream->pending_len = total - complete;
        memcpy(stream->pending, work + complete, stream->pending_len);
    }
    if (work != local) ifn_free(work);
    return st;
}

size_t ifn_detok_stream_flush(ifn_detok_stream *stream, char *buf, size_t cap) {
    char tmp[sizeof stream->pending * REPLACEMENT_LEN];
    size_t n = emit_valid(stream->pending, stream->pending_len, tmp);
    size_t keep = n; /* the tail is one invalid run, so trimming keeps whole characters */
    while (keep > cap)
        keep = keep > REPLACEMENT_LEN ? keep - REPLACEMENT_LEN : 0;
    if (keep > 0) memcpy(buf, tmp, keep);
    stream->pending_len = 0;
    return keep;
}
