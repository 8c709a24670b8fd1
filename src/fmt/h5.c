/* HDF5 datasets in and out of the distributed layout, through parallel HDF5: the file
 * opened with the MPI-IO driver on the caller's communicator, every transfer
 * collective, each rank selecting only the hyperslab of its own columns. The only file
 * of the library that includes hdf5.h. HDF5 prints its error stack by default; here
 * it is silenced and the gist of its innermost message goes into our one line. */
#include "../core/impl.h"

#include <hdf5.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Columns moved per collective transfer: the staging buffer stays under this. */
#ifndef SPREC_H5_CHUNK_BYTES
#define SPREC_H5_CHUNK_BYTES ((int64_t)64 << 20)
#endif
/* Not in any header: tests/test_h5.c lowers it so that small arrays take many rounds
 * (and ranks with fewer columns, empty ones). */
int64_t sprec_h5_chunk_bytes = SPREC_H5_CHUNK_BYTES;

/* Turned off before every entry point: a caller (or h5py in the same process) may have
 * turned it back on. */
static void silence(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static herr_t keep_desc(unsigned n, const H5E_error2_t *e, void *data)
{
  (void)n;
  if (e->desc && *e->desc) snprintf(data, 160, "%s", e->desc);
  return 0;
}

/* The innermost message of HDF5's error stack (where the problem was found), cleared. */
static const char *gist(char buf[160])
{
  buf[0] = '\0';
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, keep_desc, buf);
  H5Eclear2(H5E_DEFAULT);
  if (!buf[0]) snprintf(buf, 160, "HDF5 error");
  return buf;
}

sprec_err sprec_h5_spec(const char *spec, char *file, size_t flen, char *dataset, size_t dlen,
                        int *is_h5)
{
  static const char *const ext[] = {".h5", ".hdf5", NULL};
  *is_h5 = 0;
  for (size_t i = 1; spec[i - 1]; i++) { /* i: the length of the file part tried */
    if (spec[i] != ':' && spec[i] != '\0') continue;
    for (int e = 0; ext[e]; e++) {
      size_t el = strlen(ext[e]);
      if (i < el || strncasecmp(spec + i - el, ext[e], el)) continue;
      const char *d = spec[i] ? spec + i + 1 : "";
      SPREC_CHECK(i < flen && strlen(d) < dlen, SPREC_ERR_ARG, "%.200s...: name too long", spec);
      memcpy(file, spec, i);
      file[i] = '\0';
      snprintf(dataset, dlen, "%s", d);
      *is_h5 = 1;
      return SPREC_OK;
    }
  }
  return SPREC_OK;
}

/* ------------------------------------------------------------- opening -- */
/* Rank 0 looks first, so that a missing or foreign file gets a plain message (HDF5's
 * would come from deep inside MPI-IO); then every rank opens it collectively. */
static sprec_err open_file(MPI_Comm comm, const char *path, unsigned flags, hid_t *file)
{
  sprec_err err = SPREC_OK;
  int rank;
  char g[160];
  *file = H5I_INVALID_HID;
  silence();
  MPI_Comm_rank(comm, &rank);
  if (rank == 0) {
    struct stat sb;
    htri_t is;
    if (stat(path, &sb) != 0) err = SPREC_ERROR(SPREC_ERR_IO, "%s: %s", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode))
      err = SPREC_ERROR(SPREC_ERR_IO, "%s: not a regular file", path);
    else if (access(path, R_OK) != 0)
      err = SPREC_ERROR(SPREC_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    else if ((is = H5Fis_hdf5(path)) <= 0)
      err = SPREC_ERROR(SPREC_ERR_FORMAT, "%s: not an HDF5 file (%s)", path,
                        is < 0 ? gist(g) : "no HDF5 signature");
  }
  SPREC_CALL(sprec_agree(comm, err));
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl < 0 || H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL) < 0)
    err = SPREC_ERROR(SPREC_ERR_IO, "%s: cannot set up parallel HDF5 (%s)", path, gist(g));
  else if ((*file = H5Fopen(path, flags, fapl)) < 0)
    err = SPREC_ERROR(SPREC_ERR_FORMAT, "%s: cannot open as HDF5 (%s)", path, gist(g));
  if (fapl >= 0) H5Pclose(fapl);
  return sprec_agree(comm, err);
}

