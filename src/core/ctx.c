/* The context: our own duplicate of the caller's communicator (errors return) and a
 * BLACS grid built on that copy, never on the world communicator. */
#include "impl.h"

/* BLACS C interface (inside libscalapack-openmpi). */
extern int Csys2blacs_handle(MPI_Comm comm);
extern void Cfree_blacs_system_handle(int handle);
extern void Cblacs_gridinit(int *ctx, const char *order, int nprow, int npcol);
extern void Cblacs_gridinfo(int ctx, int *nprow, int *npcol, int *myrow, int *mycol);
extern void Cblacs_gridexit(int ctx);

/* Near-square grid with nprow >= npcol: the restricted least-squares matrices are
 * tall (m rows, k columns), so the longer side goes to the rows. */
static void grid_shape(int p, int *nprow, int *npcol)
{
  int c = 1;
  for (int d = 1; (long)d * d <= p; d++)
    if (p % d == 0) c = d;
  *npcol = c;
  *nprow = p / c;
}

sprec_err sprec_ctx_create(MPI_Comm comm, sprec_ctx *out)
{
  sprec_ctx c;
  *out = NULL;
  SPREC_ALLOC(c, 1);
  if (MPI_Comm_dup(comm, &c->comm) != MPI_SUCCESS) {
    free(c);
    return SPREC_ERROR(SPREC_ERR_MPI, "cannot duplicate the communicator");
  }
  MPI_Comm_set_errhandler(c->comm, MPI_ERRORS_RETURN);
  if (sprec_comm_attach(c) != SPREC_OK) {
    MPI_Comm_free(&c->comm);
    free(c);
    return SPREC_ERROR(SPREC_ERR_MPI, "cannot attach the counters to the communicator");
  }
  /* Every rank chooses its own kernels (the CPUs may differ); all fail together. */
  sprec_err err = sprec_agree(c->comm, sprec_kernel_select_env());
  if (err) {
    MPI_Comm_free(&c->comm);
    free(c);
    return err;
  }
  MPI_Comm_rank(c->comm, &c->rank);
  MPI_Comm_size(c->comm, &c->size);
  grid_shape(c->size, &c->nprow, &c->npcol);
  c->blacs_handle = Csys2blacs_handle(c->comm);
  c->blacs_ctx = c->blacs_handle;
  Cblacs_gridinit(&c->blacs_ctx, "Row", c->nprow, c->npcol);
  Cblacs_gridinfo(c->blacs_ctx, &c->nprow, &c->npcol, &c->myrow, &c->mycol);
  *out = c;
  return SPREC_OK;
}

sprec_err sprec_ctx_destroy(sprec_ctx *ctx)
{
  if (!ctx || !*ctx) return SPREC_OK;
  sprec_ctx c = *ctx;
  Cblacs_gridexit(c->blacs_ctx);
  Cfree_blacs_system_handle(c->blacs_handle);
  MPI_Comm_free(&c->comm);
  free(c);
  *ctx = NULL;
  return SPREC_OK;
}

MPI_Comm sprec_ctx_comm(sprec_ctx ctx) { return ctx->comm; }
int sprec_ctx_rank(sprec_ctx ctx) { return ctx->rank; }
int sprec_ctx_size(sprec_ctx ctx) { return ctx->size; }
void sprec_ctx_grid(sprec_ctx ctx, int *nprow, int *npcol)
{
  *nprow = ctx->nprow;
  *npcol = ctx->npcol;
}

double sprec_wtime(void) { return MPI_Wtime(); }

/* ----------------------------------------------------- sparse vectors -- */
sprec_err sprec_sparse_init(sprec_sparse *x, int64_t cap)
{
  x->nnz = 0;
  x->cap = cap;
  x->idx = NULL;
  x->val = NULL;
  SPREC_ALLOC(x->idx, cap);
  SPREC_ALLOC(x->val, cap);
  return SPREC_OK;
}

void sprec_sparse_free(sprec_sparse *x)
{
  if (!x) return;
  free(x->idx);
  free(x->val);
  x->idx = NULL;
  x->val = NULL;
  x->nnz = x->cap = 0;
}

sprec_err sprec_sparse_copy(sprec_sparse *dst, const sprec_sparse *src)
{
  if (dst->cap < src->nnz) {
    sprec_sparse_free(dst);
    SPREC_CALL(sprec_sparse_init(dst, src->nnz));
  }
  for (int64_t i = 0; i < src->nnz; i++) {
    dst->idx[i] = src->idx[i];
    dst->val[i] = src->val[i];
  }
  dst->nnz = src->nnz;
  return SPREC_OK;
}
