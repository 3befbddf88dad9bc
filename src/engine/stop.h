/* Stop-string matching for streamed output: decoded text goes in piece by piece, and out comes
 * the text that is safe to send now. Bytes that could be the start of a stop string are held
 * back until the next pieces settle it, so a client never sees part of a stop string; when
 * one matches, the text before it is released and the stop string itself is dropped (OpenAI
 * behaviour). Matching is on exact bytes (no case folding, no token ids).
 * Ownership: one matcher per sequence, used by one thread at a time; not thread-safe. */
#ifndef IFN_ENGINE_STOP_H
#define IFN_ENGINE_STOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inferneo/status.h"
#include "util/str.h"

typedef struct ifn_stop_matcher ifn_stop_matcher;

/* What one push or flush releases. */
typedef struct ifn_stop_result {
    /* Bytes to send now: borrowed from the matcher, valid until its next push, flush, reset
     * or destroy. Never ends inside a UTF-8 sequence that the next piece could complete
     * (except from flush, which releases everything). */
    const char *emit;
    size_t emit_len;
    bool is_stopped;    /* a stop string matched: emit is the text before it; generation ends */
    int32_t stop_index; /* index into the create-time list of the stop string that matched; -1 */
} ifn_stop_result;

/* Creates a matcher for stops[0..n_stops) (n_stops may be 0: everything passes through).
 * Copies the strings. When several stop strings could match, the one that completes first in
 * the text wins, and among those ending at the same byte the longest; so the result does not
 * depend on how the text was split into pieces.
 * Errors: IFN_E_INVALID (an empty stop string, n_stops < 0, NULL list), IFN_E_NOMEM. */
ifn_status ifn_stop_matcher_create(const ifn_str *stops, int32_t n_stops,
                                   ifn_stop_matcher **out_matcher);

/* Frees the matcher; NULL does nothing. */
void ifn_stop_matcher_destroy(ifn_stop_matcher *m);

/* Forgets all text and any match, ready for a new sequence. Cannot fail. */
void ifn_stop_matcher_reset(ifn_stop_matcher *m);

/* Consumes text[0..len) (any split: mid-word, mid-UTF-8 sequence) and fills *out. Once a stop
 * string has matched, further pushes release nothing and report the same match again.
 * Amortized O(len * n_stops); allocates only when a piece is larger than any seen before.
 * Errors: IFN_E_NOMEM (nothing consumed; *out untouched). */
ifn_status ifn_stop_matcher_push(ifn_stop_matcher *m, const char *text, size_t len,
                                 ifn_stop_result *out);

/* End of generation: releases every byte still held back (a held prefix of a stop string that
 * never completed is ordinary text). After a match it releases nothing and reports the match.
 * Further pushes start matching afresh. Cannot fail. */
void ifn_stop_matcher_flush(ifn_stop_matcher *m, ifn_stop_result *out);

/* Bytes currently held back (received but not yet released). Cannot fail. */
size_t ifn_stop_matcher_held_bytes(const ifn_stop_matcher *m);

#endif