static void close_file(hid_t *file)
{
  if (*file >= 0) H5Fclose(*file);
  *file = H5I_INVALID_HID;
}

/* "float64", "int32", "string", ... for messages. */
static void type_name(hid_t t, char *buf, size_t len)
{
  size_t bits = 8 * H5Tget_size(t);
  switch (H5Tget_class(t)) {
  case H5T_INTEGER:
    snprintf(buf, len, "%sint%zu", H5Tget_sign(t) == H5T_SGN_NONE ? "u" : "", bits);
    break;
  case H5T_FLOAT: snprintf(buf, len, "float%zu", bits); break;
  case H5T_STRING: snprintf(buf, len, "string"); break;
  case H5T_COMPOUND: snprintf(buf, len, "compound"); break;
  case H5T_ENUM: snprintf(buf, len, "enum (bool?)"); break;
  default: snprintf(buf, len, "a non-numeric type"); break;
  }
}

/* ------------------------------------------------------------ listing -- */
typedef struct {
  char *buf;
  size_t len, used;
  const char *sep;
  int count;
} listing;

static herr_t list_one(hid_t g, const char *name, const H5L_info_t *li, void *data)
{
  listing *l = data;
  if (li->type != H5L_TYPE_HARD) return 0;
  hid_t ds = H5Dopen2(g, name, H5P_DEFAULT);
  if (ds < 0) { /* a group */
    H5Eclear2(H5E_DEFAULT);
    return 0;
  }
  hid_t sp = H5Dget_space(ds), t = H5Dget_type(ds);
  hsize_t d[H5S_MAX_RANK];
  int nd = H5Sget_simple_extent_dims(sp, d, NULL);
  char tn[32], shape[128] = "";
  type_name(t, tn, sizeof tn);
  for (int i = 0, o = 0; i < nd && o < (int)sizeof shape; i++)
    o += snprintf(shape + o, sizeof shape - (size_t)o, "%s%llu", i ? " x " : "", (unsigned long long)d[i]);
  if (nd == 0) snprintf(shape, sizeof shape, "scalar");
  if (l->used < l->len) {
    int w = snprintf(l->buf + l->used, l->len - l->used, "%s/%s (%s, %s)", l->count ? l->sep : "",
                     name, tn, shape);
    l->used += w > 0 ? (size_t)w : 0;
  }
  l->count++;
  H5Tclose(t);
  H5Sclose(sp);
  H5Dclose(ds);
  return 0;
}

static void list_datasets(hid_t file, const char *sep, char *buf, size_t len)
{
  listing l = {buf, len, 0, sep, 0};
  buf[0] = '\0';
  H5Lvisit(file, H5_INDEX_NAME, H5_ITER_INC, list_one, &l);
  H5Eclear2(H5E_DEFAULT);
  if (!l.count) snprintf(buf, len, "none");
  if (l.used >= len && len > 4) snprintf(buf + len - 4, 4, "...");
}

static sprec_err list_file(MPI_Comm comm, const char *path, char *buf, size_t len)
{
  hid_t file;
  SPREC_CHECK(len > 8, SPREC_ERR_ARG, "%s: listing buffer too small", path);
  SPREC_CALL(open_file(comm, path, H5F_ACC_RDONLY, &file));
  list_datasets(file, "\n", buf, len);
  close_file(&file);
  return SPREC_OK;
}

/* ---------------------------------------------------------- inspection -- */
/* dataset without a trailing :F or :C into name; *order: 'F', 'C' or 0 (not given). */
static sprec_err split_order(const char *path, const char *dataset, char *name, size_t len,
                             char *order)
{
  size_t n = strlen(dataset);
  *order = 0;
  if (n >= 2 && dataset[n - 2] == ':' && (dataset[n - 1] == 'F' || dataset[n - 1] == 'C')) {
    *order = dataset[n - 1];
    n -= 2;
  }
  SPREC_CHECK(n < len, SPREC_ERR_ARG, "%s: dataset name too long", path);
  memcpy(name, dataset, n);
  name[n] = '\0';
  return SPREC_OK;
}

