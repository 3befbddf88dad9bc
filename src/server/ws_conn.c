/* Server side of a WebSocket connection (RFC 6455): reassembles TEXT messages from frames,
 * answers pings and close frames, and serialises writers with one mutex so every frame goes
 * out whole. Invariant: once anything makes the byte stream unusable (a close frame sent, a
 * failed or timed-out write, EOF) the connection counts as closed and sends no data again.
 * It does not own or close the socket, and does no HTTP (the upgrade happened before). */
#include "server/ws_conn.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "server/ws.h"
#include "util/alloc.h"
#include "util/status.h"
#include "util/time.h"
#include "util/utf8.h"

enum { IN_BUF_MIN_BYTES = 4096, IN_BUF_KEEP_BYTES = 64 * 1024 };

struct ifn_ws_conn {
    int fd; /* borrowed */
    ifn_ws_conn_params params;

    /* Reader thread only. Unparsed input is in_buf[in_start..in_len). */
    uint8_t *in_buf;
    size_t in_start, in_len, in_cap;
    uint8_t *msg_buf; /* the TEXT message being reassembled, unmasked */
    size_t msg_len, msg_cap;
    int is_in_message; /* a fragmented message has started and not finished */
    int is_read_done;  /* peer closed, EOF, protocol error: nothing more to read */

    pthread_mutex_t send_lock;             /* guards: writes to fd, and the flags below changing */
    atomic_int is_close_sent;              /* read without the lock by the reader and is_closed */
    atomic_int is_broken;                  /* a write failed or timed out, or the peer hung up */
    atomic_int_least64_t last_activity_ns; /* last byte received or frame sent */
};

ifn_ws_conn_params ifn_ws_conn_params_default(void) {
    ifn_ws_conn_params p = {
        .max_message_bytes = 1u << 20,
        .idle_timeout_ms = -1,
        .send_timeout_ms = 10000,
    };
    return p;
}

static void touch(ifn_ws_conn *c) {
    atomic_store(&c->last_activity_ns, ifn_time_now_ns());
}

/* Deadline in ns for a timeout in ms counted from now; -1 (never) for a negative timeout. */
static int64_t deadline_after_ms(int64_t timeout_ms, int64_t now_ns) {
    if (timeout_ms < 0) return -1;
    if (timeout_ms > INT64_MAX / 2000000) timeout_ms = INT64_MAX / 2000000;
    return now_ns + timeout_ms * 1000000;
}

/* poll() timeout until the earlier of two deadlines (-1 = none), rounded up to whole ms. */
static int poll_ms_until(int64_t a_ns, int64_t b_ns, int64_t now_ns) {
    int64_t at = a_ns < 0 ? b_ns : (b_ns < 0 || a_ns < b_ns ? a_ns : b_ns);
    if (at < 0) return -1;
    if (at <= now_ns) return 0;
    int64_t ms = (at - now_ns + 999999) / 1000000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Waits until fd is ready for `events`. IFN_E_AGAIN at deadline_ns; with use_idle, IFN_E_TIMEOUT
 * when the idle timeout passes first (other threads' sends count as activity, so it is
 * recomputed on every wake-up). */
static ifn_status wait_fd(ifn_ws_conn *c, short events, int64_t deadline_ns, int use_idle) {
    for (;;) {
        int64_t now = ifn_time_now_ns();
        int64_t idle_ns = -1;
        if (use_idle)
            idle_ns =
                deadline_after_ms(c->params.idle_timeout_ms, atomic_load(&c->last_activity_ns));
        if (idle_ns >= 0 && now >= idle_ns) return IFN_E_TIMEOUT;
        if (deadline_ns >= 0 && now >= deadline_ns) return IFN_E_AGAIN;
        struct pollfd pfd = {.fd = c->fd, .events = events};
        int r = poll(&pfd, 1, poll_ms_until(deadline_ns, idle_ns, now));
        if (r > 0) return IFN_OK; /* readiness, or an error the next recv/send reports */
        if (r < 0 && errno != EINTR) return ifn_fail(IFN_E_IO, "ws: poll: %s", strerror(errno));
    }
}

/* ---- writing (callers hold send_lock) ---- */

static ifn_status mark_broken(ifn_ws_conn *c, ifn_status st) {
    atomic_store(&c->is_broken, 1);
    return st;
}

/* Writes the iovecs completely (they are advanced in place), within send_timeout_ms. */
static ifn_status send_all(ifn_ws_conn *c, struct iovec *iov, int n_iov) {
    int64_t deadline = deadline_after_ms(c->params.send_timeout_ms, ifn_time_now_ns());
    while (n_iov > 0) {
        if (iov->iov_len == 0) {
            iov++;
            n_iov--;
            continue;
        }
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n_iov};
        ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return mark_broken(c, ifn_fail(IFN_E_IO, "ws: send: %s", strerror(errno)));
        if (n < 0) {
            ifn_status st = wait_fd(c, POLLOUT, deadline, 0);
            if (st == IFN_E_AGAIN) st = ifn_fail(IFN_E_TIMEOUT, "ws: peer stopped reading");
            if (st != IFN_OK) return mark_broken(c, st);
            continue;
        }
        for (size_t left = (size_t)n; left > 0;) {
            size_t step = left < iov->iov_len ? left : iov->iov_len;
            iov->iov_base = (uint8_t *)iov->iov_base + step;
            iov->iov_len -= step;
            left -= step;
            if (iov->iov_len == 0 && left > 0) {
                iov++;
                n_iov--;
            }
        }
    }
    touch(c);
    return IFN_OK;
}

