/* Stop-string matcher: one Knuth-Morris-Pratt automaton per stop string, fed byte by byte
 * across pushes. Each automaton's state is the length of the longest suffix of all text seen
 * that is a prefix of its string; the largest state is exactly what must be held back.
 * Invariant: the held bytes (buf[emitted..buf_len)) cover every automaton's state. */
#include "engine/stop.h"

#include <string.h>

#include "util/alloc.h"
#include "util/status.h"
#include "util/utf8.h"

typedef struct stop_string {
    char *text;
    size_t len;
    size_t *fail; /* [len] fail[i]: longest proper border of text[0..i] (KMP failure function) */
    size_t state; /* < len: longest suffix of the text so far that is a prefix of `text` */
} stop_string;

struct ifn_stop_matcher {
    stop_string *stops; /* [n_stops] */
    int32_t n_stops;
    char *buf;      /* [buf_cap] released bytes of the last call, then the held bytes */
    size_t buf_len; /* bytes in buf */
    size_t buf_cap;
    size_t emitted; /* buf[0..emitted) was handed out by the last call */
    bool is_stopped;
    int32_t stop_index;
};

static void build_failure(stop_string *s) {
    size_t k = 0;
    s->fail[0] = 0;
    for (size_t i = 1; i < s->len; i++) {
        while (k > 0 && s->text[i] != s->text[k])
            k = s->fail[k - 1];
        if (s->text[i] == s->text[k]) k++;
        s->fail[i] = k;
    }
}

static size_t kmp_step(const stop_string *s, size_t state, char c) {
    while (state > 0 && s->text[state] != c)
        state = s->fail[state - 1];
    if (s->text[state] == c) state++;
    return state;
}

static ifn_status copy_stops(ifn_stop_matcher *m, const ifn_str *stops) {
    for (int32_t i = 0; i < m->n_stops; i++) {
        stop_string *s = &m->stops[i];
        if (!stops[i].ptr || stops[i].len == 0)
            return ifn_fail(IFN_E_INVALID, "stop: stop string %d is empty", i);
        s->len = stops[i].len;
        s->text = ifn_strndup(stops[i].ptr, s->len);
        s->fail = ifn_calloc(s->len, sizeof *s->fail);
        if (!s->text || !s->fail) return ifn_fail(IFN_E_NOMEM, "stop: no memory");
        build_failure(s);
    }
    return IFN_OK;
}

ifn_status ifn_stop_matcher_create(const ifn_str *stops, int32_t n_stops,
                                   ifn_stop_matcher **out_matcher) {
    ifn_status st = IFN_OK;
    ifn_stop_matcher *m = NULL;
    if (n_stops < 0 || (n_stops > 0 && !stops)) {
        st = ifn_fail(IFN_E_INVALID, "stop: bad stop list (n=%d)", n_stops);
        goto out;
    }
    m = ifn_calloc(1, sizeof *m);
    if (!m || (n_stops > 0 && !(m->stops = ifn_calloc((size_t)n_stops, sizeof *m->stops)))) {
        st = ifn_fail(IFN_E_NOMEM, "stop: no memory");
        goto out;
    }
    m->n_stops = n_stops;
    st = copy_stops(m, stops);
    if (st != IFN_OK) goto out;
    ifn_stop_matcher_reset(m);
    *out_matcher = m;
    m = NULL;
out:
    ifn_stop_matcher_destroy(m);
    return st;
}

void ifn_stop_matcher_destroy(ifn_stop_matcher *m) {
    if (!m) return;
    for (int32_t i = 0; i < m->n_stops; i++) {
        ifn_free(m->stops[i].text);
        ifn_free(m->stops[i].fail);
    }
    ifn_free(m->stops);
    ifn_free(m->buf);
    ifn_free(m);
}

static void clear_states(ifn_stop_matcher *m) {
    for (int32_t i = 0; i < m->n_stops; i++)
        m->stops[i].state = 0;
}