/* The dataset's attribute "order" ("C" or "F"), if it has one: *order stays 0 if not. */
static sprec_err order_attribute(hid_t ds, const char *nm, char *order)
{
  if (H5Aexists(ds, "order") <= 0) return SPREC_OK;
  char g[160], v[16] = "";
  hid_t a = H5Aopen(ds, "order", H5P_DEFAULT), t = a >= 0 ? H5Aget_type(a) : -1;
  sprec_err err = SPREC_OK;
  if (t < 0 || H5Tget_class(t) != H5T_STRING)
    err = SPREC_ERROR(SPREC_ERR_FORMAT, "%s: attribute order must be the string \"C\" or \"F\"", nm);
  else if (H5Tis_variable_str(t) > 0) { /* h5py's str */
    char *s = NULL;
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, H5T_VARIABLE);
    H5Tset_cset(mt, H5Tget_cset(t)); /* (UTF-8 from h5py: no conversion to ASCII) */
    if (H5Aread(a, mt, &s) < 0) err = SPREC_ERROR(SPREC_ERR_FORMAT, "%s: attribute order: %s", nm, gist(g));
    else if (s) snprintf(v, sizeof v, "%s", s);
    if (s) H5free_memory(s);
    H5Tclose(mt);
  } else if (H5Tget_size(t) < sizeof v) { /* fixed length (NumPy bytes, C, Fortran) */
    if (H5Aread(a, t, v) < 0) err = SPREC_ERROR(SPREC_ERR_FORMAT, "%s: attribute order: %s", nm, gist(g));
  }
  if (!err && strcmp(v, "C") && strcmp(v, "F"))
    err = SPREC_ERROR(SPREC_ERR_FORMAT, "%s: attribute order must be \"C\" or \"F\" (got \"%.8s\")",
                      nm, v);
  if (!err) *order = v[0];
  if (t >= 0) H5Tclose(t);
  if (a >= 0) H5Aclose(a);
  return err;
}

/* Shape, element type, layout and storage order of an open dataset. */
static sprec_err describe(hid_t ds, const char *nm, char order, sprec_h5_info *in)
{
  hsize_t d[H5S_MAX_RANK];
  char tn[32];
  hid_t sp = H5Dget_space(ds), t = H5Dget_type(ds), pl = H5Dget_create_plist(ds);
  int nd = H5Sget_simple_extent_dims(sp, d, NULL);
  H5T_class_t cl = H5Tget_class(t);
  size_t sz = H5Tget_size(t);
  type_name(t, tn, sizeof tn);
  memset(in, 0, sizeof *in);
  in->big_endian = H5Tget_order(t) == H5T_ORDER_BE;
  in->chunked = H5Pget_layout(pl) == H5D_CHUNKED;
  in->filters = H5Pget_nfilters(pl);
  if (in->chunked) {
    hsize_t c[H5S_MAX_RANK] = {0};
    H5Pget_chunk(pl, 2, c);
    in->chunk[0] = (int64_t)c[0], in->chunk[1] = nd > 1 ? (int64_t)c[1] : 1;
  }
  H5Pclose(pl), H5Tclose(t), H5Sclose(sp);
  SPREC_CHECK(cl == H5T_FLOAT && (sz == 8 || sz == 4), SPREC_ERR_FORMAT,
              "%s: has element type %s, float64 or float32 is needed", nm, tn);
  SPREC_CHECK(nd == 1 || nd == 2, SPREC_ERR_FORMAT,
              "%s: has %d dimensions, a 1-D or 2-D array is needed", nm, nd);
  SPREC_CHECK(d[0] > 0 && (nd == 1 || d[1] > 0), SPREC_ERR_FORMAT, "%s: is empty", nm);
  in->ndim = nd;
  in->elsize = (int)sz;
  in->fortran_order = nd == 2 && order == 'F';
  in->shape[0] = (int64_t)d[in->fortran_order ? 1 : 0];
  in->shape[1] = nd == 1 ? 1 : (int64_t)d[in->fortran_order ? 0 : 1];
  return SPREC_OK;
}

