/* The kernels for any CPU: the compiler's baseline instruction set (SSE2 on x86-64),
 * two doubles per vector. */
#define VW 2
#define KV(name) generic_##name
#define GT_COLS 4
#define GT_PF 1
#define GTF_COLS 4
#define GTF_PF 1
#define MANY_COLS 2
#define MANY_RHS 2
#define KSET sprec_kernels_generic
#include "kernels_simd.h"
