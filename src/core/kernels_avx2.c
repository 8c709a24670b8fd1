/* The kernels for AVX2 (16 vector registers of four doubles); this file is compiled
 * with -mavx2 and only called on CPUs that have it (kernels.c). */
#if defined(__x86_64__) && defined(__AVX2__)
#define VW 4
#define KV(name) avx2_##name
#define GT_COLS 8
#define GT_PF 0
#define GTF_COLS 4
#define GTF_PF 1
#define MANY_COLS 4
#define MANY_RHS 3
#define KSET sprec_kernels_avx2
#include "kernels_simd.h"
#endif