/* Opens dataset (which may end with :F or :C) of an open file and describes it. */
static sprec_err open_dataset(hid_t file, const char *path, const char *dataset, hid_t *ds,
                              sprec_h5_info *in)
{
  char name[1024], nm[4200], order, list[600];
  *ds = H5I_INVALID_HID;
  SPREC_CALL(split_order(path, dataset, name, sizeof name, &order));
  if (!name[0]) {
    list_datasets(file, ", ", list, sizeof list);
    return SPREC_ERROR(SPREC_ERR_ARG, "%s: name the dataset (%s:/NAME); its datasets: %s", path,
                       path, list);
  }
  snprintf(nm, sizeof nm, "%s:%s", path, dataset);
  if (H5Lexists(file, name, H5P_DEFAULT) <= 0 || (*ds = H5Dopen2(file, name, H5P_DEFAULT)) < 0) {
    H5Eclear2(H5E_DEFAULT);
    list_datasets(file, ", ", list, sizeof list);
    return SPREC_ERROR(SPREC_ERR_FORMAT, "%s: no dataset %s in the file; its datasets: %s", nm,
                       name, list);
  }
  sprec_err err = order ? SPREC_OK : order_attribute(*ds, nm, &order);
  if (!err) err = describe(*ds, nm, order, in);
  if (err) {
    H5Dclose(*ds);
    *ds = H5I_INVALID_HID;
  }
  return err;
}

static sprec_err inspect(MPI_Comm comm, const char *path, const char *dataset,
                         sprec_h5_info *info)
{
  hid_t file, ds = H5I_INVALID_HID;
  SPREC_CALL(open_file(comm, path, H5F_ACC_RDONLY, &file));
  /* The same metadata on every rank: every rank fails alike, agreed all the same. */
  sprec_err err = sprec_agree(comm, open_dataset(file, path, dataset, &ds, info));
  if (ds >= 0) H5Dclose(ds);
  close_file(&file);
  return err;
}

/* ------------------------------------------------------------ reading -- */
/* The staged C-order rows x nc slab (row-major, element size es) into buf, column-major
 * with leading dimension rows, widened to double; tiles keep both sides in cache. */
static void unpack_c(const void *stage, int es, int64_t rows, int64_t nc, double *buf)
{
  const int64_t T = 32;
  for (int64_t i0 = 0; i0 < rows; i0 += T)
    for (int64_t j0 = 0; j0 < nc; j0 += T)
      for (int64_t j = j0; j < nc && j < j0 + T; j++)
        for (int64_t i = i0; i < rows && i < i0 + T; i++)
          buf[i + j * rows] = es == 8 ? ((const double *)stage)[i * nc + j]
                                      : (double)((const float *)stage)[i * nc + j];
}

/* Columns [c, c+nc) of the array as the file lays them out: the hyperslab of file
 * space fs, and a memory space of the same shape (so that HDF5 maps each chunk's part
 * by offsets: with a flat memory space its chunked reads ran 5 times slower). */
static hid_t select_cols(hid_t fs, const sprec_h5_info *in, int64_t c, int64_t nc)
{
  hsize_t start[2] = {0, 0}, count[2] = {1, 1};
  int64_t rows = in->ndim == 2 ? in->shape[0] : 1;
  if (nc == 0) {
    H5Sselect_none(fs);
    hid_t ms = H5Screate_simple(1, count, NULL);
    H5Sselect_none(ms);
    return ms;
  }
  if (in->ndim == 1) start[0] = (hsize_t)c, count[0] = (hsize_t)nc;
  else if (in->fortran_order) start[0] = (hsize_t)c, count[0] = (hsize_t)nc, count[1] = (hsize_t)rows;
  else start[1] = (hsize_t)c, count[0] = (hsize_t)rows, count[1] = (hsize_t)nc;
  H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
  return H5Screate_simple(in->ndim, count, NULL);
}

