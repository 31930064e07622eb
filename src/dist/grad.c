/* grad.c — the gradient of a global batch over N ranks, summed in a fixed order.
 *
 * Every rank holds the whole batch (B images; the loader is the same on every rank) and runs
 * forward / loss / backward on its slice r (dpf_dist_slice: B/N images) with its own batch-norm
 * statistics, giving g_r, the gradient of its slice's mean loss. The batch's gradient is
 *   g = sum_r (n_r / B) g_r        in rank order r = 0, 1, ..., N-1, accumulated in double,
 * the same on every rank. MPI only moves bytes: the gradient (P values) is cut into N chunks;
 * an all-to-all gives rank q chunk q of every rank, rank q sums its chunk in rank order, and an
 * all-gather hands every summed chunk to every rank. That is a reduce-scatter + all-gather,
 * the traffic of a ring all-reduce (2 (N-1)/N P values sent per rank), but with the order of
 * the sum fixed by us, not by MPI's choice of algorithm. An emulation runs the N slices one after
 * the other and sums them with the same function (dpf_dist_combine). */
#include <math.h>
#include <string.h>

#include "dist/dist_internal.h"

/* Forward / loss / backward of n images (n == 0: a zero gradient, BN left as it is). */
static double slice_backprop(dpf_net *net, const float *x, const int32_t *y, int n, int *correct)
{
    *correct = 0;
    if (n == 0) {
        memset(dpf_net_grads(net), 0, dpf_net_size(net) * sizeof(dpf_real));
        return 0;
    }
    dpf_net_forward(net, x, n, 1);
    double loss = dpf_net_loss(net, y, correct);
    dpf_net_backward(net);
    return loss;
}

/* The emulation: every slice in this process, its gradient into d->work row r (buffers from
 * dpf_dist_prepare). */
static void emulate(dpf_dist *d, dpf_net *net, const float *x, const int32_t *y, int batch,
                          size_t sample)
{
    size_t p = dpf_net_size(net);
    int64_t tracked = dpf_net_batches_tracked(net);
    dpf_dist_rank_bn(d, net, 1); /* the other ranks' statistics exist before rank 0 steps */
    for (int r = 0; r < d->size; r++) {
        int first, n = dpf_dist_slice(batch, r, d->size, &first), correct;
        dpf_real *bn = r > 0 ? dpf_dist_rank_bn(d, net, r) : NULL;
        if (bn)
            dpf_net_swap_buffers(net, bn);
        double loss = slice_backprop(net, x + (size_t)first * sample, y + first, n, &correct);
        if (bn)
            dpf_net_swap_buffers(net, bn);
        memcpy(d->work + (size_t)r * p, dpf_net_grads(net), p * sizeof *d->work);
        d->parts[2 * r] = loss * n, d->parts[2 * r + 1] = correct;
        d->ptrs[r] = d->work + (size_t)r * p;
    }
    dpf_net_set_batches_tracked(net, tracked + 1); /* one step on every rank */
    dpf_dist_combine(dpf_net_grads(net), d->ptrs, d->w, d->size, p);
}

dpf_status dpf_dist_reduce(dpf_dist *d, dpf_real *g, size_t p, const double *w)
{
    for (int q = 0; q < d->size; q++)
        d->counts[q] = dpf_dist_slice((int)p, q, d->size, &d->displs[q]);
    int mine = d->counts[d->rank];
    for (int q = 0; q < d->size; q++)
        d->ptrs[q] = d->work + (size_t)q * (size_t)mine;
    dpf_status st = dpf_transport_alltoall(d->tp, g, d->counts, d->displs, d->work);
    if (st == DPF_OK)
        dpf_dist_combine(g + d->displs[d->rank], d->ptrs, w, d->size, (size_t)mine);
    return st == DPF_OK ? dpf_transport_allgatherv(d->tp, g, d->counts, d->displs) : st;
}

/* MPI: this rank's slice, then the gradients summed. */
static dpf_status exchange(dpf_dist *d, dpf_net *net, const float *x, const int32_t *y,
                           int batch, size_t sample)
{
    int first, n = dpf_dist_slice(batch, d->rank, d->size, &first), correct;
    double loss = slice_backprop(net, x + (size_t)first * sample, y + first, n, &correct);
    if (n == 0) /* the other ranks' forward counted a step */
        dpf_net_set_batches_tracked(net, dpf_net_batches_tracked(net) + 1);
    dpf_status st = dpf_dist_reduce(d, dpf_net_grads(net), dpf_net_size(net), d->w);
    double part[2] = {loss * n, correct};
    return st == DPF_OK ? dpf_transport_allgather(d->tp, part, d->parts, sizeof part) : st;
}

double dpf_dist_backprop(dpf_dist *d, dpf_net *net, const float *x, const int32_t *y, int batch,
                         int *correct)
{
    if (!d || d->size == 1) {
        dpf_net_forward(net, x, batch, 1);
        double loss = dpf_net_loss(net, y, correct);
        dpf_net_backward(net);
        return loss;
    }
    int c, h, w, classes;
    dpf_net_input_shape(net, &c, &h, &w, &classes);
    size_t sample = (size_t)c * (size_t)h * (size_t)w;
    for (int r = 0, first; r < d->size; r++)
        d->w[r] = (double)dpf_dist_slice(batch, r, d->size, &first) / batch;
    if (d->emulated)
        emulate(d, net, x, y, batch, sample);
    else if (exchange(d, net, x, y, batch, sample) != DPF_OK)
        return NAN; /* MPI failed: the next agreement fails too, with its message */
    double loss = 0, hits = 0;
    for (int r = 0; r < d->size; r++)
        loss += d->parts[2 * r], hits += d->parts[2 * r + 1];
    if (correct)
        *correct = (int)hits;
    return loss / batch;
}
