/* The checkpoint set of a solve: one file for its b problems, opened for writing
 * (checkpoint) or for reading (resume), closed at the end of the solve. */
#include "ckpt_format.h"

#include <stdio.h>

sprec_err sprec_ck_open(sprec_ctx c, sprec_op A, const sprec_opts *o, const sprec_run *run, int b,
                        const double *Y, const int budget[2], sprec_ckset **out)
{
  *out = NULL;
  if (!run->checkpoint && !run->resume) return SPREC_OK;
  sprec_ckset *set = NULL;
  sprec_err err = sprec_calloc(1, sizeof *set, &set, "checkpoint");
  if (!err) err = sprec_calloc((size_t)b, sizeof *set->prob, &set->prob, "checkpoint");
  if (!err) err = sprec_calloc((size_t)b, sizeof *set->fp_y, &set->fp_y, "checkpoint");
  err = sprec_agree(c->comm, err);
  if (err) {
    if (set) free(set->prob), free(set->fp_y);
    free(set);
    return err;
  }
  *out = set;
  set->ctx = c;
  set->A = A;
  set->out = run->checkpoint;
  set->in = run->resume;
  set->b = b;
  set->chain = o->init_algo != NULL;
  set->every = run->checkpoint_every;
  set->budget[0] = budget[0];
  set->budget[1] = budget[1];
  snprintf(set->algo, sizeof set->algo, "%s", o->algo->name);
  int64_t k = o->k, kmax = A->m < A->n ? A->m : A->n;
  if (o->algo->l1 && (!set->chain || o->init_algo->l1)) k = kmax; /* the Lasso ignores k */
  sprec_ck_options_text(o, k, set->opts, sizeof set->opts);
  for (int p = 0; p < b; p++) {
    set->prob[p].set = set;
    set->prob[p].slot = p;
    set->prob[p].rstatus = CK_FRESH;
    set->fp_y[p] = sprec_ck_fingerprint_y(Y + (size_t)p * (size_t)A->m, A->m);
  }
  err = sprec_ck_fingerprint_A(A, &set->fp_A);
  if (!err && set->in) err = sprec_ck_read_file(set);
  if (err) sprec_ck_close(out);
  return err;
}

void sprec_ck_close(sprec_ckset **setp)
{
  if (!setp || !*setp) return;
  sprec_ckset *set = *setp;
  for (int p = 0; p < set->b; p++) {
    sprec_ckprob *ck = &set->prob[p];
    free(ck->rep.p);
    for (int d = 0; d < SPREC_MAX_KEEP; d++) free(ck->dcopy[d]);
    sprec_sparse_free(&ck->xi);
    free(ck->items);
    for (int d = 0; ck->rdist && d < ck->nrdist; d++) free(ck->rdist[d]);
    free(ck->rdist);
  }
  free(set->prob);
  free(set->fp_y);
  free(set->blob);
  free(set);
  *setp = NULL;
}

sprec_ckprob *sprec_ck_problem(sprec_ckset *set, int p) { return set ? &set->prob[p] : NULL; }