/* The dataset's dimensions must be those info describes (a caller's view of it). */
static sprec_err check_dims(hid_t ds, const char *path, const sprec_h5_info *in)
{
  hsize_t d[H5S_MAX_RANK];
  hid_t sp = H5Dget_space(ds);
  int nd = H5Sget_simple_extent_dims(sp, d, NULL);
  H5Sclose(sp);
  int64_t want0 = in->ndim == 1 || !in->fortran_order ? in->shape[0] : in->shape[1];
  int64_t want1 = in->fortran_order ? in->shape[0] : in->shape[1];
  SPREC_CHECK(nd == in->ndim && (int64_t)d[0] == want0 && (nd == 1 || (int64_t)d[1] == want1),
              SPREC_ERR_ARG, "%s: the dataset does not have the shape described", path);
  return SPREC_OK;
}

typedef struct {
  hid_t ds, dxpl, mt;  /* dataset, collective transfer, memory type */
  const sprec_h5_info *in;
  int64_t rows, cc;    /* rows of the array, columns per transfer */
  void *stage;         /* NULL when the file's order and type are the buffer's */
} reader;

/* One collective transfer: columns [c, c+nc) (nc may be 0) into dst. */
static sprec_err read_round(const reader *r, const char *path, int64_t c, int64_t nc, double *dst)
{
  char g[160];
  hid_t fs = H5Dget_space(r->ds), ms = select_cols(fs, r->in, c, nc);
  herr_t rc = H5Dread(r->ds, r->mt, ms, fs, r->dxpl, r->stage ? r->stage : (void *)dst);
  H5Sclose(ms);
  H5Sclose(fs);
  SPREC_CHECK(rc >= 0, SPREC_ERR_FORMAT, "%s: cannot read columns %lld to %lld (%s)", path,
              (long long)c, (long long)(c + nc - 1), gist(g));
  if (!r->stage || !nc) return SPREC_OK;
  if (r->in->ndim == 2 && !r->in->fortran_order) unpack_c(r->stage, r->in->elsize, r->rows, nc, dst);
  else
    for (int64_t t = 0; t < r->rows * nc; t++) dst[t] = ((const float *)r->stage)[t];
  return SPREC_OK;
}

/* Every rank makes as many transfers as the rank with the most columns. */
static sprec_err read_rounds(MPI_Comm comm, reader *r, const char *path, int64_t c0, int64_t nc,
                             double *buf)
{
  int64_t rounds = (nc + r->cc - 1) / r->cc;
  SPREC_MPI(sprec_comm_allreduce(comm, SPREC_COMM_IO, MPI_IN_PLACE, &rounds, 1, MPI_INT64_T, MPI_MAX));
  sprec_err err = SPREC_OK;
  for (int64_t q = 0; q < rounds; q++) {
    int64_t j = q * r->cc, ncj = j >= nc ? 0 : (nc - j < r->cc ? nc - j : r->cc);
    err = sprec_agree(comm, read_round(r, path, c0 + j, ncj, buf + j * r->rows));
    if (err) break;
  }
  return err;
}

