/* WebSocket tests: handshake key, frame codec, and a connection driven over socketpair() by a
 * test-side client that writes masked frames and reads the server's frames back: lengths,
 * fragments with pings, byte-by-byte delivery, every protocol error and its close code, the
 * close handshake, timeouts, concurrent senders, a dead or stalled peer, and a fuzz loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/ws.h"
#include "server/ws_conn.h"
#include "util/alloc.h"
#include "util/rng.h"
#include "util/time.h"

static const uint8_t MASK_KEY[4] = {0x37, 0xfa, 0x21, 0x3d};

/* ---- test-side client ---- */

typedef struct client {
    int fd;
    uint8_t *buf; /* received, unparsed server bytes */
    size_t len, cap;
} client;

/* One connection: server end wrapped in conn, client end in cl. */
typedef struct fixture {
    int fds[2];
    ifn_ws_conn *conn;
    client cl;
} fixture;

static void fixture_open(fixture *fx, const void *initial, size_t n_initial,
                         const ifn_ws_conn_params *p) {
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fx->fds), 0);
    fx->conn = NULL;
    assert_int_equal(ifn_ws_conn_create(fx->fds[0], initial, n_initial, p, &fx->conn), IFN_OK);
    fx->cl = (client){.fd = fx->fds[1]};
}

static void fixture_close(fixture *fx) {
    ifn_ws_conn_destroy(fx->conn);
    close(fx->fds[0]);
    if (fx->fds[1] >= 0) close(fx->fds[1]);
    free(fx->cl.buf);
}

/* Builds a frame into out (room for 14 + len); opcode is raw so reserved ones can be sent. */
static size_t build_frame(uint8_t *out, int fin, unsigned opcode, const void *payload, size_t len,
                          int is_masked) {
    size_t n = ifn_ws_frame_header_encode(out, fin, (ifn_ws_opcode)(opcode & 0xf), len,
                                          is_masked ? MASK_KEY : NULL);
    if (len) memcpy(out + n, payload, len);
    if (is_masked) ifn_ws_mask_apply(out + n, len, MASK_KEY, 0);
    return n + len;
}

static void write_all(int fd, const void *data, size_t len) {
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        assert_true(n > 0);
        p += n;
        len -= (size_t)n;
    }
}

static void client_send(fixture *fx, int fin, unsigned opcode, const void *payload, size_t len) {
    uint8_t *frame = malloc(len + IFN_WS_MAX_HEADER_BYTES);
    write_all(fx->cl.fd, frame, build_frame(frame, fin, opcode, payload, len, 1));
    free(frame);
}

static void client_send_text(fixture *fx, const char *text) {
    client_send(fx, 1, IFN_WS_OPCODE_TEXT, text, strlen(text));
}

/* Reads the next server frame (waits up to 5 s); *out_payload is malloc'd, NUL-terminated. */
static ifn_ws_frame client_read(client *cl, uint8_t **out_payload) {
    for (;;) {
        ifn_ws_frame f;
        uint16_t code;
        ifn_status st = cl->len ? ifn_ws_frame_parse(cl->buf, cl->len, SIZE_MAX / 2, 0, &f, &code)
                                : IFN_E_AGAIN;
        if (st == IFN_OK) {
            assert_false(f.is_masked); /* server frames are never masked */
            *out_payload = malloc(f.payload_len + 1);
            memcpy(*out_payload, f.payload, f.payload_len);
            (*out_payload)[f.payload_len] = 0;
            memmove(cl->buf, cl->buf + f.frame_len, cl->len - f.frame_len);
            cl->len -= f.frame_len;
            return f;
        }
        assert_int_equal(st, IFN_E_AGAIN);
        if (cl->cap - cl->len < 65536) {
            cl->cap = cl->cap * 2 + 65536;
            cl->buf = realloc(cl->buf, cl->cap);
        }
        struct pollfd pfd = {.fd = cl->fd, .events = POLLIN};
        assert_int_equal(poll(&pfd, 1, 5000), 1);
        ssize_t n = recv(cl->fd, cl->buf + cl->len, cl->cap - cl->len, 0);
        assert_true(n > 0);
        cl->len += (size_t)n;
    }
}

/* Reads a frame and checks it is a close with `code` (0: empty payload). */
static void expect_close(fixture *fx, uint16_t code) {
    uint8_t *p;
    ifn_ws_frame f = client_read(&fx->cl, &p);
    assert_int_equal(f.opcode, IFN_WS_OPCODE_CLOSE);
    if (code == 0) {
        assert_int_equal(f.payload_len, 0);
    } else {
        assert_true(f.payload_len >= 2);
        assert_int_equal(p[0] << 8 | p[1], code);
    }
    free(p);
}

static void expect_message(fixture *fx, int timeout_ms, const char *want, size_t want_len) {
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(ifn_ws_conn_read_message(fx->conn, timeout_ms, &text, &len), IFN_OK);
    assert_int_equal(len, want_len);
    assert_memory_equal(text, want, want_len);
    assert_int_equal(text[len], '\0');
    ifn_free(text);
}

