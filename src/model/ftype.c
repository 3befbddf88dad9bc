/* File types and llama-quantize's tensor type rules (llama_tensor_get_type in llama.cpp's
 * src/llama-quant.cpp), restricted to what applies to a Llama model without experts, without
 * an importance matrix and with a separate output.weight. Each rule names the tensor kind it
 * covers; the branch order of the original is kept where it matters. */
#include "model/ftype.h"

#include <string.h>
#include <strings.h>

#include "util/status.h"

typedef struct ftype_entry {
    const char *name;
    ifn_ftype ftype;
    ifn_dtype base_type;
} ftype_entry;

/* Canonical names first; aliases after, so ifn_ftype_name finds the canonical one. */
static const ftype_entry g_ftypes[] = {
    {"F32", IFN_FTYPE_F32, IFN_DTYPE_F32},          {"F16", IFN_FTYPE_F16, IFN_DTYPE_F16},
    {"BF16", IFN_FTYPE_BF16, IFN_DTYPE_BF16},       {"Q8_0", IFN_FTYPE_Q8_0, IFN_DTYPE_Q8_0},
    {"Q4_0", IFN_FTYPE_Q4_0, IFN_DTYPE_Q4_0},       {"Q4_1", IFN_FTYPE_Q4_1, IFN_DTYPE_Q4_1},
    {"Q5_0", IFN_FTYPE_Q5_0, IFN_DTYPE_Q5_0},       {"Q5_1", IFN_FTYPE_Q5_1, IFN_DTYPE_Q5_1},
    {"Q2_K", IFN_FTYPE_Q2_K, IFN_DTYPE_Q2_K},       {"Q3_K_S", IFN_FTYPE_Q3_K_S, IFN_DTYPE_Q3_K},
    {"Q3_K_M", IFN_FTYPE_Q3_K_M, IFN_DTYPE_Q3_K},   {"Q3_K_L", IFN_FTYPE_Q3_K_L, IFN_DTYPE_Q3_K},
    {"Q4_K_S", IFN_FTYPE_Q4_K_S, IFN_DTYPE_Q4_K},   {"Q4_K_M", IFN_FTYPE_Q4_K_M, IFN_DTYPE_Q4_K},
    {"Q5_K_S", IFN_FTYPE_Q5_K_S, IFN_DTYPE_Q5_K},   {"Q5_K_M", IFN_FTYPE_Q5_K_M, IFN_DTYPE_Q5_K},
    {"Q6_K", IFN_FTYPE_Q6_K, IFN_DTYPE_Q6_K},       {"IQ4_NL", IFN_FTYPE_IQ4_NL, IFN_DTYPE_IQ4_NL},
    {"IQ4_XS", IFN_FTYPE_IQ4_XS, IFN_DTYPE_IQ4_XS}, {"Q3_K", IFN_FTYPE_Q3_K_M, IFN_DTYPE_Q3_K},
    {"Q4_K", IFN_FTYPE_Q4_K_M, IFN_DTYPE_Q4_K},     {"Q5_K", IFN_FTYPE_Q5_K_M, IFN_DTYPE_Q5_K},
};

#define FTYPE_NAMES                                                                                \
    "F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K_S, Q3_K_M (Q3_K), Q3_K_L, "          \
    "Q4_K_S, Q4_K_M (Q4_K), Q5_K_S, Q5_K_M (Q5_K), Q6_K, IQ4_NL, IQ4_XS"

const char *ifn_ftype_names(void) {
    return FTYPE_NAMES;
}

static const ftype_entry *find_entry(ifn_ftype ftype) {
    for (size_t i = 0; i < sizeof g_ftypes / sizeof g_ftypes[0]; i++)
        if (g_ftypes[i].ftype == ftype) return &g_ftypes[i];
    return NULL;
}

ifn_status ifn_ftype_parse(const char *name, ifn_ftype *out_ftype) {
    for (size_t i = 0; i < sizeof g_ftypes / sizeof g_ftypes[0]; i++) {
        if (strcasecmp(name, g_ftypes[i].name) == 0) {
            *out_ftype = g_ftypes[i].ftype;
            return IFN_OK;
        }
    }
    return ifn_fail(IFN_E_INVALID, "unknown type '%s' (known: %s)", name, FTYPE_NAMES);
}

