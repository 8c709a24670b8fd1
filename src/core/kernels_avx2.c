/* The kernels for AVX2 (16 vector registers of four doubles); this file is compiled
 * with -mavx2 and only called on CPUs that have it (kernels.c). The shapes were
 * measured on AMD EPYC (Zen 3) against the others that fit the registers: doubles
 * eight columns at a time (the hardware prefetcher keeps up), floats four at a time
 * with the next four prefetched, the batched tile 3 columns x 3 right-hand sides
 * (9 accumulators, 3 + 1 loaded vectors and a product: no spill; 4 x 3 measured a
 * few per cent slower). */
#if defined(__x86_64__) && defined(__AVX2__)
#define VW 4
#define KV(name) avx2_##name
#define GT_COLS 8
#define GT_PF 0
#define GTF_COLS 4
#define GTF_PF 1
#define MANY_COLS 3
#define MANY_RHS 3
#define KSET sprec_kernels_avx2
#include "kernels_simd.h"
#endif