/* A thread that writes bytes to a fd `chunk` at a time. */
typedef struct writer {
    pthread_t thread;
    int fd;
    const uint8_t *data;
    size_t len, chunk;
} writer;

static void *writer_main(void *arg) {
    writer *w = arg;
    for (size_t off = 0; off < w->len; off += w->chunk) {
        size_t n = w->len - off < w->chunk ? w->len - off : w->chunk;
        write_all(w->fd, w->data + off, n);
    }
    return NULL;
}

static void writer_start(writer *w, int fd, const uint8_t *data, size_t len, size_t chunk) {
    *w = (writer){.fd = fd, .data = data, .len = len, .chunk = chunk};
    assert_int_equal(pthread_create(&w->thread, NULL, writer_main, w), 0);
}

/* ---- handshake and codec ---- */

static void test_ws_accept_key_matches_rfc_example(void **state) {
    (void)state;
    char out[29];
    /* RFC 6455 section 1.3 */
    assert_int_equal(ifn_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), IFN_OK);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    /* Values computed independently (Python hashlib/base64). */
    assert_int_equal(ifn_ws_accept_key("x3JJHMbDL1EzLkh9GBhXDw==", out), IFN_OK);
    assert_string_equal(out, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
    assert_int_equal(ifn_ws_accept_key("AAAAAAAAAAAAAAAAAAAAAA==", out), IFN_OK);
    assert_string_equal(out, "ICX+Yqv66kxgM0FcWaLWlFLwTAI=");
}

static void test_ws_accept_key_rejects_bad_keys(void **state) {
    (void)state;
    const char *bad[] = {"",
                         "dGhlIHNhbXBsZSBub25jZQ=",
                         "dGhlIHNhbXBsZSBub25jZQ===",
                         "dGhlIHNhbXBsZSBub25jZQAA",
                         "dGhlIHNhbXBsZSBub25j!Q==",
                         "dGhlIHNhbXBsZSBub25jZ===",
                         " dGhlIHNhbXBsZSBub25jZQ=",
                         "dGhlIHNhbXBsZSBub25jZQ==x"};
    char out[29] = "untouched";
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ifn_ws_accept_key(bad[i], out), IFN_E_INVALID);
    assert_int_equal(ifn_ws_accept_key(NULL, out), IFN_E_INVALID);
    assert_string_equal(out, "untouched");
}

static void test_ws_frame_header_uses_shortest_length(void **state) {
    (void)state;
    const uint64_t lens[] = {0, 125, 126, 65535, 65536, (uint64_t)1 << 40};
    const size_t header_lens[] = {2, 2, 4, 4, 10, 10};
    for (size_t i = 0; i < 6; i++) {
        uint8_t h[IFN_WS_MAX_HEADER_BYTES];
        assert_int_equal(ifn_ws_frame_header_encode(h, 1, IFN_WS_OPCODE_TEXT, lens[i], NULL),
                         header_lens[i]);
        assert_int_equal(h[0], 0x81);
        assert_int_equal(h[1] & 0x80, 0);
        uint64_t got = h[1] & 0x7f;
        if (header_lens[i] > 2) got = 0;
        for (size_t k = 2; k < header_lens[i]; k++)
            got = got << 8 | h[k];
        assert_true(got == lens[i]);
        assert_int_equal(ifn_ws_frame_header_encode(h, 0, IFN_WS_OPCODE_PING, lens[i], MASK_KEY),
                         header_lens[i] + 4);
        assert_int_equal(h[0], 0x09);
        assert_int_equal(h[1] & 0x80, 0x80);
        assert_memory_equal(h + header_lens[i], MASK_KEY, 4);
    }
}

static void test_ws_frame_parse_round_trip_and_prefixes(void **state) {
    (void)state;
    const size_t lens[] = {0, 5, 125, 126, 300, 65535, 65536, 70000};
    uint8_t *payload = malloc(70000), *frame = malloc(70000 + IFN_WS_MAX_HEADER_BYTES);
    for (size_t i = 0; i < 70000; i++)
        payload[i] = (uint8_t)(i * 7);
    for (size_t i = 0; i < 8; i++) {
        for (int masked = 0; masked < 2; masked++) {
            size_t n = build_frame(frame, 1, IFN_WS_OPCODE_BINARY, payload, lens[i], masked);
            ifn_ws_frame f;
            uint16_t code = 0;
            assert_int_equal(ifn_ws_frame_parse(frame, n, lens[i], masked, &f, &code), IFN_OK);
            assert_int_equal(f.frame_len, n);
            assert_int_equal(f.payload_len, lens[i]);
            assert_int_equal(f.opcode, IFN_WS_OPCODE_BINARY);
            assert_int_equal(f.is_masked, masked);
            uint8_t *copy = malloc(lens[i] + 1);
            memcpy(copy, f.payload, lens[i]);
            if (masked) ifn_ws_mask_apply(copy, lens[i], f.mask_key, 0);
            assert_memory_equal(copy, payload, lens[i]);
            free(copy);
            for (size_t cut = 0; cut < n; cut += (cut < 20 ? 1 : 997))
                assert_int_equal(ifn_ws_frame_parse(frame, cut, lens[i], masked, &f, &code),
                                 IFN_E_AGAIN);
        }
    }
    free(payload);
    free(frame);
}

