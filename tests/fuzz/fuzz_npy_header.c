/* libFuzzer harness: the .npy header parser (src/fmt/npy_header.c) and the checks of what
 * the header says (src/fmt/npy.c), on a file held in memory.
 *
 * The input is a whole .npy file. sprec_npy_parse runs every check sprec_npy_inspect
 * runs on a file on disk: magic, version, header length, the header dict (strings,
 * True/False, shape tuples, any key order, structured dtypes skipped), the dtype,
 * order and shape, and that the file holds exactly the announced data. Properties
 * checked on top of the sanitizers:
 *   accepted: ndim 1 or 2, positive dimensions (shape[1] = 1 for 1-D), element size
 *             4 or 8, and header plus data are exactly the input;
 *   refused:  a format error (the only kind a buffer can cause) whose message is one
 *             line of printable ASCII starting with the file name. */
#include "sprec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME "input.npy"

static void fail(const char *what, const sprec_npy_info *in)
{
  fprintf(stderr, "fuzz_npy_header: %s (ndim %d, shape %lld x %lld, elsize %d, offset %lld)\n"
          "message: %s\n", what, in->ndim, (long long)in->shape[0], (long long)in->shape[1],
          in->elsize, (long long)in->data_offset, sprec_errmsg());
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  sprec_npy_info in;
  sprec_err e = sprec_npy_parse(NAME, data, size, &in);
  if (e == SPREC_OK) {
    if (in.ndim != 1 && in.ndim != 2) fail("accepted ndim", &in);
    if (in.shape[0] < 1 || in.shape[1] < 1 || (in.ndim == 1 && in.shape[1] != 1))
      fail("accepted shape", &in);
    if (in.elsize != 4 && in.elsize != 8) fail("accepted elsize", &in);
    if (in.data_offset < 10 || (size_t)in.data_offset > size) fail("accepted offset", &in);
    /* Exact data: shape[0] * shape[1] * elsize == size - offset, without overflow. */
    uint64_t have = size - (size_t)in.data_offset;
    if ((uint64_t)in.shape[0] > have / (uint64_t)in.elsize / (uint64_t)in.shape[1] ||
        (uint64_t)in.shape[0] * (uint64_t)in.shape[1] * (uint64_t)in.elsize != have)
      fail("accepted a file whose size does not match its shape", &in);
    return 0;
  }
  if (e != SPREC_ERR_FORMAT) fail("refused with another error than SPREC_ERR_FORMAT", &in);
  const char *m = sprec_errmsg();
  if (strncmp(m, NAME ": ", strlen(NAME ": ")) != 0) fail("message does not start with the name", &in);
  for (const char *c = m; *c; c++)
    if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
      fail("message is not one line of printable ASCII", &in);
  return 0;
}
