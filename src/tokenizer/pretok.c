/* Pre-tokenizer table and regex splitting (PCRE2). The regex strings are the ones the models'
 * tokenizer.json files declare, as llama.cpp's llama-vocab.cpp lists them per pre type; where
 * llama.cpp rewrote a pattern for std::regex we use the original, since PCRE2 has the Unicode
 * properties it needed. `\s` is widened to Unicode White_Space (PCRE2's \s lacks U+0085).
 * Invariant: pieces cover the input exactly once, in order, none empty. */
#include "tokenizer/pretok.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>

#include "util/alloc.h"
#include "util/compiler.h"
#include "util/status.h"
#include "util/utf8.h"

enum { MAX_REGEXES = 6 };

/* Regex sets: several names share one. */
typedef enum regex_set {
    RS_DEFAULT,
    RS_GPT2,
    RS_LLAMA3,
    RS_JAIS2,
    RS_DEEPSEEK_LLM,
    RS_DEEPSEEK_CODER,
    RS_DEEPSEEK3,
    RS_SPARK2_5,
    RS_YOUTU,
    RS_FALCON,
    RS_STARCODER,
    RS_QWEN2,
    RS_QWEN35,
    RS_BLOOM,
    RS_VIKING,
    RS_TEKKEN,
    RS_CHAMELEON,
    RS_GPT4O,
    RS_TINY_AYA,
    RS_KIMI_K2,
    RS_SUPERBPE,
    RS_BAILINGMOE,
    RS_SEED_CODER,
    RS_UFAKZEKA,
    RS_AFMOE,
    RS_LAGUNA,
    RS_EXAONE_MOE,
    RS_LINES,
    RS_MINICPM5,
    RS_WHITESPACE,
    RS_COUNT
} regex_set;

#define GPT2_RE "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define CONTRACTIONS_RE "(?i:'s|'t|'re|'ve|'m|'ll|'d)"
#define LLAMA3_RE                                                                                  \
    CONTRACTIONS_RE "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"    \
                    "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define QWEN2_RE                                                                                   \
    CONTRACTIONS_RE "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"         \
                    "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
/* Cased-letter classes of the GPT-4o style patterns (upper-ish run, then lower-ish run). */
#define UPPERISH "[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]"
#define LOWERISH "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]"
#define GPT4O_RE                                                                                   \
    "[^\\r\\n\\p{L}\\p{N}]?" UPPERISH "*" LOWERISH "+" CONTRACTIONS_RE "?"                         \
    "|[^\\r\\n\\p{L}\\p{N}]?" UPPERISH "+" LOWERISH "*" CONTRACTIONS_RE "?"                        \
    "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define DEEPSEEK3_MAIN_RE                                                                          \
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?"           \
    "[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define CJK_KANA_RE "[\\x{4e00}-\\x{9fa5}\\x{3040}-\\x{309f}\\x{30a0}-\\x{30ff}]+"
