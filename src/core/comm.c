/* The communication layer (comm.h): counted, timed MPI calls. */
#include "impl.h"

static int g_key = MPI_KEYVAL_INVALID; /* the attribute that leads from a comm to its ctx */

sprec_err sprec_comm_attach(sprec_ctx ctx)
{
  ctx->comm_hold = -1;
  if (g_key == MPI_KEYVAL_INVALID)
    SPREC_MPI(MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, MPI_COMM_NULL_DELETE_FN, &g_key, NULL));
  SPREC_MPI(MPI_Comm_set_attr(ctx->comm, g_key, ctx));
  return SPREC_OK;
}

static sprec_ctx owner(MPI_Comm comm)
{
  void *v = NULL;
  int flag = 0;
  if (g_key == MPI_KEYVAL_INVALID || comm == MPI_COMM_NULL) return NULL;
  if (MPI_Comm_get_attr(comm, g_key, &v, &flag) != MPI_SUCCESS || !flag) return NULL;
  return v;
}

int sprec_comm_hold(MPI_Comm comm, int ph)
{
  sprec_ctx c = owner(comm);
  if (!c) return -1;
  int prev = c->comm_hold;
  c->comm_hold = ph;
  return prev;
}

void sprec_comm_release(MPI_Comm comm, int previous)
{
  sprec_ctx c = owner(comm);
  if (c) c->comm_hold = previous;
}

static sprec_comm_count *slot(sprec_ctx c, sprec_phase ph)
{
  return &c->comm_counts[c->comm_hold >= 0 ? c->comm_hold : (int)ph];
}

void sprec_comm_hops(MPI_Comm comm, sprec_phase ph, int64_t h)
{
  sprec_ctx c = owner(comm);
  if (c) slot(c, ph)->hops += h;
}

static int64_t type_bytes(MPI_Datatype t, int64_t count)
{
  int sz = 0;
  if (t == MPI_DATATYPE_NULL || MPI_Type_size(t, &sz) != MPI_SUCCESS) return 0;
  return (int64_t)sz * count;
}

/* Add one call of bytes and hops, started at t0, to phase ph of comm's context. */
static void note(MPI_Comm comm, sprec_phase ph, int64_t bytes, int hops, double t0)
{
  double dt = MPI_Wtime() - t0;
  sprec_ctx c = owner(comm);
  if (!c) return;
  sprec_comm_count *s = slot(c, ph);
  s->calls++;
  s->bytes += bytes;
  s->hops += hops;
  s->seconds += dt;
  c->t_comm += dt;
}

static int64_t sum_counts(MPI_Comm comm, const int *cnt)
{
  int p = 0;
  int64_t s = 0;
  MPI_Comm_size(comm, &p);
  for (int r = 0; r < p; r++) s += cnt[r];
  return s;
}

int sprec_comm_allreduce(MPI_Comm comm, sprec_phase ph, const void *sbuf, void *rbuf, int count,
                         MPI_Datatype t, MPI_Op op)
{
  double t0 = MPI_Wtime();
  int rc = MPI_Allreduce(sbuf, rbuf, count, t, op, comm);
  note(comm, ph, type_bytes(t, count), 1, t0);
  return rc;
}

int sprec_comm_bcast(MPI_Comm comm, sprec_phase ph, void *buf, int count, MPI_Datatype t, int root)
{
  double t0 = MPI_Wtime();
  int rc = MPI_Bcast(buf, count, t, root, comm);
  note(comm, ph, type_bytes(t, count), 1, t0);
  return rc;
}

int sprec_comm_exscan(MPI_Comm comm, sprec_phase ph, const void *sbuf, void *rbuf, int count,
                      MPI_Datatype t, MPI_Op op)
{
  double t0 = MPI_Wtime();
  int rc = MPI_Exscan(sbuf, rbuf, count, t, op, comm);
  note(comm, ph, type_bytes(t, count), 1, t0);
  return rc;
}

int sprec_comm_allgather(MPI_Comm comm, sprec_phase ph, const void *sbuf, int scount,
                         MPI_Datatype st, void *rbuf, int rcount, MPI_Datatype rt)
{
  int p = 0;
  double t0 = MPI_Wtime();
  int rc = MPI_Allgather(sbuf, scount, st, rbuf, rcount, rt, comm);
  MPI_Comm_size(comm, &p);
  note(comm, ph, type_bytes(rt, (int64_t)rcount * p), 1, t0);
  return rc;
}

