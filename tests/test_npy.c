/* Tests of the .npy reader and writer (src/fmt/npy*.c), at any number of ranks.
 *
 * Reference files are made by numpy (a script run on rank 0) or written byte by byte
 * here, never by the code under test; values follow a[i, j] = 1000 i + j + 0.25,
 * exact in float32 too. Every verdict is reduced over the ranks before ck_assert so
 * that all ranks fail (or pass) the same assertion together and none is left waiting
 * in a collective call. Check runs in no-fork mode (MPI forbids fork). */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[256];
static int g_rank, g_size;

/* ------------------------------------------------------------- helpers -- */
static void path_of(char *out, size_t len, const char *name)
{
  snprintf(out, len, "%s/%s", g_dir, name);
}

static double val(int64_t i, int64_t j) { return (double)i * 1000.0 + (double)j + 0.25; }

/* The block distribution of the task statement (same as sprec_block_*). */
static void block(int64_t n, int r, int64_t *c0, int64_t *nc)
{
  int64_t q = n / g_size, rem = n % g_size;
  *c0 = r * q + (r < rem ? r : rem);
  *nc = q + (r < rem);
}


static int exists(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0;
}

/* Rank 0 looks for leftover temporary files of the writer in the test directory. */
static int no_temp_files(void)
{
  int ok = 1;
  if (g_rank == 0) {
    DIR *d = opendir(g_dir);
    struct dirent *e;
    if (!d) ok = 0;
    while (d && (e = readdir(d)))
      if (strstr(e->d_name, ".tmp.")) ok = 0;
    if (d) closedir(d);
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return ok;
}

/* Write a .npy file by hand on rank 0: magic, version, header length, the dict padded
 * with spaces to a multiple of 64 bytes and '\n', then raw data. */
static void write_raw(const char *name, int major, const char *dict, const void *data,
                      size_t nbytes)
{
  int ok = 1;
  if (g_rank == 0) {
    char path[512];
    path_of(path, sizeof path, name);
    FILE *f = fopen(path, "wb");
    ok = f != NULL;
    if (f) {
      int pre = major == 1 ? 10 : 12;
      size_t n = strlen(dict), total = (pre + n + 1 + 63) / 64 * 64, hlen = total - pre;
      unsigned char h[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', (unsigned char)major, 0};
      for (int b = 0; b < pre - 8; b++) h[8 + b] = (unsigned char)(hlen >> (8 * b));
      fwrite(h, 1, (size_t)pre, f);
      fwrite(dict, 1, n, f);
      for (size_t k = n; k + 1 < hlen; k++) fputc(' ', f);
      fputc('\n', f);
      if (nbytes) fwrite(data, 1, nbytes, f);
      ok = fclose(f) == 0;
    }
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  ck_assert_msg(ok, "cannot write %s", name);
}

/* Checks one file: inspect gives the expected info, and columns read (the rank's
 * block, then all of them, then a one-column window) match the formula. For 1-D
 * files the element j is val(0, j). */
static int check_file(const char *name, int ndim, int64_t s0, int64_t s1, int fortran, int elsize)
{
  char path[512];
  path_of(path, sizeof path, name);
  sprec_npy_info info;
  int ok = sprec_npy_inspect(MPI_COMM_WORLD, path, &info) == SPREC_OK;
  if (!ok) fprintf(stderr, "[%d] %s: %s\n", g_rank, name, sprec_errmsg());
  ok = ok && info.ndim == ndim && info.shape[0] == s0 && info.shape[1] == s1 &&
       info.fortran_order == fortran && info.elsize == elsize && info.data_offset % 16 == 0;
  ok = tu_all(ok);
  if (!ok) return 0;

  int64_t rows = ndim == 1 ? 1 : s0, cols = ndim == 1 ? s0 : s1;
  double *buf = malloc((size_t)(rows * cols) * sizeof *buf);
  for (int pass = 0; pass < 3; pass++) {
    int64_t c0, nc;
    if (pass == 0) block(cols, g_rank, &c0, &nc);
    else if (pass == 1) c0 = 0, nc = cols;
    else c0 = (g_rank * 7) % cols, nc = 1;
    for (int64_t k = 0; k < rows * cols; k++) buf[k] = -1;
    sprec_err e = sprec_npy_read_cols(MPI_COMM_WORLD, path, &info, c0, nc, buf);
    int mine = e == SPREC_OK;
    for (int64_t j = 0; mine && j < nc; j++)
      for (int64_t i = 0; i < rows; i++)
        if (buf[j * rows + i] != val(i, c0 + j)) {
          fprintf(stderr, "[%d] %s: (%lld, %lld) = %g, want %g\n", g_rank, name, (long long)i,
                  (long long)(c0 + j), buf[j * rows + i], val(i, c0 + j));
          mine = 0;
          break;
        }
    if (e) fprintf(stderr, "[%d] %s: %s\n", g_rank, name, sprec_errmsg());
    ok = tu_all(mine) && ok;
  }
  free(buf);
  return ok;
}

/* A failing call must return the same code on every rank, with a one-line message
 * that starts with the path and contains `what`. */
static int check_error(sprec_err e, sprec_err want, const char *path, const char *what)
{
  const char *m = sprec_errmsg();
  int ok = e == want && strncmp(m, path, strlen(path)) == 0 && strstr(m, what) != NULL &&
           strchr(m, '\n') == NULL;
  if (!ok)
    fprintf(stderr, "[%d] %s: got %d '%s', want %d containing '%s'\n", g_rank, path, (int)e, m,
            (int)want, what);
  int lo = 0, hi = 0, c = (int)e;
  MPI_Allreduce(&c, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(&c, &hi, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return tu_all(ok) && lo == hi;
}

/* ------------------------------------------------------------- fixtures -- */
/* Made by numpy itself so that the reader is checked against the real format. */
static const char *const py_fixtures =
    "import sys, numpy as np\n"
    "d = sys.argv[1]\n"
    "def f(m, n):\n"
    "    i, j = np.indices((m, n))\n"
    "    return i * 1000.0 + j + 0.25\n"
    "def save(name, a, version=None):\n"
    "    with open(d + '/' + name, 'wb') as fh:\n"
    "        np.lib.format.write_array(fh, a, version=version)\n"
    "for m, n in [(5, 7), (1, 9), (13, 3), (4, 1), (3, 10)]:\n"
    "    a = f(m, n)\n"
    "    for v in (1, 2, 3):\n"
    "        save('c8_%dx%d_v%d.npy' % (m, n, v), np.ascontiguousarray(a), (v, 0))\n"
    "        save('f8_%dx%d_v%d.npy' % (m, n, v), np.asfortranarray(a), (v, 0))\n"
    "        save('c4_%dx%d_v%d.npy' % (m, n, v), np.ascontiguousarray(a, dtype='<f4'), (v, 0))\n"
    "        save('f4_%dx%d_v%d.npy' % (m, n, v), np.asfortranarray(a, dtype='<f4'), (v, 0))\n"
    "for n in (1, 6, 11):\n"
    "    for v in (1, 2, 3):\n"
    "        save('d8_%d_v%d.npy' % (n, v), np.arange(n) + 0.25, (v, 0))\n"
    "        save('d4_%d_v%d.npy' % (n, v), (np.arange(n) + 0.25).astype('<f4'), (v, 0))\n"
    "np.save(d + '/i8.npy', np.arange(6, dtype='<i8').reshape(2, 3))\n"
    "np.save(d + '/be.npy', f(2, 3).astype('>f8'))\n"
    "np.save(d + '/c16.npy', f(2, 3).astype('<c16'))\n"
    "np.save(d + '/rec.npy', np.zeros(4, dtype=[('a', '<f8'), ('b', '<f4')]))\n"
    "np.save(d + '/d3.npy', np.zeros((2, 3, 4)))\n"
    "np.save(d + '/empty.npy', np.zeros((0, 5)))\n"
    "np.save(d + '/empty1.npy', np.zeros(0))\n"
    "np.save(d + '/scalar.npy', np.float64(1.5))\n"
    "np.save(d + '/trunc.npy', f(4, 5))\n"
    "b = open(d + '/trunc.npy', 'rb').read()\n"
    "open(d + '/trunc.npy', 'wb').write(b[:-8])\n"
    "np.save(d + '/trail.npy', f(4, 5))\n"
    "open(d + '/trail.npy', 'ab').write(b'xyz')\n"
    "open(d + '/text.npy', 'w').write('just some text, not an array\\n' * 5)\n"
    "open(d + '/short.npy', 'wb').write(b'\\x93NU')\n"
    "open(d + '/hdronly.npy', 'wb').write(b[:20])\n"
    "open(d + '/v4.npy', 'wb').write(b'\\x93NUMPY\\x04\\x00' + b[8:])\n";

/* The suite's directory and the files numpy writes there. */
static int make_fixtures(void)
{
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  const char *d = tu_tmpdir();
  if (!d) return 0;
  snprintf(g_dir, sizeof g_dir, "%s", d);
  return tu_python(py_fixtures, (const char *const[]){g_dir, NULL});
}

/* ---------------------------------------------------------------- tests -- */
START_TEST(test_read_numpy_2d)
{
  static const int64_t shapes[][2] = {{5, 7}, {1, 9}, {13, 3}, {4, 1}, {3, 10}};
  static const struct { const char *pfx; int fortran, elsize; } kinds[] = {
      {"c8", 0, 8}, {"f8", 1, 8}, {"c4", 0, 4}, {"f4", 1, 4}};
  for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
      for (int v = 1; v <= 3; v++) {
        char name[64];
        snprintf(name, sizeof name, "%s_%lldx%lld_v%d.npy", kinds[k].pfx, (long long)shapes[s][0],
                 (long long)shapes[s][1], v);
        /* numpy writes fortran_order False for arrays that are both C and Fortran
         * contiguous (one row or one column). */
        int fortran = kinds[k].fortran && shapes[s][0] > 1 && shapes[s][1] > 1;
        ck_assert_msg(check_file(name, 2, shapes[s][0], shapes[s][1], fortran, kinds[k].elsize),
                      "%s", name);
      }
}
END_TEST

START_TEST(test_read_numpy_1d)
{
  static const int64_t lens[] = {1, 6, 11};
  for (size_t s = 0; s < sizeof lens / sizeof *lens; s++)
    for (int v = 1; v <= 3; v++)
      for (int es = 4; es <= 8; es += 4) {
        char name[64];
        snprintf(name, sizeof name, "d%d_%lld_v%d.npy", es, (long long)lens[s], v);
        ck_assert_msg(check_file(name, 1, lens[s], 1, 0, es), "%s", name);
      }
}
END_TEST

/* Header spellings numpy's writers never produced but its reader accepts. */
START_TEST(test_read_handmade)
{
  double a[6], at[6];
  float b[6];
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 2; j++) {
      a[i * 2 + j] = val(i, j);  /* C order */
      at[j * 3 + i] = val(i, j); /* Fortran order */
    }
  for (int j = 0; j < 6; j++) b[j] = (float)val(0, j);
  write_raw("h1.npy", 1, "{\"shape\": (3, 2), \"fortran_order\": False, \"descr\": \"<f8\"}", a,
            sizeof a);
  write_raw("h2.npy", 1, "{'fortran_order':True,'shape':(3L,2L,),'descr':'<f8',}", at, sizeof at);
  write_raw("h3.npy", 2, "  {  'descr' : '<f4' ,\n 'fortran_order' : False , 'shape' : ( 6 , ) }",
            b, sizeof b);
  write_raw("h4.npy", 3, "{'descr': '<f8', 'fortran_order': False, 'shape': (6), }", a, sizeof a);
  ck_assert(check_file("h1.npy", 2, 3, 2, 0, 8));
  ck_assert(check_file("h2.npy", 2, 3, 2, 1, 8));
  ck_assert(check_file("h3.npy", 1, 6, 1, 0, 4));
  /* (6) is the int 6 in Python; accepted as a 1-D shape. Element j of a is val(j/2, j%2),
   * not the formula: check the values directly. */
  char path[512];
  path_of(path, sizeof path, "h4.npy");
  sprec_npy_info info;
  double out[6] = {0};
  int ok = sprec_npy_inspect(MPI_COMM_WORLD, path, &info) == SPREC_OK && info.ndim == 1 &&
           info.shape[0] == 6 &&
           sprec_npy_read_cols(MPI_COMM_WORLD, path, &info, 0, 6, out) == SPREC_OK &&
           memcmp(out, a, sizeof a) == 0;
  ck_assert(tu_all(ok));
}
END_TEST

START_TEST(test_read_errors)
{
  static const double z[6] = {0};
  write_raw("m_nokey.npy", 1, "{'descr': '<f8', 'fortran_order': False}", z, sizeof z);
  write_raw("m_bool.npy", 1, "{'descr': '<f8', 'fortran_order': maybe, 'shape': (6,)}", z, sizeof z);
  write_raw("m_extra.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (6,), 'x': 1}", z,
            sizeof z);
  write_raw("m_after.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (6,)} junk", z,
            sizeof z);
  write_raw("m_neg.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (-6,)}", z, sizeof z);
  write_raw("m_list.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': [6]}", z, sizeof z);
  /* 3 x 3074457345618258603 elements: the element count itself overflows int64 (found by
   * tests/fuzz/fuzz_npy_header: the count was formed before the overflow check). */
  write_raw("m_huge.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 3074457345618258603)}",
            z, sizeof z);
  if (g_rank == 0) {
    char p[512];
    path_of(p, sizeof p, "adir.npy");
    mkdir(p, 0755);
  }
  MPI_Barrier(MPI_COMM_WORLD);

  static const struct { const char *name; sprec_err code; const char *what; } cases[] = {
      {"missing.npy", SPREC_ERR_IO, "cannot open: No such file or directory"},
      {"adir.npy", SPREC_ERR_IO, "Is a directory"},
      {"text.npy", SPREC_ERR_FORMAT, "not a .npy file (bad magic)"},
      {"short.npy", SPREC_ERR_FORMAT, "not a .npy file (bad magic)"},
      {"hdronly.npy", SPREC_ERR_FORMAT, "truncated"},
      {"v4.npy", SPREC_ERR_FORMAT, "version 4.0"},
      {"trunc.npy", SPREC_ERR_FORMAT, "truncated: header announces 160 bytes of data, file has 152"},
      {"trail.npy", SPREC_ERR_FORMAT, "trailing"},
      {"i8.npy", SPREC_ERR_FORMAT, "unsupported dtype '<i8'"},
      {"be.npy", SPREC_ERR_FORMAT, "unsupported dtype '>f8'"},
      {"c16.npy", SPREC_ERR_FORMAT, "unsupported dtype '<c16'"},
      {"rec.npy", SPREC_ERR_FORMAT, "dtype"},
      {"d3.npy", SPREC_ERR_FORMAT, "3-D array of shape (2, 3, 4)"},
      {"scalar.npy", SPREC_ERR_FORMAT, "0-D"},
      {"empty.npy", SPREC_ERR_FORMAT, "empty array"},
      {"empty1.npy", SPREC_ERR_FORMAT, "empty array"},
      {"m_nokey.npy", SPREC_ERR_FORMAT, "missing key 'shape'"},
      {"m_bool.npy", SPREC_ERR_FORMAT, "malformed"},
      {"m_extra.npy", SPREC_ERR_FORMAT, "unexpected key 'x'"},
      {"m_after.npy", SPREC_ERR_FORMAT, "malformed"},
      {"m_neg.npy", SPREC_ERR_FORMAT, "malformed"},
      {"m_list.npy", SPREC_ERR_FORMAT, "malformed"},
      {"m_huge.npy", SPREC_ERR_FORMAT, "shape overflows a 64-bit byte count"},
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    char path[512];
    path_of(path, sizeof path, cases[c].name);
    sprec_npy_info info;
    sprec_err e = sprec_npy_inspect(MPI_COMM_WORLD, path, &info);
    ck_assert_msg(check_error(e, cases[c].code, path, cases[c].what), "%s", cases[c].name);
  }
}
END_TEST

START_TEST(test_read_bad_calls)
{
  char path[512];
  path_of(path, sizeof path, "f8_5x7_v1.npy");
  sprec_npy_info info;
  ck_assert(tu_all(sprec_npy_inspect(MPI_COMM_WORLD, path, &info) == SPREC_OK));
  double buf[35];
  /* Out-of-range columns on the last rank only: every rank returns the error. */
  int last = g_rank == g_size - 1;
  sprec_err e = sprec_npy_read_cols(MPI_COMM_WORLD, path, &info, last ? 5 : 0, last ? 3 : 1, buf);
  ck_assert(check_error(e, SPREC_ERR_ARG, path, "out of range"));

  /* The file disappears between inspect and read. */
  char gone[512];
  path_of(gone, sizeof gone, "gone.npy");
  ck_assert(tu_python("import shutil, sys; shutil.copy(sys.argv[1], sys.argv[2])",
                      (const char *const[]){path, gone, NULL}));
  ck_assert(tu_all(sprec_npy_inspect(MPI_COMM_WORLD, gone, &info) == SPREC_OK));
  if (g_rank == 0) unlink(gone);
  MPI_Barrier(MPI_COMM_WORLD);
  e = sprec_npy_read_cols(MPI_COMM_WORLD, gone, &info, 0, 1, buf);
  ck_assert(check_error(e, SPREC_ERR_IO, gone, "cannot open"));
}
END_TEST

/* Write a distributed rows x n array, then have numpy and our reader check it. */
static int write_and_check(const char *name, int ndim, int64_t rows, int64_t n, double shift)
{
  char path[512], a[4][32];
  path_of(path, sizeof path, name);
  int64_t c0, nc;
  block(n, g_rank, &c0, &nc);
  double *buf = malloc((size_t)(rows * (nc ? nc : 1)) * sizeof *buf);
  for (int64_t j = 0; j < nc; j++)
    for (int64_t i = 0; i < rows; i++) buf[j * rows + i] = val(i, c0 + j) + shift;
  sprec_err e = sprec_npy_write_cols(MPI_COMM_WORLD, path, ndim, rows, n, c0, nc, buf);
  if (e) fprintf(stderr, "[%d] %s\n", g_rank, sprec_errmsg());
  int ok = tu_all(e == SPREC_OK);

  /* numpy: dtype, shape, values, format version 1.0 and 64-byte data alignment. */
  static const char check_py[] =
      "import sys, numpy as np\n"
      "path, ndim, rows, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])\n"
      "shift = float(sys.argv[5])\n"
      "f = open(path, 'rb'); v = np.lib.format.read_magic(f)\n"
      "np.lib.format.read_array_header_1_0(f); a = np.load(path)\n"
      "if ndim == 2:\n"
      "    i, j = np.indices((rows, n)); want = (rows, n); ref = i * 1000.0 + j + 0.25 + shift\n"
      "else:\n"
      "    want = (n,); ref = np.arange(n) + 0.25 + shift\n"
      "sys.exit(0 if v == (1, 0) and f.tell() % 64 == 0 and a.dtype == np.dtype('<f8') and "
      "a.shape == want and (ndim == 1 or a.flags.f_contiguous) and (a == ref).all() else 1)\n";
  snprintf(a[0], sizeof a[0], "%d", ndim);
  snprintf(a[1], sizeof a[1], "%lld", (long long)rows);
  snprintf(a[2], sizeof a[2], "%lld", (long long)n);
  snprintf(a[3], sizeof a[3], "%.17g", shift);
  ok = ok && tu_python(check_py, (const char *const[]){path, a[0], a[1], a[2], a[3], NULL});

  /* Our reader, on a different distribution (reversed blocks). */
  sprec_npy_info info;
  int mine = sprec_npy_inspect(MPI_COMM_WORLD, path, &info) == SPREC_OK && info.ndim == ndim &&
             info.shape[0] == (ndim == 1 ? n : rows) && info.shape[1] == (ndim == 1 ? 1 : n) &&
             info.elsize == 8 && info.data_offset % 64 == 0;
  block(n, g_size - 1 - g_rank, &c0, &nc);
  double *back = malloc((size_t)(rows * (nc ? nc : 1)) * sizeof *back);
  mine = mine && sprec_npy_read_cols(MPI_COMM_WORLD, path, &info, c0, nc, back) == SPREC_OK;
  for (int64_t j = 0; mine && j < nc; j++)
    for (int64_t i = 0; i < rows; i++)
      if (back[j * rows + i] != val(i, c0 + j) + shift) mine = 0;
  free(buf);
  free(back);
  return tu_all(mine) && ok && no_temp_files();
}

START_TEST(test_write)
{
  ck_assert(write_and_check("w2.npy", 2, 6, 11, 0.0));
  ck_assert(write_and_check("w2.npy", 2, 6, 11, 1.0)); /* replaces the existing file */
  ck_assert(write_and_check("w2_1.npy", 2, 1, 3, 0.0));
  ck_assert(write_and_check("w2_n1.npy", 2, 4, 1, 0.0)); /* one column: ranks without any */
  ck_assert(write_and_check("w1.npy", 1, 1, 13, 0.0));
  ck_assert(write_and_check("w1_2.npy", 1, 1, 2, 0.0));
}
END_TEST

START_TEST(test_write_errors)
{
  double buf[64];
  for (int k = 0; k < 64; k++) buf[k] = k;
  int64_t c0, nc;
  block(8, g_rank, &c0, &nc);

  /* Missing directory: open fails on every rank. */
  char path[512];
  path_of(path, sizeof path, "nodir/A.npy");
  sprec_err e = sprec_npy_write_cols(MPI_COMM_WORLD, path, 2, 4, 8, c0, nc, buf);
  ck_assert(check_error(e, SPREC_ERR_IO, path, "cannot write: No such file or directory"));
  ck_assert(tu_all(!exists(path)));

  /* The target is a directory: the data are written, the final rename fails, and the
   * temporary must be gone. */
  path_of(path, sizeof path, "isdir");
  if (g_rank == 0) mkdir(path, 0755);
  MPI_Barrier(MPI_COMM_WORLD);
  e = sprec_npy_write_cols(MPI_COMM_WORLD, path, 2, 4, 8, c0, nc, buf);
  ck_assert(check_error(e, SPREC_ERR_IO, path, "cannot write: Is a directory"));
  ck_assert(no_temp_files());

  /* Column blocks that do not tile the array, or a bad argument on one rank only. */
  path_of(path, sizeof path, "bad.npy");
  e = sprec_npy_write_cols(MPI_COMM_WORLD, path, 2, 4, 8, 0, g_size == 1 ? 7 : 8, buf);
  ck_assert(check_error(e, SPREC_ERR_ARG, path, "column"));
  e = sprec_npy_write_cols(MPI_COMM_WORLD, path, g_rank == g_size - 1 ? 3 : 2, 4, 8, c0, nc, buf);
  ck_assert(check_error(e, SPREC_ERR_ARG, path, "3-D"));
  e = sprec_npy_write_cols(MPI_COMM_WORLD, path, 1, 2, 8, c0, nc, buf);
  ck_assert(check_error(e, SPREC_ERR_ARG, path, "rows = 1"));
  ck_assert(tu_all(!exists(path)));
  ck_assert(no_temp_files());
}
END_TEST

TU_MAIN("npy", 120, make_fixtures, test_read_numpy_2d, test_read_numpy_1d, test_read_handmade,
        test_read_errors, test_read_bad_calls, test_write, test_write_errors)