static sprec_err read_cols(MPI_Comm comm, const char *path, const char *dataset,
                           const sprec_h5_info *in, int64_t c0, int64_t nc, double *buf)
{
  int64_t cols = in->ndim == 2 ? in->shape[1] : in->shape[0];
  SPREC_CHECK(c0 >= 0 && nc >= 0 && c0 + nc <= cols, SPREC_ERR_ARG,
              "%s: columns [%lld, %lld) outside the array's %lld", path, (long long)c0,
              (long long)(c0 + nc), (long long)cols);
  hid_t file, ds = H5I_INVALID_HID, dxpl = H5I_INVALID_HID;
  reader r = {0};
  SPREC_CALL(open_file(comm, path, H5F_ACC_RDONLY, &file));
  sprec_h5_info now;
  sprec_err err = sprec_agree(comm, open_dataset(file, path, dataset, &ds, &now));
  if (!err) err = sprec_agree(comm, check_dims(ds, path, in));
  if (!err) {
    r.rows = in->ndim == 2 ? in->shape[0] : 1;
    r.cc = sprec_h5_chunk_bytes / (8 * r.rows);
    r.cc = r.cc < 1 ? 1 : r.cc;
    int staged = in->elsize == 4 || (in->ndim == 2 && !in->fortran_order && r.rows > 1);
    err = staged ? sprec_calloc((size_t)(r.rows * (nc < r.cc ? nc : r.cc)) + 1, (size_t)in->elsize,
                                &r.stage, "an HDF5 staging buffer")
                 : SPREC_OK;
    dxpl = H5Pcreate(H5P_DATASET_XFER);
    if (!err && (dxpl < 0 || H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE) < 0))
      err = SPREC_ERROR(SPREC_ERR_IO, "%s: cannot set up collective transfers", path);
    err = sprec_agree(comm, err);
  }
  if (!err) {
    r.ds = ds, r.dxpl = dxpl, r.in = in;
    r.mt = in->elsize == 8 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT;
    err = read_rounds(comm, &r, path, c0, nc, buf);
  }
  free(r.stage);
  if (dxpl >= 0) H5Pclose(dxpl);
  if (ds >= 0) H5Dclose(ds);
  close_file(&file);
  return err;
}

/* ------------------------------------------------------------ writing -- */
/* Columns [c, c+nc) of the column-major buf (ld rows) as a C-order slab, row-major. */
static void pack_c(const double *buf, int64_t rows, int64_t nc, double *stage)
{
  const int64_t T = 32;
  for (int64_t j0 = 0; j0 < nc; j0 += T)
    for (int64_t i0 = 0; i0 < rows; i0 += T)
      for (int64_t i = i0; i < rows && i < i0 + T; i++)
        for (int64_t j = j0; j < nc && j < j0 + T; j++) stage[i * nc + j] = buf[i + j * rows];
}

