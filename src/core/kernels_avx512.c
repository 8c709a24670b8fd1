/* The kernels for AVX-512 (F and VL): vectors of four doubles still, since a dot
 * product has four lanes, but 32 registers, so a larger batched tile (4 x 6: 24
 * accumulators). Compiled with -mavx512f -mavx512vl and only called on CPUs that have
 * both (kernels.c). */
#if defined(__x86_64__) && defined(__AVX512F__) && defined(__AVX512VL__)
#define VW 4
#define KV(name) avx512_##name
#define GT_COLS 8
#define GT_PF 0
#define GTF_COLS 4
#define GTF_PF 1
#define MANY_COLS 4
#define MANY_RHS 6
#define KSET sprec_kernels_avx512
#include "kernels_simd.h"
#endif