static uint16_t parse_error_code(const uint8_t *bytes, size_t n, size_t max, int require_mask) {
    ifn_ws_frame f;
    uint16_t code = 0;
    assert_int_equal(ifn_ws_frame_parse(bytes, n, max, require_mask, &f, &code), IFN_E_FORMAT);
    return code;
}

static void test_ws_frame_parse_rejects_bad_headers(void **state) {
    (void)state;
    const uint8_t rsv1[] = {0xc1, 0x80}, rsv3[] = {0x91, 0x80}, op3[] = {0x83, 0x80};
    const uint8_t op_b[] = {0x8b, 0x80}, frag_ping[] = {0x09, 0x80}, long_ping[] = {0x89, 0xfe};
    const uint8_t unmasked[] = {0x81, 0x05}, top_bit[] = {0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0};
    const uint8_t big16[] = {0x81, 0xfe, 0x01, 0x00}; /* 256 bytes announced, none sent */
    assert_int_equal(parse_error_code(rsv1, 2, 100, 1), 1002);
    assert_int_equal(parse_error_code(rsv3, 2, 100, 1), 1002);
    assert_int_equal(parse_error_code(op3, 2, 100, 1), 1002);
    assert_int_equal(parse_error_code(op_b, 2, 100, 1), 1002);
    assert_int_equal(parse_error_code(frag_ping, 2, 100, 1), 1002);
    assert_int_equal(parse_error_code(long_ping, 2, 100, 1), 1002);
    assert_int_equal(parse_error_code(unmasked, 2, 100, 1), 1002);
    assert_int_equal(parse_error_code(top_bit, 10, SIZE_MAX, 0), 1002);
    assert_int_equal(parse_error_code(big16, 4, 255, 1), 1009);
    ifn_ws_frame f;
    uint16_t code;
    assert_int_equal(ifn_ws_frame_parse(big16, 4, 256, 1, &f, &code), IFN_E_AGAIN);
    assert_int_equal(ifn_ws_frame_parse(unmasked, 2, 100, 0, &f, &code), IFN_E_AGAIN);
}

static void test_ws_mask_apply_in_pieces_matches_whole(void **state) {
    (void)state;
    uint8_t whole[11] = "hello world", pieces[11] = "hello world";
    ifn_ws_mask_apply(whole, 11, MASK_KEY, 0);
    ifn_ws_mask_apply(pieces, 3, MASK_KEY, 0);
    ifn_ws_mask_apply(pieces + 3, 5, MASK_KEY, 3);
    ifn_ws_mask_apply(pieces + 8, 3, MASK_KEY, 8);
    assert_memory_equal(whole, pieces, 11);
    ifn_ws_mask_apply(whole, 11, MASK_KEY, 0);
    assert_memory_equal(whole, "hello world", 11);
}

/* ---- connection: reading and writing ---- */

static void test_ws_conn_lengths_both_ways(void **state) {
    (void)state;
    fixture fx;
    fixture_open(&fx, NULL, 0, NULL);
    const size_t lens[] = {5, 200, 70000};
    const size_t header_lens[] = {2, 4, 10};
    char *text = malloc(70001);
    for (size_t i = 0; i < 70000; i++)
        text[i] = (char)('a' + i % 26);
    for (int i = 0; i < 3; i++) {
        uint8_t *frame = malloc(lens[i] + IFN_WS_MAX_HEADER_BYTES);
        size_t n = build_frame(frame, 1, IFN_WS_OPCODE_TEXT, text, lens[i], 1);
        assert_int_equal(n, lens[i] + header_lens[i] + 4);
        writer w;
        writer_start(&w, fx.cl.fd, frame, n, 4096);
        expect_message(&fx, 5000, text, lens[i]);
        pthread_join(w.thread, NULL);
        free(frame);

        assert_int_equal(ifn_ws_conn_send_text(fx.conn, text, lens[i]), IFN_OK);
        uint8_t *p;
        ifn_ws_frame f = client_read(&fx.cl, &p);
        assert_int_equal(f.frame_len, lens[i] + header_lens[i]);
        assert_true(f.is_final);
        assert_int_equal(f.opcode, IFN_WS_OPCODE_TEXT);
        assert_memory_equal(p, text, lens[i]);
        free(p);
    }
    free(text);
    fixture_close(&fx);
}