const char *ifn_ftype_name(ifn_ftype ftype) {
    const ftype_entry *e = find_entry(ftype);
    return e ? e->name : "?";
}

ifn_dtype ifn_ftype_base_type(ifn_ftype ftype) {
    const ftype_entry *e = find_entry(ftype);
    return e ? e->base_type : IFN_DTYPE_F32;
}

void ifn_ftype_mix_init(ifn_ftype_mix *mix, ifn_ftype ftype, int32_t n_layer, int32_t n_head,
                        int32_t n_head_kv, int is_pure) {
    memset(mix, 0, sizeof *mix);
    mix->ftype = ftype;
    mix->is_pure = is_pure;
    mix->n_layer = n_layer;
    mix->n_gqa = n_head_kv > 0 ? n_head / n_head_kv : 0;
    mix->is_70b = n_layer == 80 && n_head != n_head_kv;
}

static int64_t block_elems(ifn_dtype type) {
    return ifn_dtype_get_info((uint32_t)type)->block_elems;
}

static int is_quantized(ifn_dtype type) {
    return type != IFN_DTYPE_F32 && type != IFN_DTYPE_F16 && type != IFN_DTYPE_BF16;
}

/* The first layers, the last ones and every third in between get more bits. */
static int use_more_bits(int32_t i_layer, int32_t n_layer) {
    return i_layer < n_layer / 8 || i_layer >= 7 * n_layer / 8 || (i_layer - n_layer / 8) % 3 == 2;
}

static ifn_dtype type_for_output(ifn_dtype type, int64_t ne0) {
    if (ne0 % block_elems(type) != 0) return IFN_DTYPE_Q8_0;
    return type == IFN_DTYPE_Q8_0 ? type : IFN_DTYPE_Q6_K;
}

static ifn_dtype type_for_attn_v(ifn_ftype_mix *mix, ifn_dtype type) {
    ifn_ftype f = mix->ftype;
    int32_t i = mix->i_attn_v++, n = mix->n_layer; /* n_attention_wv: one attn_v per layer */
    if (f == IFN_FTYPE_Q2_K)
        type = mix->n_gqa >= 4 ? IFN_DTYPE_Q4_K : IFN_DTYPE_Q3_K;
    else if (f == IFN_FTYPE_Q3_K_M)
        type = i < 2 ? IFN_DTYPE_Q5_K : IFN_DTYPE_Q4_K;
    else if (f == IFN_FTYPE_Q3_K_L)
        type = IFN_DTYPE_Q5_K;
    else if ((f == IFN_FTYPE_IQ4_NL || f == IFN_FTYPE_IQ4_XS) && mix->n_gqa >= 4)
        type = IFN_DTYPE_Q5_K;
    else if ((f == IFN_FTYPE_Q4_K_M || f == IFN_FTYPE_Q5_K_M) && use_more_bits(i, n))
        type = IFN_DTYPE_Q6_K;
    else if (f == IFN_FTYPE_Q4_K_S && i < 4)
        type = IFN_DTYPE_Q5_K;
    /* 70B shares each attn_v among 8 heads: it is 8x smaller, so more bits are cheap */
    if (mix->is_70b && (type == IFN_DTYPE_Q3_K || type == IFN_DTYPE_Q4_K)) type = IFN_DTYPE_Q5_K;
    return type;
}

static ifn_dtype type_for_ffn_down(ifn_ftype_mix *mix, ifn_dtype type) {
    ifn_ftype f = mix->ftype;
    int32_t i = mix->i_ffn_down++, n = mix->n_layer;
    if (f == IFN_FTYPE_Q2_K)
        type = IFN_DTYPE_Q3_K;
    else if (f == IFN_FTYPE_Q3_K_M)
        type = i < n / 16 ? IFN_DTYPE_Q5_K : IFN_DTYPE_Q4_K;
    else if (f == IFN_FTYPE_Q3_K_L)
        type = IFN_DTYPE_Q5_K;
    else if (f == IFN_FTYPE_Q4_K_M)
        type = use_more_bits(i, n) ? IFN_DTYPE_Q6_K : type;
    else if (i < n / 8 && (f == IFN_FTYPE_IQ4_NL || f == IFN_FTYPE_IQ4_XS))
        type = IFN_DTYPE_Q5_K;
    else if (f == IFN_FTYPE_Q5_K_M && use_more_bits(i, n))
        type = IFN_DTYPE_Q6_K;
    else if (f == IFN_FTYPE_Q4_K_S && i < n / 8)
        type = IFN_DTYPE_Q5_K;
    return type;
}

