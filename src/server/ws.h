/* WebSocket (RFC 6455) pieces that touch no socket: the handshake's Sec-WebSocket-Accept value
 * and the frame codec (parse one frame from a byte buffer, encode a frame header, apply a
 * mask). Pure functions on caller buffers, safe from any thread. Message reassembly, control
 * frames and the close handshake live in server/ws_conn.h; the HTTP upgrade itself is the
 * HTTP layer's job. No extensions (permessage-deflate) and no subprotocols. */
#ifndef IFN_SERVER_WS_H
#define IFN_SERVER_WS_H

#include <stddef.h>
#include <stdint.h>

#include "inferneo/status.h"

/* Frame opcodes (RFC 6455 section 5.2). 0x3-0x7 and 0xB-0xF are reserved. */
typedef enum ifn_ws_opcode {
    IFN_WS_OPCODE_CONTINUATION = 0x0,
    IFN_WS_OPCODE_TEXT = 0x1,
    IFN_WS_OPCODE_BINARY = 0x2,
    IFN_WS_OPCODE_CLOSE = 0x8,
    IFN_WS_OPCODE_PING = 0x9,
    IFN_WS_OPCODE_PONG = 0xA,
} ifn_ws_opcode;

/* Close status codes we send (RFC 6455 section 7.4.1); they travel as uint16_t. */
typedef enum ifn_ws_close {
    IFN_WS_CLOSE_NORMAL = 1000,
    IFN_WS_CLOSE_GOING_AWAY = 1001,
    IFN_WS_CLOSE_PROTOCOL_ERROR = 1002,
    IFN_WS_CLOSE_UNSUPPORTED_DATA = 1003,
    IFN_WS_CLOSE_INVALID_PAYLOAD = 1007,
    IFN_WS_CLOSE_POLICY = 1008,
    IFN_WS_CLOSE_TOO_BIG = 1009,
    IFN_WS_CLOSE_INTERNAL_ERROR = 1011,
} ifn_ws_close;

/* Longest frame header: 2 bytes + 8 length bytes + 4 mask bytes. */
#define IFN_WS_MAX_HEADER_BYTES 14
/* Control frames (close, ping, pong) carry at most this many payload bytes. */
#define IFN_WS_MAX_CONTROL_PAYLOAD 125

/* One parsed frame. */
typedef struct ifn_ws_frame {
    int is_final; /* FIN bit */
    ifn_ws_opcode opcode;
    int is_masked; /* MASK bit; mask_key is meaningful only when set */
    uint8_t mask_key[4];
    const uint8_t *payload; /* borrowed from the parsed buffer, still masked if is_masked */
    size_t payload_len;
    size_t frame_len; /* header plus payload: bytes to drop from the buffer */
} ifn_ws_frame;

/* Computes Sec-WebSocket-Accept for a client's Sec-WebSocket-Key: base64(SHA-1(key + GUID)).
 * out receives 28 characters and a NUL. Thread-safe.
 * Errors: IFN_E_INVALID when client_key is NULL or not 24 base64 characters that decode to
 * 16 bytes (out untouched). */
ifn_status ifn_ws_accept_key(const char *client_key, char out[29]);

/* Parses the frame at the start of buf[0..len). Checks everything one frame can show on its
 * own: reserved bits, reserved opcodes, fragmented or oversized (> 125) control frames, the
 * top bit of a 64-bit length, a missing mask when require_mask is set (client-to-server
 * frames), and a data-frame payload above max_payload_bytes (control frames are bounded by
 * 125 alone). Whether a continuation fits the message in progress is the caller's concern.
 * Reads at most len bytes. Thread-safe.
 * Returns IFN_OK with *out filled once the whole frame (header and payload) is in buf;
 * IFN_E_AGAIN when more bytes are needed (nothing written); IFN_E_FORMAT when the bytes can
 * never form a valid frame, and then, unlike other outputs, *out_close_code receives the close
 * status to send (1002 for protocol errors, 1009 for an oversized payload) and *out is
 * untouched. A 1009 is reported as soon as the header is complete, before the payload
 * arrives. Errors: IFN_E_INVALID for NULL pointers. */
ifn_status ifn_ws_frame_parse(const void *buf, size_t len, size_t max_payload_bytes,
                              int require_mask, ifn_ws_frame *out, uint16_t *out_close_code);

/* Writes a frame header into out (room for IFN_WS_MAX_HEADER_BYTES) using the shortest length
 * encoding, and returns its size (2 to 14). mask_key NULL means unmasked (server-to-client);
 * otherwise the 4 key bytes are written and the MASK bit set. The caller is responsible for a
 * valid opcode and for control frames being final and short. Cannot fail. */
size_t ifn_ws_frame_header_encode(uint8_t *out, int is_final, ifn_ws_opcode opcode,
                                  uint64_t payload_len, const uint8_t *mask_key);

/* XORs data[0..len) in place with the mask key; `offset` is the position of data[0] within the
 * payload, so a payload can be (un)masked in pieces. Applying it twice restores the data.
 * Cannot fail. */
void ifn_ws_mask_apply(uint8_t *data, size_t len, const uint8_t mask_key[4], size_t offset);

/* 1 if a peer may send `code` in a close frame: 1000-1003, 1007-1014 and 3000-4999 (1004-1006
 * and 1015 are reserved and never go on the wire). Cannot fail. */
int ifn_ws_close_code_is_valid(uint16_t code);

#endif
