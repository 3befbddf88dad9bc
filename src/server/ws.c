/* WebSocket handshake key and frame codec (RFC 6455 sections 4.2.2 and 5.2). The parser never
 * reads past the length it is given and never allocates; it accepts non-minimal length
 * encodings (the RFC asks senders for minimal ones, readers lose nothing by tolerating them). */
#include "server/ws.h"

#include <nettle/base64.h>
#include <nettle/sha1.h>
#include <string.h>

#include "util/status.h"

static const char WS_GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static int is_base64_char(char ch) {
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '+' || ch == '/';
}

/* The key is 16 random bytes in base64: 22 alphabet characters and "==" padding. */
static int key_decodes_to_16_bytes(const char *key) {
    if (strlen(key) != 24 || key[22] != '=' || key[23] != '=') return 0;
    for (int i = 0; i < 22; i++)
        if (!is_base64_char(key[i])) return 0;
    struct base64_decode_ctx ctx;
    uint8_t raw[BASE64_DECODE_LENGTH(24)];
    size_t n_raw = sizeof raw;
    base64_decode_init(&ctx);
    if (!base64_decode_update(&ctx, &n_raw, raw, 24, key)) return 0;
    return base64_decode_final(&ctx) && n_raw == 16;
}

ifn_status ifn_ws_accept_key(const char *client_key, char out[29]) {
    if (!client_key || !out) return ifn_fail(IFN_E_INVALID, "ws: NULL key or output");
    if (!key_decodes_to_16_bytes(client_key))
        return ifn_fail(IFN_E_INVALID, "ws: Sec-WebSocket-Key is not 16 bytes in base64");
    struct sha1_ctx sha;
    uint8_t digest[SHA1_DIGEST_SIZE];
    sha1_init(&sha);
    sha1_update(&sha, 24, (const uint8_t *)client_key);
    sha1_update(&sha, sizeof WS_GUID - 1, (const uint8_t *)WS_GUID);
    sha1_digest(&sha, sizeof digest, digest);
    base64_encode_raw(out, sizeof digest, digest); /* BASE64_ENCODE_RAW_LENGTH(20) == 28 */
    out[28] = '\0';
    return IFN_OK;
}

static int is_control(unsigned opcode) {
    return (opcode & 0x8) != 0;
}

static int is_known_opcode(unsigned opcode) {
    return opcode <= IFN_WS_OPCODE_BINARY ||
           (opcode >= IFN_WS_OPCODE_CLOSE && opcode <= IFN_WS_OPCODE_PONG);
}

static ifn_status reject(uint16_t *out_close_code, uint16_t code, const char *what) {
    *out_close_code = code;
    return ifn_fail(IFN_E_FORMAT, "ws: %s", what);
}

/* Reads the payload length that starts at b[1]; returns the bytes it used after b[1] (0, 2 or
 * 8), or -1 when buf is too short to hold them. */
static int read_length(const uint8_t *b, size_t len, uint64_t *out_len) {
    unsigned len7 = b[1] & 0x7fu;
    if (len7 < 126) {
        *out_len = len7;
        return 0;
    }
    int n_ext = len7 == 126 ? 2 : 8;
    if (len < 2 + (size_t)n_ext) return -1;
    uint64_t v = 0;
    for (int i = 0; i < n_ext; i++)
        v = (v << 8) | b[2 + i];
    *out_len = v;
    return n_ext;
}

/* Checks the first byte and the MASK bit: everything knowable from two bytes. */
static ifn_status check_first_bytes(const uint8_t *b, int require_mask, uint16_t *out_code) {
    unsigned opcode = b[0] & 0x0fu;
    if (b[0] & 0x70u) return reject(out_code, IFN_WS_CLOSE_PROTOCOL_ERROR, "reserved bits set");
    if (!is_known_opcode(opcode))
        return reject(out_code, IFN_WS_CLOSE_PROTOCOL_ERROR, "reserved opcode");
    if (is_control(opcode) && !(b[0] & 0x80u))
        return reject(out_code, IFN_WS_CLOSE_PROTOCOL_ERROR, "fragmented control frame");
    if (is_control(opcode) && (b[1] & 0x7fu) > IFN_WS_MAX_CONTROL_PAYLOAD)
        return reject(out_code, IFN_WS_CLOSE_PROTOCOL_ERROR, "control frame over 125 bytes");
    if (require_mask && !(b[1] & 0x80u))
        return reject(out_code, IFN_WS_CLOSE_PROTOCOL_ERROR, "unmasked client frame");
    return IFN_OK;
}

