/* libFuzzer harness: the sparse readers (src/fmt/npz.c, and src/fmt/mtx.c when built
 * with -DFUZZ_MTX as fuzz_mtx) through the public sprec_csc_inspect, on real files and
 * MPI_COMM_SELF. Each input is written to a file in a private directory (on tmpfs:
 * $SPREC_FUZZ_TMPDIR, else /dev/shm, else /tmp) and read.
 * Properties on top of the sanitizers: refused with SPREC_ERR_FORMAT, _ARG, _IO or
 * _MEM (an archive may announce more than is worth allocating) and one line of text
 * naming the file; or accepted with a shape >= 1 x 1, 0 <= nnz <= m·n, per-column
 * counts within [0, m] and min <= max, non-finite count <= nnz. */
#include "sprec.h"

#include <sanitizer/lsan_interface.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef FUZZ_MTX
#define EXT ".mtx"
#else
#define EXT ".npz"
#endif

static char path[512];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc, (void)argv;
  setenv("OMPI_MCA_opal_signal", "", 0);
  /* What Open MPI allocates for itself at set-up and at its first collectives, and
   * keeps, is not our leak: that happens here, with LeakSanitizer off. */
  __lsan_disable();
  MPI_Init(NULL, NULL);
  const char *base = getenv("SPREC_FUZZ_TMPDIR");
  if (!base) base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  char dir[256];
  snprintf(dir, sizeof dir, "%s/sprec-fuzz-csc.XXXXXX", base);
  if (!mkdtemp(dir)) abort();
  snprintf(path, sizeof path, "%s/in" EXT, dir);
  FILE *f = fopen(path, "wb");
  if (!f || fclose(f)) abort();
  sprec_csc_info in;
  (void)sprec_csc_inspect(MPI_COMM_SELF, path, &in); /* refused: an empty file */
  __lsan_enable();
  return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, 1, size, f) != size || fclose(f)) abort();
  sprec_csc_info in;
  sprec_err e = sprec_csc_inspect(MPI_COMM_SELF, path, &in);
  if (e) {
    const char *msg = sprec_errmsg();
    if (e != SPREC_ERR_FORMAT && e != SPREC_ERR_ARG && e != SPREC_ERR_IO && e != SPREC_ERR_MEM)
      abort();
    if (e != SPREC_ERR_MEM && !strstr(msg, path)) abort();
    if (strchr(msg, '\n')) abort();
    return 0;
  }
  if (in.m < 1 || in.n < 1 || in.nnz < 0 || (double)in.nnz > (double)in.m * (double)in.n)
    abort();
  if (in.col_nnz_min < 0 || in.col_nnz_min > in.col_nnz_max || in.col_nnz_max > in.m) abort();
  if (in.nonfinite < 0 || in.nonfinite > in.nnz) abort();
  return 0;
}
