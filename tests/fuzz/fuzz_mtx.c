/* The Matrix Market reader's harness: fuzz_npz.c with FUZZ_MTX (see there). */
#define FUZZ_MTX
#include "fuzz_npz.c"
