/* AVX2 activation quantizers (kernels/x86): the same contract and the same output bytes as
 * their kernels/ref/quant_act_ref.h counterparts, for finite inputs. Call only when the CPU has
 * AVX2+FMA+F16C. Cannot fail; thread-safe. */
#ifndef IFN_KERNELS_X86_QUANT_ACT_AVX2_H
#define IFN_KERNELS_X86_QUANT_ACT_AVX2_H

#include <stdint.h>

void ifn_quant_act_q8_0_avx2(const float *x, void *out, int64_t n);
void ifn_quant_act_q8_1_avx2(const float *x, void *out, int64_t n);
void ifn_quant_act_q8_k_avx2(const float *x, void *out, int64_t n);
void ifn_quant_act_f16_avx2(const float *x, void *out, int64_t n);

#endif