static ifn_status send_frame(ifn_ws_conn *c, ifn_ws_opcode opcode, const void *payload,
                             size_t len) {
    uint8_t header[IFN_WS_MAX_HEADER_BYTES];
    size_t n_header = ifn_ws_frame_header_encode(header, 1, opcode, len, NULL);
    struct iovec iov[2] = {{.iov_base = header, .iov_len = n_header},
                           {.iov_base = (void *)payload, .iov_len = len}};
    return send_all(c, iov, 2);
}

/* Longest prefix of reason[0..len) that is valid UTF-8 and at most max_bytes long. */
static size_t utf8_prefix_within(const char *reason, size_t len, size_t max_bytes) {
    size_t n = 0;
    uint32_t cp;
    int step;
    while (n < len && (step = ifn_utf8_decode(reason + n, len - n, &cp)) > 0 &&
           n + (size_t)step <= max_bytes)
        n += (size_t)step;
    return n;
}

/* Sends our one close frame unless one went out already or the stream is broken. code 0
 * sends an empty payload (the echo of a close frame that carried no code). */
static ifn_status send_close_locked(ifn_ws_conn *c, uint16_t code, const char *reason) {
    if (atomic_load(&c->is_close_sent)) return IFN_OK;
    if (atomic_load(&c->is_broken)) return ifn_fail(IFN_E_IO, "ws: connection is broken");
    uint8_t payload[IFN_WS_MAX_CONTROL_PAYLOAD];
    size_t len = 0;
    if (code != 0) {
        payload[0] = (uint8_t)(code >> 8);
        payload[1] = (uint8_t)code;
        size_t n_reason = reason ? strlen(reason) : 0;
        n_reason = utf8_prefix_within(reason ? reason : "", n_reason, sizeof payload - 2);
        memcpy(payload + 2, reason ? reason : "", n_reason);
        len = 2 + n_reason;
    }
    atomic_store(&c->is_close_sent, 1);
    return send_frame(c, IFN_WS_OPCODE_CLOSE, payload, len);
}

static ifn_status send_close(ifn_ws_conn *c, uint16_t code, const char *reason) {
    pthread_mutex_lock(&c->send_lock);
    ifn_status st = send_close_locked(c, code, reason);
    pthread_mutex_unlock(&c->send_lock);
    return st;
}

ifn_status ifn_ws_conn_send_text(ifn_ws_conn *c, const char *text, size_t len) {
    if (!c || (!text && len > 0)) return ifn_fail(IFN_E_INVALID, "ws: NULL argument");
    ifn_status st;
    pthread_mutex_lock(&c->send_lock);
    if (atomic_load(&c->is_close_sent) || atomic_load(&c->is_broken))
        st = ifn_fail(IFN_E_IO, "ws: connection is closed");
    else
        st = send_frame(c, IFN_WS_OPCODE_TEXT, text, len);
    pthread_mutex_unlock(&c->send_lock);
    return st;
}

