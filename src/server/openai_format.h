/* JSON pieces of OpenAI responses: usage, logprobs (chat and legacy completions shapes), and
 * streaming chunks. Every function returns a new reference, or NULL when out of memory. */
#ifndef IFN_SERVER_OPENAI_FORMAT_H
#define IFN_SERVER_OPENAI_FORMAT_H

#include <jansson.h>
#include <stdint.h>

#include "engine/sampler.h"
#include "server/openai_params.h"
#include "tokenizer/vocab.h"

/* {"prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details":
 * {"cached_tokens"}} */
json_t *ifn_openai_format_usage(int64_t prompt_tokens, int64_t completion_tokens,
                                int64_t cached_tokens);

/* Chat: one entry of choices[].logprobs.content: {"token", "logprob", "bytes", "top_logprobs"}. */
json_t *ifn_openai_format_chat_logprob(const ifn_vocab *vocab, const ifn_sampler_logprobs *lp);

/* Completions: an empty {"tokens", "token_logprobs", "top_logprobs", "text_offset"}, and
 * appending one token to it. text_offset is in characters, the sum of the earlier tokens'
 * lengths (echoed prompt included); returns the offset after this token, or -1 when out of
 * memory. */
json_t *ifn_openai_format_completion_logprobs(void);
int64_t ifn_openai_format_completion_logprobs_add(json_t *logprobs, const ifn_vocab *vocab,
                                                  const ifn_sampler_logprobs *lp,
                                                  int64_t text_offset);

/* One streaming chunk for choice `index`: chat puts text in delta.content (and the role in the
 * first chunk when `with_role`), completions in "text". `logprobs` is stolen (may be NULL);
 * finish_reason NULL = still running. */
json_t *ifn_openai_format_chunk(ifn_openai_endpoint endpoint, const char *id, int64_t created,
                                const char *model, int32_t index, const char *text, size_t len,
                                int with_role, json_t *logprobs, const char *finish_reason);

/* Count of characters (code points) in text[0..len) as JSON will show it (invalid bytes count
 * as one U+FFFD each). */
int64_t ifn_openai_format_char_count(const char *text, size_t len);

/* The final usage-only chunk (choices empty). */
json_t *ifn_openai_format_usage_chunk(ifn_openai_endpoint endpoint, const char *id,
                                      int64_t created, const char *model, json_t *usage);

#endif