int sprec_comm_allgatherv(MPI_Comm comm, sprec_phase ph, const void *sbuf, int scount,
                          MPI_Datatype st, void *rbuf, const int *rcounts, const int *displs,
                          MPI_Datatype rt)
{
  double t0 = MPI_Wtime();
  int rc = MPI_Allgatherv(sbuf, scount, st, rbuf, rcounts, displs, rt, comm);
  note(comm, ph, type_bytes(rt, sum_counts(comm, rcounts)), 1, t0);
  return rc;
}

int sprec_comm_alltoallv(MPI_Comm comm, sprec_phase ph, const void *sbuf, const int *scounts,
                         const int *sdispls, MPI_Datatype st, void *rbuf, const int *rcounts,
                         const int *rdispls, MPI_Datatype rt)
{
  double t0 = MPI_Wtime();
  int rc = MPI_Alltoallv(sbuf, scounts, sdispls, st, rbuf, rcounts, rdispls, rt, comm);
  note(comm, ph, type_bytes(st, sum_counts(comm, scounts)), 1, t0);
  return rc;
}

int sprec_comm_send(MPI_Comm comm, sprec_phase ph, const void *buf, int count, MPI_Datatype t,
                    int dest, int tag)
{
  double t0 = MPI_Wtime();
  int rc = MPI_Send(buf, count, t, dest, tag, comm);
  note(comm, ph, type_bytes(t, count), 0, t0);
  return rc;
}

int sprec_comm_recv(MPI_Comm comm, sprec_phase ph, void *buf, int count, MPI_Datatype t, int src,
                    int tag)
{
  double t0 = MPI_Wtime();
  int rc = MPI_Recv(buf, count, t, src, tag, comm, MPI_STATUS_IGNORE);
  note(comm, ph, type_bytes(t, count), 0, t0);
  return rc;
}

int sprec_comm_isend(MPI_Comm comm, sprec_phase ph, const void *buf, int count, MPI_Datatype t,
                     int dest, int tag, MPI_Request *req)
{
  double t0 = MPI_Wtime();
  int rc = MPI_Isend(buf, count, t, dest, tag, comm, req);
  note(comm, ph, type_bytes(t, count), 0, t0);
  return rc;
}

int sprec_comm_irecv(MPI_Comm comm, sprec_phase ph, void *buf, int count, MPI_Datatype t, int src,
                     int tag, MPI_Request *req)
{
  double t0 = MPI_Wtime();
  int rc = MPI_Irecv(buf, count, t, src, tag, comm, req);
  note(comm, ph, type_bytes(t, count), 0, t0);
  return rc;
}

/* A wait's time, no call: its messages were counted when posted. */
static void waited(MPI_Comm comm, sprec_phase ph, double t0)
{
  sprec_ctx c = owner(comm);
  if (c) {
    double dt = MPI_Wtime() - t0;
    slot(c, ph)->seconds += dt;
    c->t_comm += dt;
  }
}

int sprec_comm_waitall(MPI_Comm comm, sprec_phase ph, int n, MPI_Request *reqs)
{
  double t0 = MPI_Wtime();
  int rc = MPI_Waitall(n, reqs, MPI_STATUSES_IGNORE);
  waited(comm, ph, t0);
  return rc;
}

int sprec_comm_wait(MPI_Comm comm, sprec_phase ph, MPI_Request *req)
{
  double t0 = MPI_Wtime();
  int rc = MPI_Wait(req, MPI_STATUS_IGNORE);
  waited(comm, ph, t0);
  return rc;
}

/* ---------------------------------------------------------------- MPI-IO -- */
int sprec_comm_file_open(MPI_Comm comm, sprec_phase ph, const char *path, int amode, MPI_File *fh)
{
  double t0 = MPI_Wtime();
  int rc = MPI_File_open(comm, (char *)path, amode, MPI_INFO_NULL, fh);
  note(comm, ph, 0, 1, t0);
  return rc;
}

int sprec_comm_file_close(MPI_Comm comm, sprec_phase ph, MPI_File *fh)
{
  double t0 = MPI_Wtime();
  int rc = MPI_File_close(fh);
  note(comm, ph, 0, 1, t0);
  return rc;
}

int sprec_comm_file_set_size(MPI_Comm comm, sprec_phase ph, MPI_File fh, MPI_Offset size)
{
  double t0 = MPI_Wtime();
  int rc = MPI_File_set_size(fh, size);
  note(comm, ph, 0, 1, t0);
  return rc;
}