ifn_status ifn_ws_conn_close(ifn_ws_conn *c, uint16_t code, const char *reason) {
    if (!c) return ifn_fail(IFN_E_INVALID, "ws: NULL connection");
    if (!ifn_ws_close_code_is_valid(code))
        return ifn_fail(IFN_E_INVALID, "ws: close code %u cannot be sent", (unsigned)code);
    return send_close(c, code, reason);
}

int ifn_ws_conn_is_closed(const ifn_ws_conn *c) {
    ifn_ws_conn *m = (ifn_ws_conn *)c; /* C11 atomics take non-const pointers */
    return atomic_load(&m->is_close_sent) || atomic_load(&m->is_broken);
}

/* ---- reading (reader thread only) ---- */

/* Ends reading after a protocol violation: sends the close frame and reports `st`. */
static ifn_status fail_read(ifn_ws_conn *c, ifn_status st, uint16_t code, const char *what) {
    char reason[IFN_WS_MAX_CONTROL_PAYLOAD - 1];
    snprintf(reason, sizeof reason, "%s", what); /* `what` may be the thread's error buffer */
    c->is_read_done = 1;
    (void)send_close(c, code, reason);
    return ifn_fail(st, "ws: %s", reason);
}

/* Reads what the socket has into in_buf, waiting until deadline_ns. IFN_E_AGAIN at the
 * deadline, IFN_E_TIMEOUT when the idle timeout passes first, IFN_E_IO on EOF or failure. */