static void test_ws_conn_reassembles_fragments_and_answers_ping(void **state) {
    (void)state;
    fixture fx;
    fixture_open(&fx, NULL, 0, NULL);
    client_send(&fx, 0, IFN_WS_OPCODE_TEXT, "Hel", 3);
    client_send(&fx, 1, IFN_WS_OPCODE_PING, "abc", 3);
    client_send(&fx, 0, IFN_WS_OPCODE_CONTINUATION, "lo, ", 4);
    client_send(&fx, 1, IFN_WS_OPCODE_PONG, "unsolicited", 11);
    client_send(&fx, 0, IFN_WS_OPCODE_CONTINUATION, "", 0);
    client_send(&fx, 1, IFN_WS_OPCODE_CONTINUATION, "w\xc3\xb6rld", 6);
    client_send_text(&fx, "");
    expect_message(&fx, 5000, "Hello, w\xc3\xb6rld", 13);
    expect_message(&fx, 5000, "", 0);
    uint8_t *p;
    ifn_ws_frame f = client_read(&fx.cl, &p);
    assert_int_equal(f.opcode, IFN_WS_OPCODE_PONG);
    assert_int_equal(f.payload_len, 3);
    assert_memory_equal(p, "abc", 3);
    free(p);
    fixture_close(&fx);
}

static void test_ws_conn_uses_initial_bytes(void **state) {
    (void)state;
    uint8_t frames[64];
    size_t n1 = build_frame(frames, 1, IFN_WS_OPCODE_TEXT, "first", 5, 1);
    size_t n2 = build_frame(frames + n1, 1, IFN_WS_OPCODE_TEXT, "second", 6, 1);
    fixture fx;
    fixture_open(&fx, frames, n1 + 3, NULL); /* one frame and a bit of the next */
    expect_message(&fx, 0, "first", 5);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(ifn_ws_conn_read_message(fx.conn, 0, &text, &len), IFN_E_AGAIN);
    write_all(fx.cl.fd, frames + n1 + 3, n2 - 3);
    expect_message(&fx, 5000, "second", 6);
    fixture_close(&fx);
}

static void test_ws_conn_byte_by_byte_delivery(void **state) {
    (void)state;
    uint8_t stream[1024];
    size_t n = build_frame(stream, 1, IFN_WS_OPCODE_TEXT, "one", 3, 1);
    n += build_frame(stream + n, 0, IFN_WS_OPCODE_TEXT, "t", 1, 1);
    n += build_frame(stream + n, 1, IFN_WS_OPCODE_PING, "p", 1, 1);
    n += build_frame(stream + n, 1, IFN_WS_OPCODE_CONTINUATION, "wo", 2, 1);
    char mid[300];
    memset(mid, 'm', sizeof mid);
    n += build_frame(stream + n, 1, IFN_WS_OPCODE_TEXT, mid, sizeof mid, 1);
    fixture fx;
    fixture_open(&fx, NULL, 0, NULL);
    writer w;
    writer_start(&w, fx.cl.fd, stream, n, 1);
    expect_message(&fx, 5000, "one", 3);
    expect_message(&fx, 5000, "two", 3);
    expect_message(&fx, 5000, mid, sizeof mid);
    pthread_join(w.thread, NULL);
    uint8_t *p;
    assert_int_equal(client_read(&fx.cl, &p).opcode, IFN_WS_OPCODE_PONG);
    free(p);
    fixture_close(&fx);
}

/* ---- connection: errors and closing ---- */

typedef struct error_case {
    const char *name;
    uint8_t bytes[160];
    size_t len;
    uint16_t close_code;
} error_case;

static void append(error_case *ec, int fin, unsigned opcode, const void *p, size_t len,
                   int is_masked) {
    ec->len += build_frame(ec->bytes + ec->len, fin, opcode, p, len, is_masked);
}

static error_case *add_case(error_case *cases, size_t *n, const char *name, uint16_t code) {
    error_case *c = &cases[(*n)++];
    *c = (error_case){.name = name, .close_code = code};
    return c;
}

