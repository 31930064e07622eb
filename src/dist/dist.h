/* dist/dist.h — the communicator as the trainer sees it: the gradient of a global batch summed in
 * rank order, agreement (a stop, a status, a hash of the model), batch-norm statistics gathered
 * and averaged, sharded evaluation. A NULL communicator is one process: each call then does what
 * a single process does (backprop: forward, loss, backward), so the non-distributed path is
 * unchanged. transport.h moves the bytes (MPI); this layer decides what is moved and in which
 * order. */
#ifndef DPF_DIST_INTERNAL_H
#define DPF_DIST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "dpf/data.h"
#include "dpf/dist.h"
#include "dpf/net.h"

/* Rank r's share of n items: [*first, *first + count), balanced (sizes differ by at most one). */
int dpf_dist_slice(int n, int rank, int size, int *first);

/* out[i] = sum over r in 0..n-1, in that order, of w[r] * in[r][i], accumulated in double. The
 * one place gradients and statistics of ranks are combined. */
void dpf_dist_combine(dpf_real *out, const dpf_real *const *in, const double *w, int n,
                      size_t count);

/* Sets d up for net (its buffers, allocated once); before the first step. */
dpf_status dpf_dist_prepare(dpf_dist *d, dpf_net *net);
/* The mean loss and its gradient (into dpf_net_grads) over the global batch x (batch, C, H, W),
 * y (batch): each rank does forward / loss / backward on its slice with its own batch-norm
 * statistics, and the gradients are combined (weights slice/batch) in rank order; the loss and
 * *correct (may be NULL) are those of the whole batch. d NULL: forward, loss, backward. MPI
 * failing: NaN with the error recorded. */
double dpf_dist_backprop(dpf_dist *d, dpf_net *net, const float *x, const int32_t *y, int batch,
                         int *correct);

/* g (p values, p <= what dpf_dist_prepare planned for) = sum over ranks r, in rank order, of
 * w[r] * (rank r's g), on every rank of an MPI communicator: an all-to-all of chunks, each rank
 * sums its chunk (dpf_dist_combine), an all-gather of the sums. */
dpf_status dpf_dist_reduce(dpf_dist *d, dpf_real *g, size_t p, const double *w);
/* d's buffers for gradients of p values (dpf_dist_prepare does this for a net's). */
dpf_status dpf_dist_reserve(dpf_dist *d, size_t p);

/* Agreement (collectives: every rank calls them at the same point). */
/* *flag = 1 on every rank if it was 1 on any. */
dpf_status dpf_dist_any(dpf_dist *d, int *flag);
/* st if this rank failed; else an error if any rank failed (its message printed by that rank,
 * dpf_dist_quiet set here); else DPF_OK. */
dpf_status dpf_dist_agree_status(dpf_dist *d, dpf_status st);
/* Error (DPF_ERR_STATE, naming `what` and the ranks) unless every rank passes the same hash. */
dpf_status dpf_dist_check_same(dpf_dist *d, uint64_t hash, const char *what);
/* 64-bit FNV-1a over n bytes, continuing h (start: DPF_DIST_HASH_INIT). */
#define DPF_DIST_HASH_INIT 0xcbf29ce484222325ull
uint64_t dpf_dist_hash(uint64_t h, const void *data, size_t n);

/* Batch-norm running statistics: every rank keeps its own during training. */
/* all (size x dpf_net_buffers_size) gets every rank's, in rank order. */
dpf_status dpf_dist_bn_gather(dpf_dist *d, dpf_net *net, dpf_real *all);
/* avg (dpf_net_buffers_size) = the plain mean of the rows of all, in rank order. */
void dpf_dist_bn_average(const dpf_dist *d, const dpf_net *net, const dpf_real *all,
                         dpf_real *avg);
/* Each rank takes row `rank` of all (size rows) as its own; all NULL: every rank takes the
 * net's current statistics (after loading a checkpoint of another number of ranks). */
void dpf_dist_bn_scatter(dpf_dist *d, dpf_net *net, const dpf_real *all);

/* dpf_evaluate over the whole data set, each rank on its shard, hits and losses summed in rank
 * order. */
dpf_status dpf_dist_evaluate(dpf_dist *d, dpf_net *net, const dpf_dataset *ds,
                             const float mean[3], const float std[3], double *accuracy,
                             double *loss);

#endif
