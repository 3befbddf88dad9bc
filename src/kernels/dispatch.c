/* CPU feature detection (including OS support for YMM state) and kernel table selection.
 * Chosen once; IFN_ISA forces a variant. */
#include "kernels/kernels.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long read_xcr0(void) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static int cpu_has_avx2_fma(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    int has_fma = (ecx >> 12) & 1, has_osxsave = (ecx >> 27) & 1, has_avx = (ecx >> 28) & 1;
    int has_f16c = (ecx >> 29) & 1;
    if (!has_fma || !has_osxsave || !has_avx || !has_f16c) return 0;
    if ((read_xcr0() & 0x6) != 0x6) return 0; /* OS must save XMM and YMM state */
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    return (ebx >> 5) & 1;
}
#else
static int cpu_has_avx2_fma(void) {
    return 0;
}
#endif

static const ifn_kernels g_kernels_ref = {
    .isa = "ref",
    .dot_f32 = ifn_dot_f32_ref,
};

#if defined(__x86_64__)
static const ifn_kernels g_kernels_avx2 = {
    .isa = "avx2",
    .dot_f32 = ifn_dot_f32_avx2,
};
#endif

const ifn_kernels *ifn_kernels_ref(void) {
    return &g_kernels_ref;
}

const ifn_kernels *ifn_kernels_avx2(void) {
#if defined(__x86_64__)
    if (cpu_has_avx2_fma()) return &g_kernels_avx2;
#endif
    return NULL;
}

static const ifn_kernels *choose(void) {
    const char *forced = getenv("IFN_ISA");
    const ifn_kernels *avx2 = ifn_kernels_avx2();
    if (forced && strcmp(forced, "ref") == 0) return &g_kernels_ref;
    if (forced && strcmp(forced, "avx2") == 0 && !avx2)
        IFN_LOG_WARN("kernels", "IFN_ISA=avx2 but this CPU lacks AVX2+FMA; using ref");
    else if (forced && strcmp(forced, "avx2") != 0)
        IFN_LOG_WARN("kernels", "unknown IFN_ISA=%s (use ref or avx2); choosing automatically",
                     forced);
    return avx2 ? avx2 : &g_kernels_ref;
}

const ifn_kernels *ifn_kernels_get(void) {
    static const ifn_kernels *_Atomic chosen;
    const ifn_kernels *k = chosen;
    if (k) return k;
    k = choose();
    IFN_LOG_DEBUG("kernels", "selected isa=%s", k->isa);
    chosen = k;
    return k;
}