static ifn_status fill(ifn_ws_conn *c, int64_t deadline_ns) {
    if (c->in_start > 0) {
        memmove(c->in_buf, c->in_buf + c->in_start, c->in_len - c->in_start);
        c->in_len -= c->in_start;
        c->in_start = 0;
    }
    if (c->in_len == c->in_cap) { /* the frame in progress is bounded by the parser */
        uint8_t *grown = ifn_realloc(c->in_buf, c->in_cap * 2);
        if (!grown) return fail_read(c, IFN_E_NOMEM, IFN_WS_CLOSE_INTERNAL_ERROR, "no memory");
        c->in_buf = grown;
        c->in_cap *= 2;
    }
    for (;;) {
        ssize_t n = recv(c->fd, c->in_buf + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
        if (n > 0) {
            c->in_len += (size_t)n;
            touch(c);
            return IFN_OK;
        }
        if (n == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
            c->is_read_done = 1;
            atomic_store(&c->is_broken, 1);
            if (n == 0) return ifn_fail(IFN_E_IO, "ws: peer closed the socket");
            return ifn_fail(IFN_E_IO, "ws: recv: %s", strerror(errno));
        }
        if (errno == EINTR) continue;
        ifn_status st = wait_fd(c, POLLIN, deadline_ns, 1);
        if (st != IFN_OK) return st;
    }
}

static void consume(ifn_ws_conn *c, size_t n) {
    c->in_start += n;
    if (c->in_start < c->in_len) return;
    c->in_start = c->in_len = 0;
    if (c->in_cap > IN_BUF_KEEP_BYTES) { /* give back what one big message needed */
        uint8_t *small = ifn_realloc(c->in_buf, IN_BUF_MIN_BYTES);
        if (small) {
            c->in_buf = small;
            c->in_cap = IN_BUF_MIN_BYTES;
        }
    }
}

static ifn_status append_payload(ifn_ws_conn *c, const ifn_ws_frame *f) {
    size_t need = c->msg_len + f->payload_len + 1; /* + NUL; bounded by max_message_bytes */
    if (need > c->msg_cap) {
        size_t cap = c->msg_cap * 2 > need ? c->msg_cap * 2 : need;
        if (cap > c->params.max_message_bytes + 1) cap = c->params.max_message_bytes + 1;
        uint8_t *grown = ifn_realloc(c->msg_buf, cap);
        if (!grown) return fail_read(c, IFN_E_NOMEM, IFN_WS_CLOSE_INTERNAL_ERROR, "no memory");
        c->msg_buf = grown;
        c->msg_cap = cap;
    }
    uint8_t *dst = c->msg_buf + c->msg_len;
    memcpy(dst, f->payload, f->payload_len);
    ifn_ws_mask_apply(dst, f->payload_len, f->mask_key, 0);
    c->msg_len += f->payload_len;
    return IFN_OK;
}

static ifn_status handle_data(ifn_ws_conn *c, const ifn_ws_frame *f, int *out_is_done) {
    int is_continuation = f->opcode == IFN_WS_OPCODE_CONTINUATION;
    if (is_continuation && !c->is_in_message)
        return fail_read(c, IFN_E_FORMAT, IFN_WS_CLOSE_PROTOCOL_ERROR,
                         "continuation frame without a message");
    if (!is_continuation && c->is_in_message)
        return fail_read(c, IFN_E_FORMAT, IFN_WS_CLOSE_PROTOCOL_ERROR,
                         "new message before the fragmented one ended");
    if (f->opcode == IFN_WS_OPCODE_BINARY)
        return fail_read(c, IFN_E_FORMAT, IFN_WS_CLOSE_UNSUPPORTED_DATA,
                         "binary messages are not supported");
    if (f->payload_len > c->params.max_message_bytes - c->msg_len)
        return fail_read(c, IFN_E_FORMAT, IFN_WS_CLOSE_TOO_BIG, "message too big");
    ifn_status st = append_payload(c, f);
    if (st != IFN_OK) return st;
    c->is_in_message = !f->is_final;
    if (!f->is_final) return IFN_OK;
    if (!ifn_utf8_is_valid((const char *)c->msg_buf, c->msg_len))
        return fail_read(c, IFN_E_FORMAT, IFN_WS_CLOSE_INVALID_PAYLOAD,
                         "text message is not valid UTF-8");
    c->msg_buf[c->msg_len] = '\0';
    *out_is_done = 1;
    return IFN_OK;
}

/* The peer's close frame: validate it, echo its code, and end reading with IFN_E_IO. */
static ifn_status handle_close(ifn_ws_conn *c, const uint8_t *p, size_t len) {
    if (len == 1)
        return fail_read(c, IFN_E_FORMAT, IFN_WS_CLOSE_PROTOCOL_ERROR, "1-byte close payload");
    uint16_t code = 0;
    if (len >= 2) {
        code = (uint16_t)(p[0] << 8 | p[1]);
        if (!ifn_ws_close_code_is_valid(code))
            return fail_read(c, IFN_E_FORMAT, IFN_WS_CLOSE_PROTOCOL_ERROR, "invalid close code");
        if (!ifn_utf8_is_valid((const char *)p + 2, len - 2))
            return fail_read(c, IFN_E_FORMAT, IFN_WS_CLOSE_INVALID_PAYLOAD,
                             "close reason is not valid UTF-8");
    }
    c->is_read_done = 1;
    (void)send_close(c, code, NULL);
    return ifn_fail(IFN_E_IO, "ws: peer closed the connection (code %u)", (unsigned)code);
}

static ifn_status handle_control(ifn_ws_conn *c, const ifn_ws_frame *f) {
    uint8_t payload[IFN_WS_MAX_CONTROL_PAYLOAD]; /* the parser bounds control payloads */
    memcpy(payload, f->payload, f->payload_len);
    ifn_ws_mask_apply(payload, f->payload_len, f->mask_key, 0);
    if (f->opcode == IFN_WS_OPCODE_CLOSE) return handle_close(c, payload, f->payload_len);
    if (f->opcode != IFN_WS_OPCODE_PING) return IFN_OK; /* unsolicited pongs are allowed */
    ifn_status st = IFN_OK;
    pthread_mutex_lock(&c->send_lock);
    if (!atomic_load(&c->is_close_sent) && !atomic_load(&c->is_broken))
        st = send_frame(c, IFN_WS_OPCODE_PONG, payload, f->payload_len);
    pthread_mutex_unlock(&c->send_lock);
    if (st == IFN_OK) return IFN_OK;
    char why[128];
    snprintf(why, sizeof why, "%s", ifn_last_error()); /* ifn_fail overwrites that buffer */
    c->is_read_done = 1;
    return ifn_fail(IFN_E_IO, "ws: could not answer a ping (%s)", why);
}

/* The parser's error text without its "ws: " (fail_read adds it back). */
static const char *without_prefix(const char *msg) {
    return strncmp(msg, "ws: ", 4) == 0 ? msg + 4 : msg;
}

/* Parses and handles the next buffered frame. IFN_E_AGAIN: it is not complete yet.
 * *out_is_done is set when it completed a message (now in msg_buf). */
static ifn_status next_frame(ifn_ws_conn *c, int *out_is_done) {
    ifn_ws_frame f;
    uint16_t close_code = 0;
    size_t max_payload = c->params.max_message_bytes - (c->is_in_message ? c->msg_len : 0);
    ifn_status st = ifn_ws_frame_parse(c->in_buf + c->in_start, c->in_len - c->in_start,
                                       max_payload, 1, &f, &close_code);
    if (st == IFN_E_AGAIN) return st;
    if (st != IFN_OK) return fail_read(c, st, close_code, without_prefix(ifn_last_error()));
    if (f.opcode >= IFN_WS_OPCODE_CLOSE)
        st = handle_control(c, &f);
    else
        st = handle_data(c, &f, out_is_done);
    consume(c, f.frame_len);
    return st;
}

/* Hands the finished message to the caller; msg_buf starts afresh. */
static void take_message(ifn_ws_conn *c, char **out_text, size_t *out_len) {
    *out_text = (char *)c->msg_buf;
    *out_len = c->msg_len;
    c->msg_buf = NULL;
    c->msg_len = c->msg_cap = 0;
}

static ifn_status close_idle(ifn_ws_conn *c) {
    c->is_read_done = 1;
    (void)send_close(c, IFN_WS_CLOSE_GOING_AWAY, "idle timeout");
    return ifn_fail(IFN_E_TIMEOUT, "ws: idle for %lld ms", (long long)c->params.idle_timeout_ms);
}

ifn_status ifn_ws_conn_read_message(ifn_ws_conn *c, int timeout_ms, char **out_text,
                                    size_t *out_len) {
    if (!c || !out_text || !out_len) return ifn_fail(IFN_E_INVALID, "ws: NULL argument");
    int64_t deadline_ns = deadline_after_ms(timeout_ms, ifn_time_now_ns());
    while (!c->is_read_done && !atomic_load(&c->is_broken)) {
        int is_done = 0;
        ifn_status st = next_frame(c, &is_done);
        if (st == IFN_OK && is_done && atomic_load(&c->is_close_sent)) {
            c->msg_len = 0; /* we are closing: data no longer matters */
            continue;
        }
        if (st == IFN_OK && is_done) {
            take_message(c, out_text, out_len);
            return IFN_OK;
        }
        if (st == IFN_OK) continue;
        if (st != IFN_E_AGAIN) return st;
        st = fill(c, deadline_ns);
        if (st == IFN_E_TIMEOUT) return close_idle(c);
        if (st == IFN_E_AGAIN)
            return ifn_fail(IFN_E_AGAIN, "ws: no message within %d ms", timeout_ms);
        if (st != IFN_OK) return st;
    }
    return ifn_fail(IFN_E_IO, "ws: connection is closed");
}

ifn_status ifn_ws_conn_create(int fd, const void *initial, size_t n_initial,
                              const ifn_ws_conn_params *p, ifn_ws_conn **out_conn) {
    ifn_ws_conn_params params = p ? *p : ifn_ws_conn_params_default();
    if (fd < 0 || (!initial && n_initial > 0) || !out_conn || params.max_message_bytes == 0 ||
        params.max_message_bytes >= SIZE_MAX / 2)
        return ifn_fail(IFN_E_INVALID, "ws: bad connection arguments");
    ifn_ws_conn *c = ifn_calloc(1, sizeof *c);
    if (!c) return ifn_fail(IFN_E_NOMEM, "ws: no memory for a connection");
    c->in_cap = n_initial > IN_BUF_MIN_BYTES ? n_initial : IN_BUF_MIN_BYTES;
    c->in_buf = ifn_malloc(c->in_cap);
    if (!c->in_buf || pthread_mutex_init(&c->send_lock, NULL) != 0) {
        ifn_free(c->in_buf);
        ifn_free(c);
        return ifn_fail(IFN_E_NOMEM, "ws: no memory for a connection");
    }
    if (n_initial > 0) memcpy(c->in_buf, initial, n_initial);
    c->in_len = n_initial;
    c->fd = fd;
    c->params = params;
    atomic_init(&c->is_close_sent, 0);
    atomic_init(&c->is_broken, 0);
    atomic_init(&c->last_activity_ns, ifn_time_now_ns());
    *out_conn = c;
    return IFN_OK;
}

void ifn_ws_conn_destroy(ifn_ws_conn *c) {
    if (!c) return;
    pthread_mutex_destroy(&c->send_lock);
    ifn_free(c->in_buf);
    ifn_free(c->msg_buf);
    ifn_free(c);
}
