/* The communication layer: every MPI call of the library goes through these
 * wrappers, which count it per phase (sprec_comm_phase, sprec.h) on the context whose
 * communicator it runs on, time it, and return MPI's code unchanged.
 *
 * What one call adds to its phase on the calling rank:
 *   calls   1
 *   bytes   the payload of this rank's call: count x type size for Allreduce, Bcast,
 *           Exscan, Send, Recv, Isend, Irecv; for the gathers what every rank ends up
 *           holding (Allgather: p x recvcount, Allgatherv: the sum of recvcounts);
 *           for Alltoallv what this rank sends (the sum of sendcounts); for MPI-IO the
 *           bytes this rank reads or writes.
 *   hops    1 for a collective (its internal log p steps are the model's business);
 *           0 for a point-to-point call: the call site adds the length of its chain
 *           with sprec_comm_hops, on every rank that waits for the chain's end.
 *   seconds the call's wall time (also added to ctx->t_comm, the solve's figure).
 * Waits count nothing but their time. The layer finds the counters through an
 * attribute of the communicator (set by sprec_ctx_create): functions that receive a
 * bare MPI_Comm (the file formats, sprec_agree) count on the context that owns it, and
 * a communicator of no context (a front end's) is simply not counted. ScaLAPACK's and
 * BLACS's own messages inside pdgels & co. are not ours and not counted. */
#ifndef SPREC_COMM_H
#define SPREC_COMM_H

#include "sprec.h"

typedef sprec_comm_phase sprec_phase;

/* sprec_ctx_create: attach ctx to its communicator. */
sprec_err sprec_comm_attach(sprec_ctx ctx);
/* Everything counted on comm from now on goes to phase ph, whatever the call site
 * says (the norm estimate holds SPREC_COMM_NORM over the products it makes); returns
 * the previous hold (-1: none), for sprec_comm_release. */
int sprec_comm_hold(MPI_Comm comm, int ph);
void sprec_comm_release(MPI_Comm comm, int previous);
/* Add h sequential hops to phase ph (a point-to-point chain's length). */
void sprec_comm_hops(MPI_Comm comm, sprec_phase ph, int64_t h);

int sprec_comm_allreduce(MPI_Comm comm, sprec_phase ph, const void *sbuf, void *rbuf, int count,
                         MPI_Datatype t, MPI_Op op);
int sprec_comm_bcast(MPI_Comm comm, sprec_phase ph, void *buf, int count, MPI_Datatype t, int root);
int sprec_comm_exscan(MPI_Comm comm, sprec_phase ph, const void *sbuf, void *rbuf, int count,
                      MPI_Datatype t, MPI_Op op);
int sprec_comm_allgather(MPI_Comm comm, sprec_phase ph, const void *sbuf, int scount,
                         MPI_Datatype st, void *rbuf, int rcount, MPI_Datatype rt);
int sprec_comm_allgatherv(MPI_Comm comm, sprec_phase ph, const void *sbuf, int scount,
                          MPI_Datatype st, void *rbuf, const int *rcounts, const int *displs,
                          MPI_Datatype rt);
int sprec_comm_alltoallv(MPI_Comm comm, sprec_phase ph, const void *sbuf, const int *scounts,
                         const int *sdispls, MPI_Datatype st, void *rbuf, const int *rcounts,
                         const int *rdispls, MPI_Datatype rt);
int sprec_comm_send(MPI_Comm comm, sprec_phase ph, const void *buf, int count, MPI_Datatype t,
                    int dest, int tag);
int sprec_comm_recv(MPI_Comm comm, sprec_phase ph, void *buf, int count, MPI_Datatype t, int src,
                    int tag);
int sprec_comm_isend(MPI_Comm comm, sprec_phase ph, const void *buf, int count, MPI_Datatype t,
                     int dest, int tag, MPI_Request *req);
int sprec_comm_irecv(MPI_Comm comm, sprec_phase ph, void *buf, int count, MPI_Datatype t, int src,
                     int tag, MPI_Request *req);
int sprec_comm_waitall(MPI_Comm comm, sprec_phase ph, int n, MPI_Request *reqs);
int sprec_comm_wait(MPI_Comm comm, sprec_phase ph, MPI_Request *req);

/* MPI-IO on a file opened on comm. The _all calls are collective (1 hop); the others
 * independent (0 hops). open, close, set_view and set_size are collective, count as
 * calls with 0 bytes and 1 hop. */
int sprec_comm_file_open(MPI_Comm comm, sprec_phase ph, const char *path, int amode,
                         MPI_File *fh);
int sprec_comm_file_close(MPI_Comm comm, sprec_phase ph, MPI_File *fh);
int sprec_comm_file_set_size(MPI_Comm comm, sprec_phase ph, MPI_File fh, MPI_Offset size);
int sprec_comm_file_set_view(MPI_Comm comm, sprec_phase ph, MPI_File fh, MPI_Offset disp,
                             MPI_Datatype etype, MPI_Datatype ftype);
int sprec_comm_read_at_all(MPI_Comm comm, sprec_phase ph, MPI_File fh, MPI_Offset off, void *buf,
                           int count, MPI_Datatype t, MPI_Status *st);
int sprec_comm_write_at_all(MPI_Comm comm, sprec_phase ph, MPI_File fh, MPI_Offset off,
                            const void *buf, int count, MPI_Datatype t, MPI_Status *st);
int sprec_comm_read_at(MPI_Comm comm, sprec_phase ph, MPI_File fh, MPI_Offset off, void *buf,
                       int count, MPI_Datatype t, MPI_Status *st);
int sprec_comm_write_at(MPI_Comm comm, sprec_phase ph, MPI_File fh, MPI_Offset off,
                        const void *buf, int count, MPI_Datatype t, MPI_Status *st);

/* Collective on ctx. This rank's counts since the last reset, reduced: calls, bytes
 * and hops to their maximum and their sum over the ranks, seconds to the maximum (the
 * reduction itself is the layer's bookkeeping, not counted). */
sprec_err sprec_comm_reduce(sprec_ctx ctx, sprec_comm_count max[SPREC_COMM_NPHASES],
                            sprec_comm_count sum[SPREC_COMM_NPHASES]);

#endif