#define BLOOM_RE " ?[^(\\s|.,!?\\x{2026}\\x{3002}\\x{ff0c}\\x{3001}\\x{0964}\\x{06d4}\\x{060c})]+"
/* Cased letters (Unicode L&) as DeepSeek-LLM's tokenizer.json spells them. */
#define DEEPSEEK_LLM_LETTERS                                                                       \
    "A-Za-z\\x{b5}\\x{c0}-\\x{d6}\\x{d8}-\\x{f6}\\x{f8}-\\x{1ba}\\x{1bc}-\\x{1bf}"                 \
    "\\x{1c4}-\\x{293}\\x{295}-\\x{2af}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37b}-\\x{37d}"         \
    "\\x{37f}\\x{386}\\x{388}-\\x{38a}\\x{38c}\\x{38e}-\\x{3a1}\\x{3a3}-\\x{3f5}"                  \
    "\\x{3f7}-\\x{481}\\x{48a}-\\x{52f}\\x{531}-\\x{556}\\x{10a0}-\\x{10c5}\\x{13a0}-\\x{13f5}"    \
    "\\x{13f8}-\\x{13fd}\\x{1c90}-\\x{1cba}\\x{1cbd}-\\x{1cbf}\\x{1d00}-\\x{1d2b}"                 \
    "\\x{1d6b}-\\x{1d77}\\x{1d79}-\\x{1d9a}\\x{1e00}-\\x{1f15}\\x{1f18}-\\x{1f1d}"                 \
    "\\x{1f20}-\\x{1f45}\\x{1f48}-\\x{1f4d}\\x{1f50}-\\x{1f57}\\x{1f59}\\x{1f5b}\\x{1f5d}"         \
    "\\x{1f5f}-\\x{1f7d}\\x{1f80}-\\x{1fb4}\\x{1fb6}-\\x{1fbc}\\x{1fbe}\\x{1fc2}-\\x{1fc4}"        \
    "\\x{1fc6}-\\x{1fcc}\\x{1fd0}-\\x{1fd3}\\x{1fd6}-\\x{1fdb}\\x{1fe0}-\\x{1fec}"                 \
    "\\x{1ff2}-\\x{1ff4}\\x{1ff6}-\\x{1ffc}\\x{2102}\\x{2107}\\x{210a}-\\x{2113}\\x{2115}"         \
    "\\x{2119}-\\x{211d}\\x{2124}\\x{2126}\\x{2128}\\x{212a}-\\x{212d}\\x{212f}-\\x{2134}"         \
    "\\x{2139}\\x{213c}-\\x{213f}\\x{2145}-\\x{2149}\\x{214e}\\x{2183}\\x{2184}"                   \
    "\\x{2c00}-\\x{2c7b}\\x{2c7e}-\\x{2ce4}\\x{2ceb}-\\x{2cee}\\x{2cf2}\\x{2cf3}"                  \
    "\\x{a640}-\\x{a66d}\\x{a680}-\\x{a69b}\\x{a722}-\\x{a76f}\\x{a771}-\\x{a787}"                 \
    "\\x{a78b}-\\x{a78e}\\x{ab70}-\\x{abbf}\\x{fb00}-\\x{fb06}\\x{fb13}-\\x{fb17}"                 \
    "\\x{ff21}-\\x{ff3a}\\x{ff41}-\\x{ff5a}\\x{10400}-\\x{1044f}\\x{104b0}-\\x{104d3}"             \
    "\\x{104d8}-\\x{104fb}\\x{10c80}-\\x{10cb2}\\x{10cc0}-\\x{10cf2}\\x{118a0}-\\x{118df}"         \
    "\\x{1e900}-\\x{1e943}"
/* Kimi-K2: [X&&[^\p{Han}]] written as a negative lookahead before X. */
#define K2_UPPER "(?:(?!\\p{Han})[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}])"
#define K2_LOWER "(?:(?!\\p{Han})[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}])"