int sprec_comm_file_set_view(MPI_Comm comm, sprec_phase ph, MPI_File fh, MPI_Offset disp,
                             MPI_Datatype etype, MPI_Datatype ftype)
{
  double t0 = MPI_Wtime();
  int rc = MPI_File_set_view(fh, disp, etype, ftype, "native", MPI_INFO_NULL);
  note(comm, ph, 0, 1, t0);
  return rc;
}

int sprec_comm_read_at_all(MPI_Comm comm, sprec_phase ph, MPI_File fh, MPI_Offset off, void *buf,
                           int count, MPI_Datatype t, MPI_Status *st)
{
  double t0 = MPI_Wtime();
  int rc = MPI_File_read_at_all(fh, off, buf, count, t, st);
  note(comm, ph, type_bytes(t, count), 1, t0);
  return rc;
}

int sprec_comm_write_at_all(MPI_Comm comm, sprec_phase ph, MPI_File fh, MPI_Offset off,
                            const void *buf, int count, MPI_Datatype t, MPI_Status *st)
{
  double t0 = MPI_Wtime();
  int rc = MPI_File_write_at_all(fh, off, buf, count, t, st);
  note(comm, ph, type_bytes(t, count), 1, t0);
  return rc;
}

int sprec_comm_read_at(MPI_Comm comm, sprec_phase ph, MPI_File fh, MPI_Offset off, void *buf,
                       int count, MPI_Datatype t, MPI_Status *st)
{
  double t0 = MPI_Wtime();
  int rc = MPI_File_read_at(fh, off, buf, count, t, st);
  note(comm, ph, type_bytes(t, count), 0, t0);
  return rc;
}

int sprec_comm_write_at(MPI_Comm comm, sprec_phase ph, MPI_File fh, MPI_Offset off,
                        const void *buf, int count, MPI_Datatype t, MPI_Status *st)
{
  double t0 = MPI_Wtime();
  int rc = MPI_File_write_at(fh, off, buf, count, t, st);
  note(comm, ph, type_bytes(t, count), 0, t0);
  return rc;
}

/* ---------------------------------------------------------- the counts -- */
const char *sprec_comm_phase_name(sprec_comm_phase ph)
{
  static const char *const names[SPREC_COMM_NPHASES] = {
      "products", "residual", "topk", "lsq", "gather", "norm", "scalar", "agree", "checkpoint", "io"};
  return (int)ph >= 0 && ph < SPREC_COMM_NPHASES ? names[ph] : "unknown";
}

void sprec_ctx_comm_counts(sprec_ctx ctx, sprec_comm_count counts[SPREC_COMM_NPHASES])
{
  for (int ph = 0; ph < SPREC_COMM_NPHASES; ph++) counts[ph] = ctx->comm_counts[ph];
}

void sprec_ctx_comm_reset(sprec_ctx ctx)
{
  for (int ph = 0; ph < SPREC_COMM_NPHASES; ph++) ctx->comm_counts[ph] = (sprec_comm_count){0};
}

sprec_err sprec_comm_reduce(sprec_ctx ctx, sprec_comm_count max[SPREC_COMM_NPHASES],
                            sprec_comm_count sum[SPREC_COMM_NPHASES])
{
  enum { N = 3 * SPREC_COMM_NPHASES };
  int64_t mine[N], hi[N], tot[N];
  double t[SPREC_COMM_NPHASES];
  for (int ph = 0; ph < SPREC_COMM_NPHASES; ph++) {
    const sprec_comm_count *s = &ctx->comm_counts[ph];
    mine[3 * ph] = s->calls, mine[3 * ph + 1] = s->bytes, mine[3 * ph + 2] = s->hops;
    t[ph] = s->seconds;
  }
  SPREC_MPI(MPI_Allreduce(mine, hi, N, MPI_INT64_T, MPI_MAX, ctx->comm));
  SPREC_MPI(MPI_Allreduce(mine, tot, N, MPI_INT64_T, MPI_SUM, ctx->comm));
  SPREC_MPI(MPI_Allreduce(MPI_IN_PLACE, t, SPREC_COMM_NPHASES, MPI_DOUBLE, MPI_MAX, ctx->comm));
  for (int ph = 0; ph < SPREC_COMM_NPHASES; ph++) {
    max[ph] = (sprec_comm_count){hi[3 * ph], hi[3 * ph + 1], hi[3 * ph + 2], t[ph]};
    sum[ph] = (sprec_comm_count){tot[3 * ph], tot[3 * ph + 1], tot[3 * ph + 2], t[ph]};
  }
  return SPREC_OK;
}