static sprec_err create_dataset(hid_t file, const char *path, const char *name, int ndim,
                                int64_t rows, int64_t ncols, hid_t *ds)
{
  char g[160];
  hsize_t d[2] = {(hsize_t)(ndim == 2 ? rows : ncols), (hsize_t)ncols};
  hid_t sp = H5Screate_simple(ndim, d, NULL), pl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_fill_time(pl, H5D_FILL_TIME_NEVER); /* every element is written once, by us */
  *ds = H5Dcreate2(file, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
  H5Pclose(pl);
  H5Sclose(sp);
  SPREC_CHECK(*ds >= 0, SPREC_ERR_IO, "%s: cannot create dataset %s (%s)", path, name, gist(g));
  return SPREC_OK;
}

static sprec_err write_rounds(MPI_Comm comm, hid_t ds, const char *path, int ndim, int64_t rows,
                              int64_t c0, int64_t nc, const double *buf)
{
  sprec_h5_info in = {.ndim = ndim, .shape = {ndim == 2 ? rows : 1, 1}};
  int64_t cc = sprec_h5_chunk_bytes / (8 * rows), rounds;
  cc = cc < 1 ? 1 : cc;
  rounds = (nc + cc - 1) / cc;
  double *stage = NULL;
  sprec_err err = ndim == 2 && rows > 1 ? sprec_calloc((size_t)(rows * (nc < cc ? nc : cc)) + 1,
                                                       sizeof *stage, &stage, "an HDF5 staging buffer")
                                        : SPREC_OK;
  SPREC_MPI(sprec_comm_allreduce(comm, SPREC_COMM_IO, MPI_IN_PLACE, &rounds, 1, MPI_INT64_T, MPI_MAX));
  hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
  H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
  for (int64_t q = 0; q < rounds; q++) {
    int64_t j = q * cc, ncj = j >= nc ? 0 : (nc - j < cc ? nc - j : cc);
    if ((err = sprec_agree(comm, err))) break;
    if (stage && ncj) pack_c(buf + j * rows, rows, ncj, stage);
    hid_t fs = H5Dget_space(ds), ms = select_cols(fs, &in, c0 + j, ncj);
    char g[160];
    if (H5Dwrite(ds, H5T_NATIVE_DOUBLE, ms, fs, dxpl, stage ? stage : buf + j * rows) < 0)
      err = SPREC_ERROR(SPREC_ERR_IO, "%s: cannot write (%s)", path, gist(g));
    H5Sclose(ms);
    H5Sclose(fs);
  }
  H5Pclose(dxpl);
  free(stage);
  return sprec_agree(comm, err);
}

static sprec_err write_cols(MPI_Comm comm, const char *path, const char *dataset, int create,
                            int ndim, int64_t rows, int64_t ncols, int64_t c0, int64_t nc,
                            const double *buf)
{
  char g[160];
  sprec_err err = SPREC_OK;
  hid_t file = H5I_INVALID_HID, ds = H5I_INVALID_HID;
  SPREC_CHECK((ndim == 1 && rows == 1) || (ndim == 2 && rows >= 1), SPREC_ERR_ARG,
              "%s: a 1-D (rows 1) or 2-D array is written", path);
  SPREC_CHECK(c0 >= 0 && nc >= 0 && c0 + nc <= ncols, SPREC_ERR_ARG,
              "%s: columns [%lld, %lld) outside the array's %lld", path, (long long)c0,
              (long long)(c0 + nc), (long long)ncols);
  silence();
  if (create) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
    file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (file < 0) err = SPREC_ERROR(SPREC_ERR_IO, "%s: cannot create (%s)", path, gist(g));
    SPREC_CALL(sprec_agree(comm, err));
  } else
    SPREC_CALL(open_file(comm, path, H5F_ACC_RDWR, &file));
  err = sprec_agree(comm, create_dataset(file, path, dataset, ndim, rows, ncols, &ds));
  if (!err) err = write_rounds(comm, ds, path, ndim, rows, c0, nc, buf);
  if (ds >= 0) H5Dclose(ds);
  if (file >= 0 && H5Fclose(file) < 0 && !err)
    err = SPREC_ERROR(SPREC_ERR_IO, "%s: cannot finish the file (%s)", path, gist(g));
  return sprec_agree(comm, err);
}

/* ------------------------------------------------------ the public calls -- */
/* Each with Open MPI's own messages muted (HDF5 reads and writes through MPI-IO): a
 * failed read or write is the error returned, not a line of Open MPI's as well. */
sprec_err sprec_h5_list(MPI_Comm comm, const char *path, char *buf, size_t len)
{
  sprec_mute mute = sprec_io_mute();
  sprec_err err = list_file(comm, path, buf, len);
  sprec_io_unmute(&mute);
  return err;
}

sprec_err sprec_h5_inspect(MPI_Comm comm, const char *path, const char *dataset,
                           sprec_h5_info *info)
{
  sprec_mute mute = sprec_io_mute();
  sprec_err err = inspect(comm, path, dataset, info);
  sprec_io_unmute(&mute);
  return err;
}

sprec_err sprec_h5_read_cols(MPI_Comm comm, const char *path, const char *dataset,
                             const sprec_h5_info *in, int64_t c0, int64_t nc, double *buf)
{
  sprec_mute mute = sprec_io_mute();
  sprec_err err = read_cols(comm, path, dataset, in, c0, nc, buf);
  sprec_io_unmute(&mute);
  return err;
}

sprec_err sprec_h5_write_cols(MPI_Comm comm, const char *path, const char *dataset, int create,
                              int ndim, int64_t rows, int64_t ncols, int64_t c0, int64_t nc,
                              const double *buf)
{
  sprec_mute mute = sprec_io_mute();
  sprec_err err = write_cols(comm, path, dataset, create, ndim, rows, ncols, c0, nc, buf);
  sprec_io_unmute(&mute);
  return err;
}