static size_t build_error_cases(error_case *cases) {
    size_t n = 0;
    char big[130];
    memset(big, 'x', sizeof big);
    error_case *c = add_case(cases, &n, "unmasked", 1002);
    append(c, 1, IFN_WS_OPCODE_TEXT, "hi", 2, 0);
    c = add_case(cases, &n, "rsv1", 1002);
    append(c, 1, IFN_WS_OPCODE_TEXT, "hi", 2, 1);
    c->bytes[0] |= 0x40;
    c = add_case(cases, &n, "opcode 3", 1002);
    append(c, 1, 3, "hi", 2, 1);
    c = add_case(cases, &n, "opcode 0xB", 1002);
    append(c, 1, 0xb, "", 0, 1);
    c = add_case(cases, &n, "fragmented ping", 1002);
    append(c, 0, IFN_WS_OPCODE_PING, "", 0, 1);
    c = add_case(cases, &n, "ping over 125", 1002);
    append(c, 1, IFN_WS_OPCODE_PING, big, 126, 1);
    c = add_case(cases, &n, "lone continuation", 1002);
    append(c, 1, IFN_WS_OPCODE_CONTINUATION, "a", 1, 1);
    c = add_case(cases, &n, "text inside fragments", 1002);
    append(c, 0, IFN_WS_OPCODE_TEXT, "a", 1, 1);
    append(c, 1, IFN_WS_OPCODE_TEXT, "b", 1, 1);
    c = add_case(cases, &n, "binary", 1003);
    append(c, 1, IFN_WS_OPCODE_BINARY, "\x01", 1, 1);
    c = add_case(cases, &n, "bad utf-8", 1007);
    append(c, 1, IFN_WS_OPCODE_TEXT, "a\xc0\xaf", 3, 1);
    c = add_case(cases, &n, "surrogate across fragments", 1007);
    append(c, 0, IFN_WS_OPCODE_TEXT, "\xed", 1, 1);
    append(c, 1, IFN_WS_OPCODE_CONTINUATION, "\xa0\x80", 2, 1);
    c = add_case(cases, &n, "cut sequence at end", 1007);
    append(c, 1, IFN_WS_OPCODE_TEXT, "\xe2\x82", 2, 1);
    c = add_case(cases, &n, "one frame too big", 1009);
    append(c, 1, IFN_WS_OPCODE_TEXT, big, 101, 1);
    c = add_case(cases, &n, "fragments too big", 1009);
    append(c, 0, IFN_WS_OPCODE_TEXT, big, 60, 1);
    append(c, 1, IFN_WS_OPCODE_CONTINUATION, big, 41, 1);
    c = add_case(cases, &n, "1-byte close", 1002);
    append(c, 1, IFN_WS_OPCODE_CLOSE, "\x03", 1, 1);
    c = add_case(cases, &n, "close code 1005", 1002);
    append(c, 1, IFN_WS_OPCODE_CLOSE, "\x03\xed", 2, 1);
    c = add_case(cases, &n, "close code 2000", 1002);
    append(c, 1, IFN_WS_OPCODE_CLOSE, "\x07\xd0", 2, 1);
    c = add_case(cases, &n, "close reason bad utf-8", 1007);
    append(c, 1, IFN_WS_OPCODE_CLOSE, "\x03\xe8\xff", 3, 1);
    return n;
}

static void test_ws_conn_protocol_errors_send_matching_close(void **state) {
    (void)state;
    error_case cases[32];
    size_t n_cases = build_error_cases(cases);
    ifn_ws_conn_params p = ifn_ws_conn_params_default();
    p.max_message_bytes = 100;
    for (size_t i = 0; i < n_cases; i++) {
        fixture fx;
        fixture_open(&fx, NULL, 0, &p);
        write_all(fx.cl.fd, cases[i].bytes, cases[i].len);
        char *text = NULL;
        size_t len = 0;
        ifn_status st = ifn_ws_conn_read_message(fx.conn, 5000, &text, &len);
        if (st != IFN_E_FORMAT) fail_msg("case '%s': got %d", cases[i].name, st);
        assert_null(text);
        expect_close(&fx, cases[i].close_code);
        assert_true(ifn_ws_conn_is_closed(fx.conn));
        assert_int_equal(ifn_ws_conn_read_message(fx.conn, 0, &text, &len), IFN_E_IO);
        assert_int_equal(ifn_ws_conn_send_text(fx.conn, "x", 1), IFN_E_IO);
        fixture_close(&fx);
    }
}

static void test_ws_conn_peer_close_is_answered(void **state) {
    (void)state;
    for (int with_code = 0; with_code < 2; with_code++) {
        fixture fx;
        fixture_open(&fx, NULL, 0, NULL);
        client_send_text(&fx, "last");
        client_send(&fx, 1, IFN_WS_OPCODE_CLOSE, "\x0f\xa0going", with_code ? 7 : 0); /* 4000 */
        expect_message(&fx, 5000, "last", 4);
        char *text = NULL;
        size_t len = 0;
        assert_int_equal(ifn_ws_conn_read_message(fx.conn, 5000, &text, &len), IFN_E_IO);
        expect_close(&fx, with_code ? 4000 : 0);
        assert_true(ifn_ws_conn_is_closed(fx.conn));
        assert_int_equal(ifn_ws_conn_close(fx.conn, 1000, NULL), IFN_OK); /* nothing more sent */
        assert_int_equal(ifn_ws_conn_read_message(fx.conn, 0, &text, &len), IFN_E_IO);
        fixture_close(&fx);
    }
}

static void test_ws_conn_eof_gives_io_error(void **state) {
    (void)state;
    fixture fx;
    fixture_open(&fx, NULL, 0, NULL);
    write_all(fx.cl.fd, "\x81", 1); /* half a header, then the peer vanishes */
    close(fx.cl.fd);
    fx.cl.fd = fx.fds[1] = -1;
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(ifn_ws_conn_read_message(fx.conn, 5000, &text, &len), IFN_E_IO);
    assert_true(ifn_ws_conn_is_closed(fx.conn));
    fixture_close(&fx);
}

