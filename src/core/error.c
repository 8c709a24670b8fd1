/* Errors: one code type, a per-process message and a trace, and the agreement step
 * that makes every rank return the same error together (HPL's habit). */
#include "impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static _Thread_local char g_msg[1024]; /* per thread: the service parses requests on several */
static _Thread_local char g_trace[4096];

const char *sprec_strerror(sprec_err e)
{
  switch (e) {
  case SPREC_OK: return "success";
  case SPREC_ERR_ARG: return "bad argument";
  case SPREC_ERR_IO: return "input/output error";
  case SPREC_ERR_FORMAT: return "bad file format";
  case SPREC_ERR_MEM: return "out of memory";
  case SPREC_ERR_MPI: return "MPI error";
  case SPREC_ERR_LAPACK: return "LAPACK/ScaLAPACK error";
  case SPREC_ERR_NUMERIC: return "numerical failure";
  }
  return "unknown error";
}

const char *sprec_version(void) { return SPREC_VERSION; }

const char *sprec_errmsg(void) { return g_msg; }
const char *sprec_errtrace(void) { return g_trace; }

static void trace_add(const char *file, int line, const char *func)
{
  size_t len = strlen(g_trace);
  if (len + 1 < sizeof g_trace)
    snprintf(g_trace + len, sizeof g_trace - len, "  at %s:%d %s()\n", file, line, func);
}

sprec_err sprec_error_set(sprec_err code, const char *file, int line, const char *func,
                          const char *fmt, ...)
{
  char msg[sizeof g_msg]; /* the arguments may be the previous message (a prefix added) */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  memcpy(g_msg, msg, sizeof msg);
  g_trace[0] = '\0';
  trace_add(file, line, func);
  return code;
}

sprec_err sprec_error_trace(sprec_err code, const char *file, int line, const char *func)
{
  trace_add(file, line, func);
  return code;
}

sprec_err sprec_mpi_error(int rc, const char *file, int line, const char *func, const char *call)
{
  char s[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, s, &len) != MPI_SUCCESS) snprintf(s, sizeof s, "code %d", rc);
  return sprec_error_set(SPREC_ERR_MPI, file, line, func, "MPI failure in %.60s: %s", call, s);
}

sprec_err sprec_calloc(size_t count, size_t size, void *ptrp, const char *what)
{
  void *p = calloc(count ? count : 1, size);
  *(void **)ptrp = p;
  if (!p)
    return SPREC_ERROR(SPREC_ERR_MEM, "cannot allocate %zu bytes for %s", count * size, what);
  return SPREC_OK;
}

void sprec_free(void *p) { free(p); }

sprec_err sprec_alloc_block(size_t count, size_t size, void *ptrp, const char *what)
{
  const size_t huge = (size_t)2 << 20;
  size_t bytes = count * size;
  void *p = NULL;
  *(void **)ptrp = NULL;
  if (count && bytes / count != size)
    return SPREC_ERROR(SPREC_ERR_MEM, "cannot allocate %zu x %zu bytes for %s", count, size, what);
  if (bytes < huge) return sprec_calloc(count, size, ptrp, what);
  if (posix_memalign(&p, huge, bytes) != 0)
    return SPREC_ERROR(SPREC_ERR_MEM, "cannot allocate %zu bytes for %s", bytes, what);
  madvise(p, bytes / huge * huge, MADV_HUGEPAGE); /* advice only: ignore a refusal */
  *(void **)ptrp = p;
  return SPREC_OK;
}

sprec_err sprec_agree(MPI_Comm comm, sprec_err err)
{
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  int mine = err ? rank : size, first = size;
  SPREC_MPI(sprec_comm_allreduce(comm, SPREC_COMM_AGREE, &mine, &first, 1, MPI_INT, MPI_MIN));
  if (first == size) return SPREC_OK;
  int code = (int)err;
  SPREC_MPI(sprec_comm_bcast(comm, SPREC_COMM_AGREE, &code, 1, MPI_INT, first));
  SPREC_MPI(sprec_comm_bcast(comm, SPREC_COMM_AGREE, g_msg, (int)sizeof g_msg, MPI_CHAR, first));
  if (rank != first) {
    g_trace[0] = '\0';
    snprintf(g_trace, sizeof g_trace, "  (raised on rank %d)\n", first);
  }
  return (sprec_err)code;
}

sprec_err sprec_check_int(int64_t v, const char *what)
{
  SPREC_CHECK(v >= 0 && v <= 2147483647, SPREC_ERR_ARG,
              "%s = %lld does not fit a 32-bit BLAS/LAPACK integer", what, (long long)v);
  return SPREC_OK;
}
