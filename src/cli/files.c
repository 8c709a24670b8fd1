/* The files a command names, checked before any work: inputs that exist and are
 * regular files (a FIFO with no writer would hang the read, a directory would fail
 * inside MPI-IO), outputs whose directory exists and can be written, no output that
 * is an input or another output (by identity: the same device and inode, so that
 * links and other spellings of a path count), and none inside a directory that
 * another program owns (the service's state: its database would be replaced). */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *kind_of(mode_t m)
{
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISCHR(m) || S_ISBLK(m)) return "a device";
  return "not a regular file";
}

/* The identity of an output: its inode if it exists, else its directory's inode and
 * its name. */
typedef struct {
  dev_t dev;
  ino_t ino;
  const char *name; /* NULL when the file exists */
} ident;

static int same(const ident *a, const ident *b)
{
  if (a->dev != b->dev || a->ino != b->ino) return 0;
  if (!a->name && !b->name) return 1;
  return a->name && b->name && !strcmp(a->name, b->name);
}

static sprec_err check_input(const cli_path *p, ident *id)
{
  struct stat sb;
  SPREC_CHECK(*p->path, SPREC_ERR_ARG, "%s: the file name is empty", p->flag);
  SPREC_CHECK(stat(p->path, &sb) == 0, SPREC_ERR_IO, "%s %s: %s", p->flag, p->path, strerror(errno));
  SPREC_CHECK(S_ISREG(sb.st_mode), SPREC_ERR_IO, "%s %s: is %s, not a file to read", p->flag,
              p->path, kind_of(sb.st_mode));
  SPREC_CHECK(access(p->path, R_OK) == 0, SPREC_ERR_IO, "%s %s: cannot read: %s", p->flag, p->path,
              strerror(errno));
  *id = (ident){sb.st_dev, sb.st_ino, NULL};
  return SPREC_OK;
}

/* dir: the output is a directory (created if missing, with its parents). */
static sprec_err check_output(const cli_path *p, ident *id, char *namebuf)
{
  struct stat sb;
  SPREC_CHECK(*p->path, SPREC_ERR_ARG, "%s: the file name is empty", p->flag);
  if (stat(p->path, &sb) == 0) {
    if (p->dir) {
      SPREC_CHECK(S_ISDIR(sb.st_mode), SPREC_ERR_IO, "%s %s: is %s, not a directory", p->flag,
                  p->path, kind_of(sb.st_mode));
    } else
      SPREC_CHECK(S_ISREG(sb.st_mode), SPREC_ERR_IO, "%s %s: is %s, not a file to write",
                  p->flag, p->path, kind_of(sb.st_mode));
    SPREC_CHECK(access(p->path, W_OK) == 0, SPREC_ERR_IO, "%s %s: cannot write: %s", p->flag,
                p->path, strerror(errno));
    *id = (ident){sb.st_dev, sb.st_ino, NULL};
  }
  if (p->dir) { /* to be created: the nearest existing directory above must take it */
    char up[PATH_MAX];
    snprintf(up, sizeof up, "%s", p->path);
    while (stat(up, &sb) != 0) {
      char *slash = strrchr(up, '/');
      if (!slash) {
        snprintf(up, sizeof up, ".");
        continue;
      }
      if (slash == up) slash[1] = '\0';
      else *slash = '\0';
    }
    SPREC_CHECK(S_ISDIR(sb.st_mode), SPREC_ERR_IO, "%s %s: cannot create directory: %s is %s",
                p->flag, p->path, up, kind_of(sb.st_mode));
    SPREC_CHECK(access(up, W_OK | X_OK) == 0 || !strcmp(up, p->path), SPREC_ERR_IO,
                "%s %s: cannot create directory in %s: %s", p->flag, p->path, up, strerror(errno));
    return SPREC_OK;
  }
  /* The directory it goes to must exist and take a new file (outputs are written to a
   * temporary name there, then renamed). */
  char copy[PATH_MAX];
  snprintf(copy, sizeof copy, "%s", p->path);
  const char *dir = dirname(copy);
  SPREC_CHECK(stat(dir, &sb) == 0, SPREC_ERR_IO, "%s %s: directory %s: %s", p->flag, p->path, dir,
              strerror(errno));
  SPREC_CHECK(S_ISDIR(sb.st_mode), SPREC_ERR_IO, "%s %s: %s is %s, not a directory", p->flag,
              p->path, dir, kind_of(sb.st_mode));
  SPREC_CHECK(access(dir, W_OK | X_OK) == 0, SPREC_ERR_IO, "%s %s: cannot create files in %s: %s",
              p->flag, p->path, dir, strerror(errno));
  if (id->name == NULL && id->ino == 0) { /* a new file: its directory and its name */
    snprintf(copy, sizeof copy, "%s", p->path);
    snprintf(namebuf, NAME_MAX + 1, "%s", basename(copy));
    *id = (ident){sb.st_dev, sb.st_ino, namebuf};
  }
  return SPREC_OK;
}

/* A keep_out entry: a directory. */
static sprec_err check_keep_out(const cli_path *p, ident *id)
{
  struct stat sb;
  SPREC_CHECK(stat(p->path, &sb) == 0 && S_ISDIR(sb.st_mode), SPREC_ERR_IO,
              "%s: %s %s is not a directory", p->flag, p->keep_out, p->path);
  *id = (ident){sb.st_dev, sb.st_ino, NULL};
  return SPREC_OK;
}

/* Output o stays out of the keep_out directory k (identity kid): neither its directory
 * (resolved: links to directories count) nor any directory above it is k, and if it
 * exists, it is none of k's files under another name (a hard or symbolic link
 * elsewhere: refused, as an output that names an input is). */