static const char *const k_regexes[RS_COUNT][MAX_REGEXES] = {
    [RS_DEFAULT] = {"[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2_RE, "\\p{N}+", "[0-9][0-9][0-9]"},
    [RS_GPT2] = {GPT2_RE},
    [RS_LLAMA3] = {LLAMA3_RE},
    [RS_JAIS2] = {CONTRACTIONS_RE "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
                                  "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+"
                                  "|\\s{512}(?!\\S)|\\s{256}(?!\\S)|\\s{128}(?!\\S)|\\s{64}(?!\\S)"
                                  "|\\s{32}(?!\\S)|\\s{16}(?!\\S)|\\s{8}(?!\\S)|\\s{4}(?!\\S)"
                                  "|\\s{1,2}(?!\\S)|\\s{1}"},
    [RS_DEEPSEEK_LLM] = {"[\\r\\n]", "\\s?[" DEEPSEEK_LLM_LETTERS "]+",
                         "\\s?[!-/:-~\\x{ff01}-\\x{ff0f}\\x{ff1a}-\\x{ff5e}\\x{2018}-\\x{201f}"
                         "\\x{3000}-\\x{3002}]+",
                         "\\s+$", "[\\x{4e00}-\\x{9fa5}\\x{0800}-\\x{4e00}\\x{ac00}-\\x{d7ff}]+",
                         "\\p{N}+"},
    [RS_DEEPSEEK_CODER] = {"[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+",
                           "[\\x{4e00}-\\x{9fa5}\\x{0800}-\\x{4e00}\\x{ac00}-\\x{d7ff}]+",
                           "\\p{N}"},
    [RS_DEEPSEEK3] = {"\\p{N}{1,3}", CJK_KANA_RE, DEEPSEEK3_MAIN_RE},
    [RS_SPARK2_5] = {"\\p{N}{1,3}", CJK_KANA_RE,
                     "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+"
                     "|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+|[\\r\\n]"
                     "|\\s+(?!\\S)|\\s+",
                     "\\p{N}"},
    [RS_YOUTU] = {"[\\x{ac00}-\\x{d7a3}\\x{3131}-\\x{318e}]+"
                  "|[\\x{ff01}\\x{2026}\\x{201c}\\x{201d}\\x{2018}\\x{2019}\\x{2014}\\x{ff1a}"
                  "\\x{ff1b}\\x{ff0c}\\x{3001}-\\x{303f}\\x{fe30}-\\x{fe4f}]+"
                  "|[\\x{3105}-\\x{312f}]+|" CJK_KANA_RE,
                  "[^\\r\\n\\p{L}\\p{N}]?" UPPERISH "*" LOWERISH "+" CONTRACTIONS_RE "?"
                  "|[^\\r\\n\\p{L}\\p{N}]?" UPPERISH "+" LOWERISH "*" CONTRACTIONS_RE "?"
                  "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
    [RS_FALCON] = {"[\\p{P}\\$\\+<=>\\^~\\|`]+", GPT2_RE, "[0-9][0-9][0-9]"},
    [RS_STARCODER] = {"\\p{N}", GPT2_RE},
    [RS_QWEN2] = {QWEN2_RE},
    [RS_QWEN35] = {CONTRACTIONS_RE "|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}"
                                   "| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+"
                                   "|\\s+(?!\\S)|\\s+"},
    [RS_BLOOM] = {BLOOM_RE},
    [RS_VIKING] = {BLOOM_RE, "\\p{N}"},
    [RS_TEKKEN] = {"[^\\r\\n\\p{L}\\p{N}]?" UPPERISH "*" LOWERISH "+"
                   "|[^\\r\\n\\p{L}\\p{N}]?" UPPERISH "+" LOWERISH "*"
                   "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
    [RS_CHAMELEON] = {"<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z",
                      "([\\t\\n]|    |  )", "\\p{N}", "[\\p{P}!-/:-@\\[-`{-~]", GPT2_RE},
    [RS_GPT4O] = {GPT4O_RE},
    [RS_TINY_AYA] = {"\\d{1,3}(?=(?:\\d{3})*\\b)", GPT4O_RE},
    [RS_KIMI_K2] = {"\\p{Han}+|[^\\r\\n\\p{L}\\p{N}]?" K2_UPPER "*" K2_LOWER "+" CONTRACTIONS_RE
                    "?|[^\\r\\n\\p{L}\\p{N}]?" K2_UPPER "+" K2_LOWER "*" CONTRACTIONS_RE
                    "?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
    [RS_SUPERBPE] = {"\\p{N}+", "(?=(\\d{3})+(?!\\d))"},
    [RS_BAILINGMOE] = {"'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}+|\\p{N}"
                       "| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"},
    [RS_SEED_CODER] = {CONTRACTIONS_RE
                       "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}"
                       "| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
    [RS_UFAKZEKA] = {"[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                     "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
    [RS_AFMOE] = {"\\p{N}{1,3}(?=(?:\\p{N}{3})*(?!\\p{N}))",
                  "[\\x{4e00}-\\x{9fff}\\x{3400}-\\x{4dbf}\\x{f900}-\\x{faff}\\x{3040}-\\x{309f}"
                  "\\x{30a0}-\\x{30ff}\\x{ff65}-\\x{ff9f}\\x{2f00}-\\x{2fdf}\\x{0e00}-\\x{0e7f}"
                  "\\x{0e80}-\\x{0eff}\\x{1780}-\\x{17ff}\\x{1000}-\\x{109f}\\x{aa60}-\\x{aa7f}"
                  "\\x{a9e0}-\\x{a9ff}\\x{ac00}-\\x{d7af}\\x{1100}-\\x{11ff}]+",
                  DEEPSEEK3_MAIN_RE},
    [RS_LAGUNA] = {"[^\\n]+|[\\n]+", QWEN2_RE},
    [RS_EXAONE_MOE] = {CONTRACTIONS_RE
                       "|[^\\r\\n\\p{L}\\p{N}]?(?:\\p{L}\\p{M}*(?: \\p{L}\\p{M}*)*)+"
                       "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]?|\\s*[\\r\\n]"
                       "|\\s+(?!\\S)|\\s+"},
    [RS_LINES] = {"[^\\n]+|[\\n]+"},
    [RS_MINICPM5] = {"\\p{N}{1,3}", CONTRACTIONS_RE "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+"
                                                    "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                                                    "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
    [RS_WHITESPACE] = {"\\S+"},
};

/* Per-name switches (bits), defaults being: byte-level, clean_spaces on, merges applied. */
enum {
    F_NO_CLEAN = 1,      /* clean_spaces = false */
    F_IGNORE_MERGES = 2, /* whole pre-token lookup first */
    F_ADD_BOS = 4,       /* add_bos = true */
    F_ADD_SEP = 8,       /* add_sep = true */
    F_RAW_UTF8 = 16,     /* no GPT-2 byte mapping */
    F_ESCAPE_WS = 32,    /* spaces as U+2581 */
};

typedef struct pre_entry {
    const char *name;
    regex_set set;
    int flags;
} pre_entry;

static const pre_entry k_entries[] = {
    {"default", RS_DEFAULT, 0},
    {"llama3", RS_LLAMA3, F_IGNORE_MERGES | F_ADD_BOS},
    {"llama-v3", RS_LLAMA3, F_IGNORE_MERGES | F_ADD_BOS},
    {"llama-bpe", RS_LLAMA3, F_IGNORE_MERGES | F_ADD_BOS},
    {"falcon3", RS_LLAMA3, F_IGNORE_MERGES | F_ADD_BOS},
    {"falcon-h1", RS_LLAMA3, F_IGNORE_MERGES | F_ADD_BOS},
    {"pixtral", RS_LLAMA3, F_IGNORE_MERGES | F_ADD_BOS},
    {"midm-2.0", RS_LLAMA3, F_IGNORE_MERGES | F_ADD_BOS},
    {"lfm2", RS_LLAMA3, F_IGNORE_MERGES | F_ADD_BOS},
    {"jina-v5-nano", RS_LLAMA3, F_IGNORE_MERGES | F_ADD_BOS},
    {"minicpm5", RS_MINICPM5, F_IGNORE_MERGES},
    {"deepseek-llm", RS_DEEPSEEK_LLM, F_NO_CLEAN},
    {"deepseek-coder", RS_DEEPSEEK_CODER, F_NO_CLEAN},
    {"deepseek-v3", RS_DEEPSEEK3, F_NO_CLEAN},
    {"hunyuan-dense", RS_DEEPSEEK3, F_NO_CLEAN},
    {"hy_v4", RS_DEEPSEEK3, F_NO_CLEAN},
    {"joyai-llm", RS_DEEPSEEK3, F_NO_CLEAN},
    {"spark2_5", RS_SPARK2_5, F_NO_CLEAN},
    {"youtu", RS_YOUTU, F_NO_CLEAN | F_IGNORE_MERGES},
    {"falcon", RS_FALCON, 0},
    {"mpt", RS_GPT2, 0},
    {"starcoder", RS_STARCODER, 0},
    {"refact", RS_STARCODER, 0},
    {"command-r", RS_STARCODER, F_NO_CLEAN},
    {"smollm", RS_STARCODER, F_NO_CLEAN},
    {"codeshell", RS_STARCODER, 0},
    {"exaone", RS_STARCODER, 0},
    {"minerva-7b", RS_STARCODER, 0},
    {"mellum2", RS_STARCODER, 0},
    {"gpt-2", RS_GPT2, 0},
    {"phi-2", RS_GPT2, 0},
    {"jina-es", RS_GPT2, 0},
    {"jina-de", RS_GPT2, 0},
    {"gigachat", RS_GPT2, 0},
    {"jina-v2-es", RS_GPT2, 0},
    {"jina-v2-de", RS_GPT2, 0},
    {"a.x-4.0", RS_GPT2, 0},
    {"mellum", RS_GPT2, 0},
    {"modern-bert", RS_GPT2, 0},
    {"exaone4", RS_GPT2, 0},
    {"olmo", RS_GPT2, 0},
    {"jais", RS_GPT2, 0},
    {"trillion", RS_GPT2, F_NO_CLEAN},
    {"granite-docling", RS_GPT2, F_NO_CLEAN},
    {"jina-v1-en", RS_GPT2, F_ADD_SEP},
    {"jina-v2-code", RS_GPT2, F_ADD_SEP},
    {"roberta-bpe", RS_GPT2, F_ADD_SEP},
    {"jais-2", RS_JAIS2, 0},
    {"gemma4", RS_LINES, F_RAW_UTF8 | F_ESCAPE_WS},
    {"granite-embed-multi-311m", RS_LINES, F_RAW_UTF8 | F_ESCAPE_WS},
    {"sarvam-moe", RS_LINES, F_RAW_UTF8 | F_ESCAPE_WS | F_NO_CLEAN},
    {"whitespace", RS_WHITESPACE, F_RAW_UTF8},
    {"qwen2", RS_QWEN2, F_NO_CLEAN},
    {"deepseek-r1-qwen", RS_QWEN2, F_NO_CLEAN},
    {"kormo", RS_QWEN2, F_NO_CLEAN},
    {"f2llmv2", RS_QWEN2, F_NO_CLEAN},
    {"megrez", RS_QWEN2, 0},
    {"stablelm2", RS_QWEN2, 0},
    {"hunyuan", RS_QWEN2, F_NO_CLEAN},
    {"solar-open", RS_QWEN2, F_NO_CLEAN},
    {"grok-2", RS_QWEN2, F_NO_CLEAN},
    {"qwen35", RS_QWEN35, F_NO_CLEAN},
    {"dbrx", RS_LLAMA3, 0},
    {"smaug-bpe", RS_LLAMA3, 0},
    {"glm4", RS_LLAMA3, 0},
    {"chatglm-bpe", RS_LLAMA3, 0},
    {"poro-chat", RS_BLOOM, F_NO_CLEAN},
    {"bloom", RS_BLOOM, 0},
    {"gpt3-finnish", RS_BLOOM, 0},
    {"viking", RS_VIKING, F_NO_CLEAN},
    {"tekken", RS_TEKKEN, F_NO_CLEAN | F_IGNORE_MERGES | F_ADD_BOS},
    {"exaone-moe", RS_EXAONE_MOE, 0},
    {"chameleon", RS_CHAMELEON, F_NO_CLEAN | F_ADD_BOS},
    {"gpt-4o", RS_GPT4O, F_NO_CLEAN},
    {"llama4", RS_GPT4O, F_NO_CLEAN},
    {"kanana2", RS_GPT4O, F_NO_CLEAN},
    {"talkie", RS_GPT4O, F_NO_CLEAN},
    {"minimax-m2", RS_GPT4O, F_NO_CLEAN},
    {"granite-embed-multi-97m", RS_GPT4O, F_NO_CLEAN | F_IGNORE_MERGES},
    {"tiny_aya", RS_TINY_AYA, F_NO_CLEAN},
    {"cohere2moe", RS_TINY_AYA, F_NO_CLEAN},
    {"superbpe", RS_SUPERBPE, F_NO_CLEAN},
    {"bailingmoe", RS_BAILINGMOE, F_NO_CLEAN},
    {"bailingmoe2", RS_BAILINGMOE, F_NO_CLEAN},
    {"llada-moe", RS_BAILINGMOE, F_NO_CLEAN},
    {"seed-coder", RS_SEED_CODER, F_NO_CLEAN},
    {"kimi-k2", RS_KIMI_K2, F_NO_CLEAN},
    {"ufakzeka", RS_UFAKZEKA, F_NO_CLEAN},
    {"afmoe", RS_AFMOE, F_NO_CLEAN},
    {"laguna", RS_LAGUNA, F_NO_CLEAN},
};

struct ifn_pretok {
    ifn_pretok_info info;
    pcre2_general_context *gctx;
    pcre2_code *codes[MAX_REGEXES];
    int n_codes;
    uint32_t max_pairs; /* ovector pairs the match data needs */
};

static void *pcre_malloc(size_t size, void *data) {
    (void)data;
    return ifn_malloc(size);
}

static void pcre_free(void *ptr, void *data) {
    (void)data;
    ifn_free(ptr);
}

static const pre_entry *find_entry(const char *name) {
    if (!name || !name[0]) name = "default";
    for (size_t i = 0; i < IFN_ARRAY_LEN(k_entries); i++) {
        if (strcmp(k_entries[i].name, name) == 0) return &k_entries[i];
    }
    return NULL;
}

static void fill_info(const pre_entry *e, ifn_pretok_info *info) {
    info->name = e->name;
    info->byte_encode = !(e->flags & F_RAW_UTF8);
    info->escape_whitespaces = !!(e->flags & F_ESCAPE_WS);
    info->ignore_merges = !!(e->flags & F_IGNORE_MERGES);
    info->clean_spaces = !(e->flags & F_NO_CLEAN);
    info->add_bos = (e->flags & F_ADD_BOS) ? 1 : -1;
    info->add_sep = !!(e->flags & F_ADD_SEP);
}

ifn_status ifn_pretok_lookup(const char *name, ifn_pretok_info *out_info) {
    const pre_entry *e = find_entry(name);
    if (!e) return ifn_fail(IFN_E_UNSUPPORTED, "pretok: unknown pre-tokenizer '%s'", name);
    fill_info(e, out_info);
    return IFN_OK;
}

int ifn_pretok_name_count(void) {
    return (int)IFN_ARRAY_LEN(k_entries);
}

const char *ifn_pretok_name_at(int index) {
    if (index < 0 || index >= ifn_pretok_name_count()) return NULL;
    return k_entries[index].name;
}

/* White_Space as Unicode (and Rust/Oniguruma) define it: PCRE2's \s plus U+0085. */
#define WS_CLASS_BODY "\\s\\x{85}"

/* Rewrites \s and \S so they match Unicode White_Space; the caller frees the result. */
static char *widen_whitespace(const char *src) {
    size_t n = strlen(src);
    char *dst = ifn_malloc(n * 6 + 1); /* "\s" (2) -> "[\s\x{85}]" (10) at most */
    if (!dst) return NULL;
    size_t o = 0;
    int in_class = 0;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (c == '\\' && i + 1 < n) {
            char e = src[++i];
            const char *rep = NULL;
            if (e == 's') rep = in_class ? WS_CLASS_BODY : "[" WS_CLASS_BODY "]";
            if (e == 'S' && !in_class) rep = "[^" WS_CLASS_BODY "]";
            if (rep) {
                memcpy(dst + o, rep, strlen(rep));
                o += strlen(rep);
            } else {
                dst[o++] = '\\';
                dst[o++] = e;
            }
            continue;
        }
        if (c == '[' && !in_class)
            in_class = 1;
        else if (c == ']' && in_class)
            in_class = 0;
        dst[o++] = c;
    }
    dst[o] = '\0';
    return dst;
}

static ifn_status compile_one(ifn_pretok *pt, const char *pattern) {
    char *widened = widen_whitespace(pattern);
    if (!widened) return ifn_fail(IFN_E_NOMEM, "pretok: no memory for a regex");
    pcre2_compile_context *cctx = pcre2_compile_context_create(pt->gctx);
    if (!cctx) {
        ifn_free(widened);
        return ifn_fail(IFN_E_NOMEM, "pretok: no memory for a compile context");
    }
    int err = 0;
    PCRE2_SIZE err_off = 0;
    uint32_t opts = PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY;
    pcre2_code *code =
        pcre2_compile((PCRE2_SPTR)widened, PCRE2_ZERO_TERMINATED, opts, &err, &err_off, cctx);
    pcre2_compile_context_free(cctx);
    ifn_free(widened);
    if (!code) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(err, msg, sizeof msg);
        if (err == PCRE2_ERROR_HEAP_FAILED) return ifn_fail(IFN_E_NOMEM, "pretok: %s", msg);
        return ifn_fail(IFN_E_INTERNAL, "pretok: regex of '%s' rejected at %zu: %s", pt->info.name,
                        (size_t)err_off, msg);
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); /* optional: the interpreter is the fallback */
    uint32_t n_captures = 0;
    pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &n_captures);
    if (n_captures + 1 > pt->max_pairs) pt->max_pairs = n_captures + 1;
    pt->codes[pt->n_codes++] = code;
    return IFN_OK;
}

ifn_status ifn_pretok_create(const char *name, ifn_pretok **out_pretok) {
    ifn_status st;
    const pre_entry *e = find_entry(name);
    if (!e) return ifn_fail(IFN_E_UNSUPPORTED, "pretok: unknown pre-tokenizer '%s'", name);
    ifn_pretok *pt = ifn_calloc(1, sizeof *pt);
    if (!pt) return ifn_fail(IFN_E_NOMEM, "pretok: no memory");
    fill_info(e, &pt->info);
    pt->max_pairs = 1;
    pt->gctx = pcre2_general_context_create(pcre_malloc, pcre_free, NULL);
    if (!pt->gctx) {
        st = ifn_fail(IFN_E_NOMEM, "pretok: no memory for a PCRE2 context");
        goto out;
    }
    for (int i = 0; i < MAX_REGEXES && k_regexes[e->set][i]; i++) {
        st = compile_one(pt, k_regexes[e->set][i]);
        if (st != IFN_OK) goto out;
    }
    *out_pretok = pt;
    pt = NULL;
    st = IFN_OK;
out:
    ifn_pretok_destroy(pt);
    return st;
}

void ifn_pretok_destroy(ifn_pretok *pretok) {
    if (!pretok) return;
    for (int i = 0; i < pretok->n_codes; i++)
        pcre2_code_free(pretok->codes[i]);
    pcre2_general_context_free(pretok->gctx);
    ifn_free(pretok);
}

const ifn_pretok_info *ifn_pretok_get_info(const ifn_pretok *pretok) {
    return &pretok->info;
}

int ifn_pretok_regex_count(const ifn_pretok *pretok) {
    return pretok->n_codes;
}

void ifn_pretok_pieces_free(ifn_pretok_pieces *pieces) {
    if (!pieces) return;
    ifn_free(pieces->items);
    pieces->items = NULL;
    pieces->count = 0;
    pieces->capacity = 0;
}

/* Appends [offset, offset + len); empty ranges are dropped. */
static ifn_status push_piece(ifn_pretok_pieces *v, size_t offset, size_t len) {
    if (len == 0) return IFN_OK;
    if (v->count == v->capacity) {
        size_t cap = v->capacity ? v->capacity * 2 : 64;
        size_t bytes;
        if (!ifn_mul_size(cap, sizeof *v->items, &bytes))
            return ifn_fail(IFN_E_NOMEM, "pretok: too many pieces");
        ifn_pretok_piece *items = ifn_realloc(v->items, bytes);
        if (!items) return ifn_fail(IFN_E_NOMEM, "pretok: no memory for pieces");
        v->items = items;
        v->capacity = cap;
    }
    v->items[v->count].offset = offset;
    v->items[v->count].len = len;
    v->count++;
    return IFN_OK;
}

/* Valid UTF-8 runs become pieces; each invalid byte becomes a one-byte piece of its own. */
static ifn_status split_invalid_utf8(const char *text, size_t len, ifn_pretok_pieces *out) {
    size_t run_start = 0, i = 0;
    while (i < len) {
        uint32_t cp;
        int n = ifn_utf8_decode(text + i, len - i, &cp);
        if (n > 0) {
            i += (size_t)n;
            continue;
        }
        ifn_status st = push_piece(out, run_start, i - run_start);
        if (st == IFN_OK) st = push_piece(out, i, 1);
        if (st != IFN_OK) return st;
        i++;
        run_start = i;
    }
    return push_piece(out, run_start, len - run_start);
}

/* A one-byte piece at or above 0x80 can only be an invalid byte: regexes leave it alone. */
static int is_invalid_byte_piece(const char *text, ifn_pretok_piece p) {
    return p.len == 1 && (unsigned char)text[p.offset] >= 0x80;
}

/* One match attempt; falls back to the interpreter if the JIT gives up (stack limit). */
static int match_at(const pcre2_code *code, const char *subj, size_t n, size_t pos, uint32_t opts,
                    pcre2_match_data *md) {
    opts |= PCRE2_NO_UTF_CHECK; /* pieces were validated by split_invalid_utf8 */
    int rc = pcre2_match(code, (PCRE2_SPTR)subj, n, pos, opts, md, NULL);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
        rc = pcre2_match(code, (PCRE2_SPTR)subj, n, pos, opts | PCRE2_NO_JIT, md, NULL);
    }
    return rc;
}

/* Splits one valid piece with one regex, llama.cpp style: matches and the gaps between them
 * all become pieces. An empty match retries at the same place for a non-empty one, then moves
 * on by one character. A regex that hits a PCRE2 limit leaves the rest as one piece. */
static ifn_status split_piece(const pcre2_code *code, const char *text, ifn_pretok_piece piece,
                              pcre2_match_data *md, ifn_pretok_pieces *out) {
    const char *subj = text + piece.offset;
    size_t n = piece.len, pos = 0, last = 0;
    uint32_t opts = 0;
    ifn_status st = IFN_OK;
    while (pos <= n && st == IFN_OK) {
        int rc = match_at(code, subj, n, pos, opts, md);
        if (rc == PCRE2_ERROR_NOMATCH && opts == 0) break;
        if (rc == PCRE2_ERROR_NOMATCH) { /* no non-empty match here: step one character */
            int step = pos < n ? ifn_utf8_seq_len((unsigned char)subj[pos]) : 1;
            pos += step > 0 ? (size_t)step : 1;
            opts = 0;
            continue;
        }
        if (rc == PCRE2_ERROR_NOMEMORY) return ifn_fail(IFN_E_NOMEM, "pretok: regex out of memory");
        if (rc < 0) break;
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t start = ov[0], end = ov[1];
        if (start < last || end < start) break; /* \K tricks; not in our table */
        st = push_piece(out, piece.offset + last, start - last);
        if (st == IFN_OK) st = push_piece(out, piece.offset + start, end - start);
        last = end;
        pos = end;
        opts = end == start ? PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED : 0;
    }
    if (st == IFN_OK && last < n) st = push_piece(out, piece.offset + last, n - last);
    return st;
}

static ifn_status apply_regex(const pcre2_code *code, const char *text, const ifn_pretok_pieces *in,
                              pcre2_match_data *md, ifn_pretok_pieces *out) {
    out->count = 0;
    for (size_t i = 0; i < in->count; i++) {
        ifn_pretok_piece p = in->items[i];
        ifn_status st = is_invalid_byte_piece(text, p) ? push_piece(out, p.offset, p.len)
                                                       : split_piece(code, text, p, md, out);
        if (st != IFN_OK) return st;
    }
    return IFN_OK;
}

ifn_status ifn_pretok_split(const ifn_pretok *pretok, const char *text, size_t len,
                            ifn_pretok_pieces *out) {
    ifn_status st;
    ifn_pretok_pieces tmp = {0};
    pcre2_match_data *md = NULL;
    out->count = 0;
    st = split_invalid_utf8(text, len, out);
    if (st != IFN_OK || pretok->n_codes == 0 || out->count == 0) goto out;
    md = pcre2_match_data_create(pretok->max_pairs, pretok->gctx);
    if (!md) {
        st = ifn_fail(IFN_E_NOMEM, "pretok: no memory for match data");
        goto out;
    }
    for (int r = 0; r < pretok->n_codes; r++) {
        st = apply_regex(pretok->codes[r], text, out, md, &tmp);
        if (st != IFN_OK) goto out;
        ifn_pretok_pieces swap = *out;
        *out = tmp;
        tmp = swap;
    }
out:
    if (st != IFN_OK) out->count = 0;
    pcre2_match_data_free(md);
    ifn_pretok_pieces_free(&tmp);
    return st;
}
