/* libFuzzer harness: the .npy reader end to end (src/fmt/npy.c), through the public
 * functions and MPI-IO on MPI_COMM_SELF.
 *
 * Each input is written to a file in a private temporary directory (on tmpfs where
 * there is one: $SPREC_FUZZ_TMPDIR, else /dev/shm, else $TMPDIR or /tmp), then:
 *   1. sprec_npy_inspect must agree with sprec_npy_parse on the same bytes in memory
 *      (same verdict, same info, same message);
 *   2. when the file is accepted, sprec_npy_read_cols must read every column, a window
 *      of columns chosen from the input, and no column at all, and give exactly the
 *      values a direct decoding of the bytes gives (float32 widened to double, C and
 *      Fortran order, 1-D as 1 x n), bit for bit;
 *   3. a window out of range is refused with SPREC_ERR_ARG;
 *   4. no file descriptor is left open.
 * Leaks are checked on every input, those of MPI objects too (a datatype or file handle
 * left behind is memory Open MPI allocated for our call): MPI_Init and a warm-up read,
 * whose allocations Open MPI keeps until exit, run with LeakSanitizer disabled.
 * Build this harness with small SPREC_NPY_CHUNK and SPREC_NPY_TILE (the Makefile does)
 * so that small inputs go through the chunked read and transposition loops. */
#include "sprec.h"
#include "fuzz_tmp.h"

#include <fcntl.h>
#include <mpi.h>
#include <sanitizer/lsan_interface.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One read of a small C-order and of a Fortran-order file, so that Open MPI loads and
 * sets up its I/O components here rather than in the first input. */
static void warm_up(void)
{
  static const char *const dicts[] = {
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
      "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }"};
  for (int t = 0; t < 2; t++) {
    uint8_t f[128 + 48] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 118, 0};
    memset(f + 10, ' ', 117);
    memcpy(f + 10, dicts[t], strlen(dicts[t]));
    f[127] = '\n';
    size_t size = 128 + (t ? 24 : 48);
    double buf[6];
    sprec_npy_info in;
    fuzz_write_file(g_path, f, size);
    if (sprec_npy_inspect(MPI_COMM_SELF, g_path, &in) ||
        sprec_npy_read_cols(MPI_COMM_SELF, g_path, &in, 0, 3, buf) ||
        sprec_npy_read_cols(MPI_COMM_SELF, g_path, &in, 1, 1, buf)) {
      fprintf(stderr, "fuzz_npy_read: the warm-up read failed: %s\n", sprec_errmsg());
      exit(1);
    }
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc, (void)argv;
  /* What Open MPI allocates for itself at its set-up, and keeps, is not our leak; every
   * allocation of the inputs is checked. */
  __lsan_disable();
  MPI_Init(NULL, NULL);
  fuzz_tmp_make("fuzz_npy_read", "npy", "input.npy");
  warm_up();
  __lsan_enable();
  return 0;
}

static void fail(const char *what)
{
  fprintf(stderr, "fuzz_npy_read: %s\nmessage: %s\n", what, sprec_errmsg());
  abort();
}

/* Element (i, j) of the column view, decoded from the bytes directly. */
static double element(const uint8_t *data, const sprec_npy_info *in, int64_t rows, int64_t cols,
                      int64_t i, int64_t j)
{
  int64_t k = in->ndim == 1 ? j : in->fortran_order ? i + j * rows : i * cols + j;
  const uint8_t *p = data + in->data_offset + k * in->elsize;
  if (in->elsize == 8) {
    double v;
    memcpy(&v, p, 8);
    return v;
  }
  float f;
  memcpy(&f, p, 4);
  return (double)f;
}

/* Reads columns [c0, c0 + nc) and compares them with the direct decoding. */
static void read_window(const uint8_t *data, const sprec_npy_info *in, int64_t rows, int64_t cols,
                        int64_t c0, int64_t nc)
{
  double *buf = malloc((size_t)(rows * nc > 0 ? rows * nc : 1) * sizeof *buf);
  if (!buf) fail("out of memory");
  sprec_err e = sprec_npy_read_cols(MPI_COMM_SELF, g_path, in, c0, nc, nc ? buf : NULL);
  if (e) fail("sprec_npy_read_cols failed on a file sprec_npy_inspect accepted");
  for (int64_t j = 0; j < nc; j++)
    for (int64_t i = 0; i < rows; i++) {
      double want = element(data, in, rows, cols, i, c0 + j), got = buf[j * rows + i];
      if (memcmp(&want, &got, sizeof want) != 0) {
        fprintf(stderr, "fuzz_npy_read: columns [%lld, %lld): (%lld, %lld) = %a, want %a\n",
                (long long)c0, (long long)(c0 + nc), (long long)i, (long long)(c0 + j), got, want);
        fail("wrong value");
      }
    }
  free(buf);
}

/* The lowest free file descriptor. */
static int lowest_fd(void)
{
  int fd = open("/dev/null", O_RDONLY);
  if (fd < 0) fail("cannot open /dev/null");
  close(fd);
  return fd;
}

static void one_input(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static int calls = 0;
  int fd0 = lowest_fd();
  one_input(data, size);
  /* From the second input on: Open MPI may open descriptors of its own at the first
   * file it opens. */
  if (calls++ > 0 && lowest_fd() != fd0) fail("a file descriptor was left open");
  return 0;
}

static void one_input(const uint8_t *data, size_t size)
{
  fuzz_write_file(g_path, data, size);
  sprec_npy_info in, mem;
  sprec_err e = sprec_npy_inspect(MPI_COMM_SELF, g_path, &in);
  char msg[1100];
  snprintf(msg, sizeof msg, "%s", sprec_errmsg());
  sprec_err em = sprec_npy_parse(g_path, data, size, &mem);
  if (e != em) fail("sprec_npy_inspect and sprec_npy_parse disagree");
  if (e) {
    if (strcmp(msg, sprec_errmsg()) != 0) {
      fprintf(stderr, "fuzz_npy_read: inspect: %s\n", msg);
      fail("sprec_npy_inspect and sprec_npy_parse give different messages");
    }
    return;
  }
  if (memcmp(&in, &mem, sizeof in) != 0) fail("sprec_npy_inspect and sprec_npy_parse disagree on the info");

  int64_t rows = in.ndim == 1 ? 1 : in.shape[0], cols = in.ndim == 1 ? in.shape[0] : in.shape[1];
  read_window(data, &in, rows, cols, 0, cols);
  /* A window chosen by the last bytes of the data, and an empty one. */
  uint32_t h = 0;
  for (size_t k = size > 4 ? size - 4 : 0; k < size; k++) h = h * 131 + data[k];
  int64_t c0 = (int64_t)(h % (uint32_t)cols), nc = (int64_t)((h >> 16) % (uint32_t)(cols - c0 + 1));
  read_window(data, &in, rows, cols, c0, nc);
  read_window(data, &in, rows, cols, (int64_t)(h % (uint32_t)(cols + 1)), 0);
  double one;
  if (sprec_npy_read_cols(MPI_COMM_SELF, g_path, &in, cols - c0, c0 + 1, &one) != SPREC_ERR_ARG)
    fail("a window past the last column was not refused");
}
