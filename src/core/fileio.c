/* What the library's MPI-IO readers and writers (.npy, checkpoints, HDF5) share besides
 * MPI-IO: Open MPI's own messages muted while they run, and the space of a file
 * reserved before it is written. */
#include "impl.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* Open MPI's I/O components print a line of their own on a failed read or write
 * ("mca_fbtl_posix_pwritev: error in (p)write(v):No space left on device") besides
 * returning the error, which the library reports in its own words: one failure would
 * read as two lines, the first not ours. Open MPI writes its in-process messages to
 * the descriptor that OPAL_OUTPUT_STDERR_FD names when MPI_Init reads it, else to
 * stderr. A front end that points it at a copy of stderr of its own (src/cli/main.c)
 * lets the library mute that copy alone, for the length of its MPI-IO calls: what
 * Open MPI says at any other time (a job aborted, a peer lost) still reaches stderr,
 * and so does everything the program prints meanwhile. Without the variable (or with
 * it naming 0, 1 or 2) nothing is muted. */
sprec_mute sprec_io_mute(void)
{
  sprec_mute m = {-1, -1};
  const char *s = getenv("OPAL_OUTPUT_STDERR_FD");
  char *end = NULL;
  long fd = s ? strtol(s, &end, 10) : -1;
  if (!s || !*s || *end || fd <= 2 || fd > INT_MAX || fcntl((int)fd, F_GETFD) < 0) return m;
  int saved = fcntl((int)fd, F_DUPFD_CLOEXEC, 3);
  int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (saved >= 0 && null >= 0 && dup2(null, (int)fd) >= 0) m = (sprec_mute){(int)fd, saved};
  else if (saved >= 0) close(saved);
  if (null >= 0) close(null);
  return m;
}

void sprec_io_unmute(sprec_mute *m)
{
  if (m->saved < 0) return;
  dup2(m->saved, m->fd);
  close(m->saved);
  *m = (sprec_mute){-1, -1};
}

/* Reserving the whole file first turns a full disk or an exhausted quota into one
 * clean error before any byte is written, with its reason (MPI-IO reports a full disk
 * as a short write or MPI_ERR_IO), instead of a file half written across the ranks.
 * A file system that cannot reserve (ext2, NFS before 4.2, older Lustre: EOPNOTSUPP)
 * gets no reservation: its writes report what goes wrong. */
int sprec_io_reserve(const char *path, uint64_t bytes)
{
  if (bytes == 0 || bytes > (uint64_t)INT64_MAX) return 0;
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  int e = 0;
  while (fallocate(fd, 0, 0, (off_t)bytes) != 0 && (e = errno) == EINTR) e = 0;
  close(fd);
  return e == ENOSPC || e == EDQUOT || e == EFBIG ? e : 0;
}

/* Where no reservation could be made, MPI-IO reports a full disk as a short write or
 * as MPI_ERR_IO ("input/output error"): a write that failed where the file system has
 * less room left than it asked for is named for what it is. */
int sprec_io_full(const char *path, uint64_t need)
{
  char copy[4096];
  struct statvfs v;
  snprintf(copy, sizeof copy, "%s", path);
  return statvfs(dirname(copy), &v) == 0 && (uint64_t)v.f_bavail * v.f_frsize < need;
}