static ifn_dtype type_for_attn_output(const ifn_ftype_mix *mix, ifn_dtype type) {
    if (mix->ftype == IFN_FTYPE_Q2_K) return IFN_DTYPE_Q3_K;
    if (mix->ftype == IFN_FTYPE_Q3_K_M) return IFN_DTYPE_Q4_K;
    if (mix->ftype == IFN_FTYPE_Q3_K_L) return IFN_DTYPE_Q5_K;
    return type;
}

static ifn_dtype type_for_attn_qkv(const ifn_ftype_mix *mix, ifn_dtype type) {
    ifn_ftype f = mix->ftype;
    if (f == IFN_FTYPE_Q3_K_M || f == IFN_FTYPE_Q3_K_L) return IFN_DTYPE_Q4_K;
    if (f == IFN_FTYPE_Q4_K_M) return IFN_DTYPE_Q5_K;
    if (f == IFN_FTYPE_Q5_K_M) return IFN_DTYPE_Q6_K;
    return type;
}

/* llama_tensor_get_type's choice before the block-size fallback. */
static ifn_dtype mixture_type(ifn_ftype_mix *mix, const char *name, int64_t ne0, ifn_dtype type) {
    if (strcmp(name, "output.weight") == 0) return type_for_output(type, ne0);
    if (strcmp(name, "token_embd.weight") == 0) return type;
    if (strstr(name, "attn_v.weight")) return type_for_attn_v(mix, type);
    if (strstr(name, "ffn_down")) return type_for_ffn_down(mix, type);
    if (strstr(name, "attn_output.weight")) return type_for_attn_output(mix, type);
    if (strstr(name, "attn_qkv.weight")) return type_for_attn_qkv(mix, type);
    return type;
}

static ifn_status fallback_type(const char *name, int64_t ne0, ifn_dtype *type) {
    if (ne0 % block_elems(*type) == 0) return IFN_OK;
    ifn_dtype wanted = *type;
    switch (wanted) {
    case IFN_DTYPE_Q2_K:
    case IFN_DTYPE_Q3_K:
    case IFN_DTYPE_IQ4_XS:
        *type = IFN_DTYPE_IQ4_NL;
        break;
    case IFN_DTYPE_Q4_K:
        *type = IFN_DTYPE_Q5_0;
        break;
    case IFN_DTYPE_Q5_K:
        *type = IFN_DTYPE_Q5_1;
        break;
    case IFN_DTYPE_Q6_K:
        *type = IFN_DTYPE_Q8_0;
        break;
    default:
        return ifn_fail(IFN_E_UNSUPPORTED,
                        "tensor %s: rows of %lld elements are not whole %s "
                        "blocks of %lld",
                        name, (long long)ne0, ifn_dtype_get_info((uint32_t)wanted)->name,
                        (long long)block_elems(wanted));
    }
    if (ne0 % block_elems(*type) != 0) *type = IFN_DTYPE_F16;
    return IFN_OK;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

ifn_status ifn_ftype_mix_choose(ifn_ftype_mix *mix, const char *name, int32_t n_dims, int64_t ne0,
                                ifn_dtype *out_type) {
    int is_matrix = ends_with(name, "weight") && n_dims >= 2 && !strstr(name, "_norm.weight");
    ifn_dtype type = ifn_ftype_base_type(mix->ftype);
    if (!is_matrix) {
        *out_type = IFN_DTYPE_F32; /* the source type: norms and vectors are never converted */
        return IFN_OK;
    }
    if (!is_quantized(type)) {
        *out_type = type;
        return IFN_OK;
    }
    if (!mix->is_pure) type = mixture_type(mix, name, ne0, type);
    ifn_status st = fallback_type(name, ne0, &type);
    if (st == IFN_OK) *out_type = type;
    return st;
}