static sprec_err stay_out(const cli_path *o, const ident *oid, const cli_path *k, const ident *kid)
{
  char copy[PATH_MAX], real[PATH_MAX];
  struct stat sb;
  snprintf(copy, sizeof copy, "%s", o->path);
  if (realpath(dirname(copy), real))
    for (;;) {
      SPREC_CHECK(stat(real, &sb) != 0 || sb.st_dev != kid->dev || sb.st_ino != kid->ino,
                  SPREC_ERR_ARG, "%s %s: refusing to write into %s %s (that of %s)", o->flag,
                  o->path, k->keep_out, k->path, k->flag);
      char *slash = strrchr(real, '/');
      if (!slash || !strcmp(real, "/")) break;
      if (slash == real) slash[1] = '\0';
      else *slash = '\0';
    }
  if (oid->name || (oid->dev == 0 && oid->ino == 0)) return SPREC_OK; /* a new file */
  DIR *d = opendir(k->path);
  sprec_err err = SPREC_OK;
  for (struct dirent *e; d && !err && (e = readdir(d));) {
    snprintf(copy, sizeof copy, "%s/%s", k->path, e->d_name);
    if (stat(copy, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_dev == oid->dev && sb.st_ino == oid->ino)
      err = SPREC_ERROR(SPREC_ERR_ARG,
                        "%s %s is the same file as %s, in %s %s (that of %s): refusing to overwrite it",
                        o->flag, o->path, copy, k->keep_out, k->path, k->flag);
  }
  if (d) closedir(d);
  return err;
}

sprec_err cli_check_paths(MPI_Comm comm, const cli_path *p, int np)
{
  int rank;
  sprec_err err = SPREC_OK;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0) {
    ident *id = calloc((size_t)np + 1, sizeof *id);
    char(*names)[NAME_MAX + 1] = calloc((size_t)np + 1, sizeof *names);
    if (!id || !names) err = SPREC_ERROR(SPREC_ERR_MEM, "cannot allocate the list of files");
    for (int i = 0; i < np && !err; i++)
      if (p[i].path)
        err = p[i].keep_out ? check_keep_out(&p[i], &id[i])
              : p[i].output ? check_output(&p[i], &id[i], names[i])
                            : check_input(&p[i], &id[i]);
    for (int i = 0; i < np && !err; i++)
      for (int j = 0; j < i && !err; j++) {
        if (!p[i].path || !p[j].path || (!p[i].output && !p[j].output) || p[i].dir || p[j].dir ||
            p[i].keep_out || p[j].keep_out)
          continue;
        if (!same(&id[i], &id[j]) || (id[i].ino == 0 && id[i].dev == 0)) continue;
        if ((p[i].may_be && !strcmp(p[i].may_be, p[j].flag)) ||
            (p[j].may_be && !strcmp(p[j].may_be, p[i].flag)))
          continue; /* allowed: --checkpoint F --resume F continues the same file */
        const cli_path *o = p[i].output ? &p[i] : &p[j], *q = o == &p[i] ? &p[j] : &p[i];
        err = SPREC_ERROR(SPREC_ERR_ARG, "%s %s is the same file as %s %s: refusing to overwrite %s",
                          o->flag, o->path, q->flag, q->path,
                          q->output ? "one output with another" : "an input");
      }
    for (int i = 0; i < np && !err; i++)
      for (int j = 0; j < np && !err; j++)
        if (p[i].path && p[i].output && !p[i].dir && p[j].path && p[j].keep_out)
          err = stay_out(&p[i], &id[i], &p[j], &id[j]);
    free(id);
    free(names);
  }
  return sprec_agree(comm, err);
}

const char *cli_out_add(cli_outset *s, const char *path)
{
  if (s->n >= CLI_MAX_OUTPUTS) return path; /* (never: the commands have fewer outputs) */
  s->final[s->n] = path;
  snprintf(s->tmp[s->n], sizeof s->tmp[s->n], "%s.sprec-partial", path);
  return s->tmp[s->n++];
}

sprec_err cli_out_commit(MPI_Comm comm, cli_outset *s, sprec_err err)
{
  int rank;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0) {
    for (int i = 0; i < s->n && !err; i++)
      if (rename(s->tmp[i], s->final[i]) != 0)
        err = SPREC_ERROR(SPREC_ERR_IO, "%s: cannot rename the finished file into place: %s",
                          s->final[i], strerror(errno));
    if (err)
      for (int i = 0; i < s->n; i++) remove(s->tmp[i]); /* (the renamed ones are gone already) */
  }
  s->n = 0;
  return err ? err : sprec_agree(comm, SPREC_OK);
}

sprec_err cli_error_prefix(sprec_err err, const char *flag, const char *path)
{
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", sprec_errmsg());
  return sprec_error_set(err, __FILE__, __LINE__, __func__, "%s %s: %s", flag, path, msg);
}

sprec_err cli_file_error(sprec_err err, const char *flag, const char *path)
{
  if (!err || strncmp(sprec_errmsg(), path, strlen(path))) return err;
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", sprec_errmsg());
  return sprec_error_set(err, __FILE__, __LINE__, __func__, "%s %s", flag, msg);
}

sprec_err cli_alloc(size_t count, size_t size, void *ptrp, const char *what)
{
  void *p = calloc(count ? count : 1, size);
  *(void **)ptrp = p;
  if (!p) return SPREC_ERROR(SPREC_ERR_MEM, "cannot allocate %zu bytes for %s", count * size, what);
  return SPREC_OK;
}