void ifn_stop_matcher_reset(ifn_stop_matcher *m) {
    clear_states(m);
    m->buf_len = 0;
    m->emitted = 0;
    m->is_stopped = false;
    m->stop_index = -1;
}

size_t ifn_stop_matcher_held_bytes(const ifn_stop_matcher *m) {
    return m->is_stopped ? 0 : m->buf_len - m->emitted;
}

static void fill_result(const ifn_stop_matcher *m, size_t from, size_t len, ifn_stop_result *out) {
    out->emit = m->buf ? m->buf + from : "";
    out->emit_len = len;
    out->is_stopped = m->is_stopped;
    out->stop_index = m->stop_index;
}

/* Drops the bytes released last time and makes room for `len` more after the held ones. */
static ifn_status make_room(ifn_stop_matcher *m, size_t len) {
    size_t held = m->buf_len - m->emitted;
    if (m->emitted > 0) memmove(m->buf, m->buf + m->emitted, held);
    m->buf_len = held;
    m->emitted = 0;
    if (m->buf && len <= m->buf_cap - held) return IFN_OK;
    if (len > SIZE_MAX / 2 - held) return ifn_fail(IFN_E_NOMEM, "stop: text too long");
    size_t cap = m->buf_cap > 0 ? m->buf_cap : 256;
    while (cap < held + len)
        cap *= 2;
    char *grown = ifn_realloc(m->buf, cap);
    if (!grown) return ifn_fail(IFN_E_NOMEM, "stop: no memory for %zu bytes", cap);
    m->buf = grown;
    m->buf_cap = cap;
    return IFN_OK;
}

/* Feeds buf[from..buf_len) to every automaton. Stops at the first byte that completes a stop
 * string, sets the match (longest string wins a tie) and returns the index where it starts;
 * returns buf_len when nothing matched. */
static size_t scan(ifn_stop_matcher *m, size_t from) {
    for (size_t pos = from; pos < m->buf_len; pos++) {
        int32_t best = -1;
        for (int32_t i = 0; i < m->n_stops; i++) {
            stop_string *s = &m->stops[i];
            s->state = kmp_step(s, s->state, m->buf[pos]);
            if (s->state == s->len && (best < 0 || s->len > m->stops[best].len)) best = i;
        }
        if (best >= 0) {
            m->is_stopped = true;
            m->stop_index = best;
            return pos + 1 - m->stops[best].len;
        }
    }
    return m->buf_len;
}

/* How many leading bytes of buf may be released: all but the longest possible stop-string
 * prefix at the end, and never the start of a UTF-8 sequence the next piece may complete. */
static size_t releasable(const ifn_stop_matcher *m) {
    size_t hold = 0;
    for (int32_t i = 0; i < m->n_stops; i++)
        if (m->stops[i].state > hold) hold = m->stops[i].state;
    size_t n = m->buf_len - hold;
    /* An incomplete sequence is at most 3 bytes, so its lead byte is among the last 3. */
    size_t tail = n > 3 ? n - 3 : 0;
    return tail + ifn_utf8_complete_prefix(m->buf + tail, n - tail);
}

ifn_status ifn_stop_matcher_push(ifn_stop_matcher *m, const char *text, size_t len,
                                 ifn_stop_result *out) {
    if (m->is_stopped) {
        fill_result(m, 0, 0, out);
        return IFN_OK;
    }
    ifn_status st = make_room(m, len);
    if (st != IFN_OK) return st;
    size_t from = m->buf_len;
    if (len > 0) memcpy(m->buf + from, text, len);
    m->buf_len += len;
    size_t match_start = scan(m, from);
    m->emitted = m->is_stopped ? match_start : releasable(m);
    fill_result(m, 0, m->emitted, out);
    return IFN_OK;
}

void ifn_stop_matcher_flush(ifn_stop_matcher *m, ifn_stop_result *out) {
    if (m->is_stopped) {
        fill_result(m, 0, 0, out);
        return;
    }
    size_t from = m->emitted;
    fill_result(m, from, m->buf_len - from, out);
    m->emitted = m->buf_len;
    clear_states(m);
}
