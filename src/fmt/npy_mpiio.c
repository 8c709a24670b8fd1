/* What the .npy reader (npy.c) and writer (npy_write.c) share: the checks on a block of
 * columns, MPI-IO's errors as one-line messages, and the count of collective calls. */
#include "fmt.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The data are little-endian; MPI-IO's "native" representation is used, so the host
 * must be little-endian too. */
static int host_is_little_endian(void)
{
  const uint16_t one = 1;
  unsigned char b;
  memcpy(&b, &one, 1);
  return b == 1;
}

sprec_err sprec_npy_check_block(const char *path, int64_t cols, int64_t c0, int64_t nc,
                                const void *buf)
{
  SPREC_CHECK(c0 >= 0 && nc >= 0 && c0 <= cols && nc <= cols - c0, SPREC_ERR_ARG,
              "%s: columns [%lld, %lld) out of range (array has %lld)", path, (long long)c0,
              (long long)(c0 + nc), (long long)cols);
  SPREC_CHECK(nc == 0 || buf, SPREC_ERR_ARG, "%s: NULL buffer", path);
  SPREC_CHECK(host_is_little_endian(), SPREC_ERR_ARG, "%s: big-endian hosts are not supported",
              path);
  return SPREC_OK;
}

/* A short reason for a failed MPI-IO call: the matching strerror text where the MPI
 * error class has a POSIX equivalent, so that messages read like the stdio ones. */
static void io_reason(int rc, char *s, size_t len)
{
  int cls = MPI_ERR_OTHER, e = 0;
  MPI_Error_class(rc, &cls);
  if (cls == MPI_ERR_NO_SUCH_FILE) e = ENOENT;
  else if (cls == MPI_ERR_ACCESS) e = EACCES;
  else if (cls == MPI_ERR_NO_SPACE) e = ENOSPC;
  else if (cls == MPI_ERR_QUOTA) e = EDQUOT;
  else if (cls == MPI_ERR_READ_ONLY) e = EROFS;
  else if (cls == MPI_ERR_FILE_EXISTS) e = EEXIST;
  if (e) {
    snprintf(s, len, "%s", strerror(e));
    return;
  }
  char m[MPI_MAX_ERROR_STRING];
  int mlen = 0;
  if (MPI_Error_string(rc, m, &mlen) != MPI_SUCCESS) snprintf(m, sizeof m, "MPI error %d", rc);
  snprintf(s, len, "%s", m);
}

sprec_err sprec_npy_io_error(int rc, const char *path, const char *what)
{
  char r[MPI_MAX_ERROR_STRING];
  io_reason(rc, r, sizeof r);
  return SPREC_ERROR(SPREC_ERR_IO, "%s: %s: %s", path, what, r);
}

long long sprec_npy_calls(MPI_Comm comm, int64_t total, int64_t chunk, sprec_err *err)
{
  long long mine = *err ? 0 : (total + chunk - 1) / chunk, ncalls = 0;
  int rc = sprec_comm_allreduce(comm, SPREC_COMM_IO, &mine, &ncalls, 1, MPI_LONG_LONG, MPI_MAX);
  if (rc != MPI_SUCCESS) {
    if (!*err) *err = sprec_mpi_error(rc, __FILE__, __LINE__, __func__, "MPI_Allreduce");
    ncalls = 0;
  }
  return ncalls;
}
