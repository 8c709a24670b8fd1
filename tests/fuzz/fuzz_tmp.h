/* The input file of the fuzzing harnesses that read real files: a private directory
 * made once at start-up, on tmpfs where there is one ($SPREC_FUZZ_TMPDIR, else /dev/shm
 * when writable, else $TMPDIR, else /tmp), removed at exit with the file; and the
 * writing of a file, which only the machine can make fail (then the harness aborts,
 * naming the file). Each harness is one source file: the state here is its own. */
#ifndef SPREC_FUZZ_TMP_H
#define SPREC_FUZZ_TMP_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[4096], g_path[4200];
static const char *g_harness = "fuzz";

static void fuzz_tmp_remove(void)
{
  unlink(g_path);
  rmdir(g_dir);
}

/* g_dir = BASE/sprec-fuzz-TAG.XXXXXX, g_path = g_dir/FILE, both removed at exit; a
 * directory that cannot be made ends the harness with a message naming HARNESS. */
static void fuzz_tmp_make(const char *harness, const char *tag, const char *file)
{
  g_harness = harness;
  const char *base = getenv("SPREC_FUZZ_TMPDIR");
  struct stat st;
  if (!base || !*base) base = stat("/dev/shm", &st) == 0 && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NULL;
  if (!base || !*base) base = getenv("TMPDIR");
  if (!base || !*base) base = "/tmp";
  snprintf(g_dir, sizeof g_dir, "%s/sprec-fuzz-%s.XXXXXX", base, tag);
  if (!mkdtemp(g_dir)) {
    fprintf(stderr, "%s: cannot create a directory under %s: %s\n", harness, base, strerror(errno));
    exit(1);
  }
  snprintf(g_path, sizeof g_path, "%s/%s", g_dir, file);
  atexit(fuzz_tmp_remove);
}

static void fuzz_write_failed(const char *what, const char *path)
{
  fprintf(stderr, "%s: cannot %s %s: %s\n", g_harness, what, path, strerror(errno));
  abort();
}

/* PATH holds exactly the SIZE bytes of DATA. */
static void fuzz_write_file(const char *path, const uint8_t *data, size_t size)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) fuzz_write_failed("create", path);
  size_t done = 0;
  while (done < size) {
    ssize_t w = write(fd, data + done, size - done);
    if (w <= 0) fuzz_write_failed("write", path);
    done += (size_t)w;
  }
  if (close(fd) != 0) fuzz_write_failed("close", path);
}

#endif
