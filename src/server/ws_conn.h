/* One server-side WebSocket connection over a socket that has already been upgraded (the HTTP
 * layer answered the handshake). Reads whole TEXT messages, answers pings and the close
 * handshake itself, and sends text frames from any thread. Binary messages are refused (1003):
 * our protocol is JSON text. Does not own the fd and never changes its flags: it works with
 * blocking and non-blocking sockets alike, and the caller closes the fd (through MHD).
 * Threads: one reader thread calls read_message; send_text, close and is_closed may be called
 * from any thread at the same time. */
#ifndef IFN_SERVER_WS_CONN_H
#define IFN_SERVER_WS_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "inferneo/status.h"

typedef struct ifn_ws_conn ifn_ws_conn;

typedef struct ifn_ws_conn_params {
    /* Largest reassembled message accepted; a bigger one is closed with 1009. */
    size_t max_message_bytes;
    /* With nothing received and nothing sent for this long, read_message closes with 1001
     * and returns IFN_E_TIMEOUT. -1: never. */
    int64_t idle_timeout_ms;
    /* Bound on writing one frame to a peer that stops reading (-1: no bound). When it runs
     * out mid-frame the stream is unusable and the connection counts as closed. */
    int64_t send_timeout_ms;
} ifn_ws_conn_params;

/* max_message_bytes 1 MiB, idle_timeout_ms -1, send_timeout_ms 10 s. Cannot fail. */
ifn_ws_conn_params ifn_ws_conn_params_default(void);

/* Wraps a connected socket. initial[0..n_initial) are bytes already read from it past the
 * HTTP headers (MHD's extra_in); they are copied. p NULL means defaults. The fd stays the
 * caller's and must outlive the connection.
 * Errors: IFN_E_INVALID (fd < 0, initial NULL with n_initial > 0, max_message_bytes 0),
 * IFN_E_NOMEM. */
ifn_status ifn_ws_conn_create(int fd, const void *initial, size_t n_initial,
                              const ifn_ws_conn_params *p, ifn_ws_conn **out_conn);

/* Closes nothing on the wire (call close first for a clean goodbye) and frees the connection;
 * NULL does nothing. No other call may be running or start on it. */
void ifn_ws_conn_destroy(ifn_ws_conn *c);

/* Waits up to timeout_ms (-1: forever, 0: only what is already buffered or readable now) for
 * the next complete TEXT message. Fragments are reassembled, pings answered with pongs of the
 * same payload, pongs ignored. After close() was called, data messages are dropped and this
 * waits for the peer's close frame. Reader thread only.
 * On IFN_OK, *out_text is a NUL-terminated ifn_malloc'd copy of the message (valid UTF-8,
 * may contain NUL bytes) that the caller frees with ifn_free, and *out_len its length.
 * Errors (outputs untouched):
 * IFN_E_AGAIN   timeout_ms passed without a complete message; call again, nothing is lost.
 * IFN_E_IO      the peer sent a close frame (answered with the same code), the socket hit
 *               EOF or failed, or the connection was already closed.
 * IFN_E_FORMAT  the peer broke the protocol; the matching close frame (1002, 1003 for binary,
 *               1007 for invalid UTF-8, 1009 for a message over max_message_bytes) was sent.
 * IFN_E_TIMEOUT idle_timeout_ms passed with no traffic; a 1001 close was sent.
 * IFN_E_NOMEM   reassembly could not grow (a 1011 close was sent).
 * IFN_E_INVALID NULL arguments.
 * A failed send on another thread is noticed at the next wake-up, not at once: a reader that
 * must stop promptly (server shutdown) should use a finite timeout_ms and call again. */
ifn_status ifn_ws_conn_read_message(ifn_ws_conn *c, int timeout_ms, char **out_text,
                                    size_t *out_len);

/* Sends text[0..len) as one unmasked, unfragmented TEXT frame. The caller vouches that it is
 * valid UTF-8. Thread-safe: a mutex keeps frames whole when several threads send, and is held
 * only while this one frame is written (bounded by send_timeout_ms).
 * Errors: IFN_E_IO (closed already, or the peer is gone: never SIGPIPE), IFN_E_TIMEOUT (the
 * peer stopped reading; the connection now counts as closed), IFN_E_INVALID. */
ifn_status ifn_ws_conn_send_text(ifn_ws_conn *c, const char *text, size_t len);

/* Starts the close handshake: sends one close frame with `code` and `reason` (NULL for none;
 * cut to the 123 bytes that fit, at a UTF-8 boundary). Afterwards send_text fails and
 * read_message waits for the peer's close. A second call, or a call after the peer closed,
 * sends nothing and returns IFN_OK. Thread-safe.
 * Errors: IFN_E_INVALID (code not sendable, see ifn_ws_close_code_is_valid), IFN_E_IO (the
 * socket failed or the peer hung up without a close frame), IFN_E_TIMEOUT (as for send_text). */
ifn_status ifn_ws_conn_close(ifn_ws_conn *c, uint16_t code, const char *reason);

/* 1 once nothing more can be sent: a close frame went out (ours or our reply to the peer's),
 * the socket failed, or the peer hung up (EOF). Thread-safe. */
int ifn_ws_conn_is_closed(const ifn_ws_conn *c);

#endif