static void test_ws_conn_timeout_keeps_partial_frame(void **state) {
    (void)state;
    fixture fx;
    fixture_open(&fx, NULL, 0, NULL);
    char *text = NULL;
    size_t len = 0;
    int64_t t0 = ifn_time_now_ns();
    assert_int_equal(ifn_ws_conn_read_message(fx.conn, 50, &text, &len), IFN_E_AGAIN);
    assert_true(ifn_time_now_ns() - t0 >= 45 * 1000000LL);
    uint8_t frame[32];
    size_t n = build_frame(frame, 1, IFN_WS_OPCODE_TEXT, "patience", 8, 1);
    write_all(fx.cl.fd, frame, 5);
    assert_int_equal(ifn_ws_conn_read_message(fx.conn, 20, &text, &len), IFN_E_AGAIN);
    assert_false(ifn_ws_conn_is_closed(fx.conn));
    write_all(fx.cl.fd, frame + 5, n - 5);
    expect_message(&fx, 5000, "patience", 8);
    fixture_close(&fx);
}

static void test_ws_conn_idle_timeout_closes_with_1001(void **state) {
    (void)state;
    ifn_ws_conn_params p = ifn_ws_conn_params_default();
    p.idle_timeout_ms = 200;
    fixture fx;
    fixture_open(&fx, NULL, 0, &p);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(ifn_ws_conn_read_message(fx.conn, 20, &text, &len), IFN_E_AGAIN);
    assert_int_equal(ifn_ws_conn_read_message(fx.conn, 5000, &text, &len), IFN_E_TIMEOUT);
    expect_close(&fx, 1001);
    assert_true(ifn_ws_conn_is_closed(fx.conn));
    fixture_close(&fx);
}

static void test_ws_conn_server_close_handshake(void **state) {
    (void)state;
    fixture fx;
    fixture_open(&fx, NULL, 0, NULL);
    assert_int_equal(ifn_ws_conn_close(fx.conn, 1005, NULL), IFN_E_INVALID);
    char reason[200];
    memset(reason, 'r', sizeof reason);
    memcpy(reason + 121, "\xe2\x82\xac", 3); /* a 3-byte sequence straddling byte 123 */
    reason[199] = 0;
    assert_int_equal(ifn_ws_conn_close(fx.conn, 1000, reason), IFN_OK);
    assert_int_equal(ifn_ws_conn_close(fx.conn, 1001, "again"), IFN_OK); /* sends nothing */
    assert_true(ifn_ws_conn_is_closed(fx.conn));
    assert_int_equal(ifn_ws_conn_send_text(fx.conn, "late", 4), IFN_E_IO);
    uint8_t *p;
    ifn_ws_frame f = client_read(&fx.cl, &p);
    assert_int_equal(f.opcode, IFN_WS_OPCODE_CLOSE);
    assert_int_equal(f.payload_len, 2 + 121); /* the euro sign would pass 123 bytes */
    assert_int_equal(p[0] << 8 | p[1], 1000);
    free(p);
    client_send_text(&fx, "dropped while closing");
    client_send(&fx, 1, IFN_WS_OPCODE_CLOSE, "\x03\xe8", 2);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(ifn_ws_conn_read_message(fx.conn, 5000, &text, &len), IFN_E_IO);
    assert_null(text);
    struct pollfd pfd = {.fd = fx.cl.fd, .events = POLLIN}; /* no second close went out */
    assert_int_equal(poll(&pfd, 1, 50), 0);
    fixture_close(&fx);
}

/* ---- connection: concurrency and dead peers ---- */

enum { N_SENDERS = 4, N_PER_SENDER = 150 };

typedef struct sender {
    pthread_t thread;
    ifn_ws_conn *conn;
    int id;
} sender;

/* Message `seq` of sender `id`: "id:seq:" padded with the sender's letter to a size that
 * cycles through all three length encodings. */
static size_t sender_message(int id, int seq, char *out) {
    static const size_t sizes[] = {10, 124, 126, 3000, 65535, 66000};
    size_t len = sizes[seq % 6];
    memset(out, 'a' + id, len);
    int n = snprintf(out, len, "%d:%d:", id, seq);
    out[n] = (char)('a' + id);
    return len;
}

static void *sender_main(void *arg) {
    sender *s = arg;
    char *msg = malloc(66000);
    for (int seq = 0; seq < N_PER_SENDER; seq++) {
        size_t len = sender_message(s->id, seq, msg);
        if (ifn_ws_conn_send_text(s->conn, msg, len) != IFN_OK) break;
    }
    free(msg);
    return NULL;
}