ifn_status ifn_ws_frame_parse(const void *buf, size_t len, size_t max_payload_bytes,
                              int require_mask, ifn_ws_frame *out, uint16_t *out_close_code) {
    if (!buf || !out || !out_close_code) return ifn_fail(IFN_E_INVALID, "ws: NULL argument");
    const uint8_t *b = buf;
    if (len < 2) return IFN_E_AGAIN;
    ifn_status st = check_first_bytes(b, require_mask, out_close_code);
    if (st != IFN_OK) return st;

    uint64_t payload_len = 0;
    int n_ext = read_length(b, len, &payload_len);
    if (n_ext < 0) return IFN_E_AGAIN;
    if (payload_len >> 63)
        return reject(out_close_code, IFN_WS_CLOSE_PROTOCOL_ERROR, "64-bit length top bit set");
    if (!is_control(b[0] & 0x0fu) && payload_len > max_payload_bytes)
        return reject(out_close_code, IFN_WS_CLOSE_TOO_BIG, "frame exceeds the message limit");

    int is_masked = (b[1] & 0x80u) != 0;
    size_t header_len = 2 + (size_t)n_ext + (is_masked ? 4u : 0u);
    /* header_len <= len is not yet known, so compare without adding to payload_len first. */
    if (len < header_len || payload_len > len - header_len) return IFN_E_AGAIN;

    ifn_ws_frame f = {0};
    f.is_final = (b[0] & 0x80u) != 0;
    f.opcode = (ifn_ws_opcode)(b[0] & 0x0fu);
    f.is_masked = is_masked;
    if (is_masked) memcpy(f.mask_key, b + header_len - 4, 4);
    f.payload = b + header_len;
    f.payload_len = (size_t)payload_len;
    f.frame_len = header_len + (size_t)payload_len;
    *out = f;
    return IFN_OK;
}

size_t ifn_ws_frame_header_encode(uint8_t *out, int is_final, ifn_ws_opcode opcode,
                                  uint64_t payload_len, const uint8_t *mask_key) {
    size_t n = 2;
    out[0] = (uint8_t)((is_final ? 0x80u : 0u) | ((unsigned)opcode & 0x0fu));
    uint8_t mask_bit = mask_key ? 0x80u : 0u;
    if (payload_len < 126) {
        out[1] = (uint8_t)(mask_bit | payload_len);
    } else if (payload_len <= 0xffff) {
        out[1] = (uint8_t)(mask_bit | 126u);
        out[2] = (uint8_t)(payload_len >> 8);
        out[3] = (uint8_t)payload_len;
        n = 4;
    } else {
        out[1] = (uint8_t)(mask_bit | 127u);
        for (int i = 0; i < 8; i++)
            out[2 + i] = (uint8_t)(payload_len >> (56 - 8 * i));
        n = 10;
    }
    if (mask_key) {
        memcpy(out + n, mask_key, 4);
        n += 4;
    }
    return n;
}

void ifn_ws_mask_apply(uint8_t *data, size_t len, const uint8_t mask_key[4], size_t offset) {
    for (size_t i = 0; i < len; i++)
        data[i] ^= mask_key[(offset + i) & 3u];
}

int ifn_ws_close_code_is_valid(uint16_t code) {
    if (code >= 1000 && code <= 1003) return 1;
    if (code >= 1007 && code <= 1014) return 1;
    return code >= 3000 && code <= 4999;
}
