/* Model file types (GGUF general.file_type, numbered as llama.cpp's llama_ftype) and the
 * per-tensor type choice llama-quantize makes for each of them without an importance matrix:
 * which tensors of a Q4_K_M model get Q6_K, which rows too short for 256-element blocks fall
 * back to Q5_0, and so on. Covers the Llama architecture (no experts); it decides types only
 * and converts no data. */
#ifndef IFN_MODEL_FTYPE_H
#define IFN_MODEL_FTYPE_H

#include <stdint.h>

#include "inferneo/status.h"
#include "kernels/dtype.h"

typedef enum ifn_ftype {
    IFN_FTYPE_F32 = 0,
    IFN_FTYPE_F16 = 1,
    IFN_FTYPE_Q4_0 = 2,
    IFN_FTYPE_Q4_1 = 3,
    IFN_FTYPE_Q8_0 = 7,
    IFN_FTYPE_Q5_0 = 8,
    IFN_FTYPE_Q5_1 = 9,
    IFN_FTYPE_Q2_K = 10,
    IFN_FTYPE_Q3_K_S = 11,
    IFN_FTYPE_Q3_K_M = 12,
    IFN_FTYPE_Q3_K_L = 13,
    IFN_FTYPE_Q4_K_S = 14,
    IFN_FTYPE_Q4_K_M = 15,
    IFN_FTYPE_Q5_K_S = 16,
    IFN_FTYPE_Q5_K_M = 17,
    IFN_FTYPE_Q6_K = 18,
    IFN_FTYPE_IQ4_NL = 25,
    IFN_FTYPE_IQ4_XS = 30,
    IFN_FTYPE_BF16 = 32,
} ifn_ftype;

/* Parses a llama-quantize type name, case-insensitively, with its aliases (Q3_K = Q3_K_M,
 * Q4_K = Q4_K_M, Q5_K = Q5_K_M). Errors: IFN_E_INVALID with a message listing the names. */
ifn_status ifn_ftype_parse(const char *name, ifn_ftype *out_ftype);

/* "Q4_K_M"; "?" for values outside the enum. Cannot fail. */
const char *ifn_ftype_name(ifn_ftype ftype);

/* The type most tensors get (Q4_K for Q4_K_M). Cannot fail. */
ifn_dtype ifn_ftype_base_type(ifn_ftype ftype);

/* The comma-separated list of accepted names, for usage messages. */
const char *ifn_ftype_names(void);

/* llama-quantize's state while it walks a model's tensors: counters of the attn_v and ffn_down
 * tensors seen so far, which decide the layers that get more bits. Owned by one caller. */
typedef struct ifn_ftype_mix {
    ifn_ftype ftype;
    int is_pure; /* every matrix in the base type (llama-quantize --pure) */
    int32_t n_layer;
    int32_t n_gqa;      /* n_head / n_head_kv */
    int is_70b;         /* llama.cpp's LLM_TYPE_70B: 80 layers with grouped-query attention */
    int32_t i_attn_v;   /* attn_v tensors seen */
    int32_t i_ffn_down; /* ffn_down tensors seen */
} ifn_ftype_mix;

/* Starts a walk over a Llama model's tensors. Cannot fail. */
void ifn_ftype_mix_init(ifn_ftype_mix *mix, ifn_ftype ftype, int32_t n_layer, int32_t n_head,
                        int32_t n_head_kv, int is_pure);

/* The stored type of tensor `name` (n_dims dims, rows of ne0 elements) when converted from F32.
 * Call once per tensor in llama-quantize's order: tensors without a layer first, then layer by
 * layer, each group sorted by name (the counters depend on it). 1-D tensors and norms stay F32.
 * Rows that are not whole blocks of the chosen type fall back as llama-quantize does (Q4_K ->
 * Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, Q2_K/Q3_K/IQ4_XS -> IQ4_NL, then F16); --pure applies the
 * same fallback. Errors: IFN_E_UNSUPPORTED when llama-quantize would refuse (a Q4_0..Q8_0 row
 * that is not whole 32-element blocks). */
ifn_status ifn_ftype_mix_choose(ifn_ftype_mix *mix, const char *name, int32_t n_dims, int64_t ne0,
                                ifn_dtype *out_type);

#endif