static void test_ws_conn_concurrent_senders_keep_frames_whole(void **state) {
    (void)state;
    fixture fx;
    fixture_open(&fx, NULL, 0, NULL);
    sender senders[N_SENDERS];
    for (int i = 0; i < N_SENDERS; i++) {
        senders[i] = (sender){.conn = fx.conn, .id = i};
        assert_int_equal(pthread_create(&senders[i].thread, NULL, sender_main, &senders[i]), 0);
    }
    int next_seq[N_SENDERS] = {0};
    char *want = malloc(66000);
    for (int i = 0; i < N_SENDERS * N_PER_SENDER; i++) {
        uint8_t *p;
        ifn_ws_frame f = client_read(&fx.cl, &p);
        assert_int_equal(f.opcode, IFN_WS_OPCODE_TEXT);
        int id = p[0] - '0';
        assert_true(id >= 0 && id < N_SENDERS);
        size_t len = sender_message(id, next_seq[id]++, want);
        assert_int_equal(f.payload_len, len);
        assert_memory_equal(p, want, len);
        free(p);
    }
    for (int i = 0; i < N_SENDERS; i++)
        pthread_join(senders[i].thread, NULL);
    free(want);
    fixture_close(&fx);
}

static void test_ws_conn_dead_peer_gives_io_error_not_sigpipe(void **state) {
    (void)state;
    fixture fx;
    fixture_open(&fx, NULL, 0, NULL);
    close(fx.cl.fd);
    fx.cl.fd = fx.fds[1] = -1;
    assert_int_equal(ifn_ws_conn_send_text(fx.conn, "anyone?", 7), IFN_E_IO);
    assert_true(ifn_ws_conn_is_closed(fx.conn));
    assert_int_equal(ifn_ws_conn_close(fx.conn, 1000, NULL), IFN_E_IO);
    fixture_close(&fx);
}

static void test_ws_conn_stalled_peer_times_out_send(void **state) {
    (void)state;
    ifn_ws_conn_params p = ifn_ws_conn_params_default();
    p.send_timeout_ms = 100;
    fixture fx;
    fixture_open(&fx, NULL, 0, &p);
    char *msg = calloc(1, 1 << 16);
    memset(msg, 'z', 1 << 16);
    ifn_status st = IFN_OK;
    int64_t t0 = ifn_time_now_ns();
    for (int i = 0; i < 1000 && st == IFN_OK; i++) /* the client never reads */
        st = ifn_ws_conn_send_text(fx.conn, msg, 1 << 16);
    assert_int_equal(st, IFN_E_TIMEOUT);
    assert_true(ifn_time_now_ns() - t0 < 5000 * 1000000LL);
    assert_true(ifn_ws_conn_is_closed(fx.conn));
    assert_int_equal(ifn_ws_conn_send_text(fx.conn, "x", 1), IFN_E_IO);
    free(msg);
    fixture_close(&fx);
}

static void test_ws_conn_allocation_failures(void **state) {
    (void)state;
    int fds[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    ifn_ws_conn *c = NULL;
    ifn_alloc_fail_after(1);
    assert_int_equal(ifn_ws_conn_create(fds[0], NULL, 0, NULL, &c), IFN_E_NOMEM);
    ifn_alloc_fail_after(2);
    assert_int_equal(ifn_ws_conn_create(fds[0], NULL, 0, NULL, &c), IFN_E_NOMEM);
    ifn_alloc_fail_after(0);
    assert_null(c);
    close(fds[0]);
    close(fds[1]);

    fixture fx;
    fixture_open(&fx, NULL, 0, NULL);
    client_send_text(&fx, "needs a buffer");
    char *text = NULL;
    size_t len = 0;
    ifn_alloc_fail_after(1);
    ifn_status st = ifn_ws_conn_read_message(fx.conn, 5000, &text, &len);
    ifn_alloc_fail_after(0);
    assert_int_equal(st, IFN_E_NOMEM);
    expect_close(&fx, 1011);
    fixture_close(&fx);
}

/* ---- fuzz ---- */

/* A valid-looking stream of frames, then a few random byte mutations. */
static size_t fuzz_stream(ifn_rng *rng, uint8_t *out, size_t cap) {
    static const unsigned ops[] = {0x1, 0x1, 0x1, 0x1, 0x1, 0x0, 0x2, 0x8, 0x9, 0x9, 0xa, 0x3};
    uint8_t payload[300];
    size_t n = 0;
    int n_frames = (int)(ifn_rng_next_u64(rng) % 6);
    for (int i = 0; i < n_frames; i++) {
        size_t len = ifn_rng_next_u64(rng) % (i % 2 ? 140 : sizeof payload);
        if (n + len + IFN_WS_MAX_HEADER_BYTES > cap) break;
        for (size_t k = 0; k < len; k++)
            payload[k] =
                (uint8_t)(ifn_rng_next_u64(rng) % 64 ? 'a' + k % 26 : ifn_rng_next_u64(rng));
        unsigned op = ops[ifn_rng_next_u64(rng) % 12];
        int fin = ifn_rng_next_u64(rng) % 8 != 0;
        n += build_frame(out + n, fin, op, payload, len, ifn_rng_next_u64(rng) % 16 != 0);
    }
    int n_mut = (int)(ifn_rng_next_u64(rng) % 8);
    n_mut = n_mut > 3 ? 0 : n_mut; /* half the streams stay well-formed */
    for (int i = 0; i < n_mut && n > 0; i++)
        out[ifn_rng_next_u64(rng) % n] ^= (uint8_t)(1u << (ifn_rng_next_u64(rng) % 8));
    if (ifn_rng_next_u64(rng) % 8 == 0) { /* sometimes pure noise */
        n = ifn_rng_next_u64(rng) % 512;
        for (size_t k = 0; k < n; k++)
            out[k] = (uint8_t)ifn_rng_next_u64(rng);
    }
    return n;
}

static void fuzz_parser(const uint8_t *bytes, size_t n) {
    for (size_t off = 0; off < n;) {
        ifn_ws_frame f;
        uint16_t code = 0;
        ifn_status st = ifn_ws_frame_parse(bytes + off, n - off, 200, 0, &f, &code);
        if (st != IFN_OK) {
            assert_true(st == IFN_E_AGAIN || (st == IFN_E_FORMAT && code >= 1002));
            return;
        }
        assert_true(f.frame_len <= n - off &&
                    f.payload + f.payload_len == bytes + off + f.frame_len);
        off += f.frame_len;
    }
}

static void test_ws_fuzz_streams_never_crash_or_hang(void **state) {
    (void)state;
    ifn_rng rng;
    ifn_rng_seed(&rng, 6455);
    ifn_ws_conn_params p = ifn_ws_conn_params_default();
    p.max_message_bytes = 400;
    p.send_timeout_ms = 1000;
    uint8_t stream[4096];
    int n_messages = 0, n_format = 0, n_io = 0;
    for (int iter = 0; iter < 3000; iter++) {
        size_t n = fuzz_stream(&rng, stream, sizeof stream);
        fuzz_parser(stream, n);
        size_t n_initial = ifn_rng_next_u64(&rng) % 2 ? ifn_rng_next_u64(&rng) % (n + 1) : 0;
        fixture fx;
        fixture_open(&fx, stream, n_initial, &p);
        write_all(fx.cl.fd, stream + n_initial, n - n_initial);
        shutdown(fx.cl.fd, SHUT_WR);
        ifn_status st;
        for (int k = 0; k < 1000; k++) {
            char *text = NULL;
            size_t len = 0;
            st = ifn_ws_conn_read_message(fx.conn, 5000, &text, &len);
            if (st != IFN_OK) break;
            assert_int_equal(strlen(text) <= len, 1);
            ifn_free(text);
            n_messages++;
        }
        assert_true(st == IFN_E_IO || st == IFN_E_FORMAT);
        n_format += st == IFN_E_FORMAT;
        n_io += st == IFN_E_IO;
        fixture_close(&fx);
    }
    /* The streams reach every outcome, not just the first error check. */
    print_message("fuzz: %d messages, %d protocol errors, %d clean ends\n", n_messages, n_format,
                  n_io);
    assert_true(n_messages > 200 && n_format > 200 && n_io > 200);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ws_accept_key_matches_rfc_example),
        cmocka_unit_test(test_ws_accept_key_rejects_bad_keys),
        cmocka_unit_test(test_ws_frame_header_uses_shortest_length),
        cmocka_unit_test(test_ws_frame_parse_round_trip_and_prefixes),
        cmocka_unit_test(test_ws_frame_parse_rejects_bad_headers),
        cmocka_unit_test(test_ws_mask_apply_in_pieces_matches_whole),
        cmocka_unit_test(test_ws_conn_lengths_both_ways),
        cmocka_unit_test(test_ws_conn_reassembles_fragments_and_answers_ping),
        cmocka_unit_test(test_ws_conn_uses_initial_bytes),
        cmocka_unit_test(test_ws_conn_byte_by_byte_delivery),
        cmocka_unit_test(test_ws_conn_protocol_errors_send_matching_close),
        cmocka_unit_test(test_ws_conn_peer_close_is_answered),
        cmocka_unit_test(test_ws_conn_eof_gives_io_error),
        cmocka_unit_test(test_ws_conn_timeout_keeps_partial_frame),
        cmocka_unit_test(test_ws_conn_idle_timeout_closes_with_1001),
        cmocka_unit_test(test_ws_conn_server_close_handshake),
        cmocka_unit_test(test_ws_conn_concurrent_senders_keep_frames_whole),
        cmocka_unit_test(test_ws_conn_dead_peer_gives_io_error_not_sigpipe),
        cmocka_unit_test(test_ws_conn_stalled_peer_times_out_send),
        cmocka_unit_test(test_ws_conn_allocation_failures),
        cmocka_unit_test(test_ws_fuzz_streams_never_crash_or_hang),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
