/* dist.c — the communicator object (launched under mpirun, or N ranks emulated in one process)
 * and what the ranks agree on: a stop, a status, a hash of the model, batch-norm statistics and
 * the counts of a sharded evaluation. Every combination of the ranks' values runs in rank order
 * on every rank (dpf_dist_combine), never inside MPI, so it is the same whatever algorithm MPI
 * picks. The gradient sum is in grad.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dist/dist_internal.h"

int dpf_dist_built(void)
{
#ifdef DPF_HAVE_MPI
    return 1;
#else
    return 0;
#endif
}

static dpf_status create(dpf_dist **out, int rank, int size, int emulated)
{
    dpf_dist *d = calloc(1, sizeof *d);
    if (d) {
        d->rank = rank, d->size = size, d->emulated = emulated;
        d->w = malloc((size_t)size * sizeof *d->w);
        d->parts = malloc(4 * (size_t)size * sizeof *d->parts);
        d->ptrs = malloc((size_t)size * sizeof *d->ptrs);
        d->counts = malloc(2 * (size_t)size * sizeof *d->counts);
    }
    if (!d || !d->w || !d->parts || !d->ptrs || !d->counts) {
        dpf_dist_free(d);
        return dpf_error(DPF_ERR_NOMEM, "distributed training: out of memory");
    }
    d->displs = d->counts + size;
    *out = d;
    return DPF_OK;
}

dpf_status dpf_dist_launch(dpf_dist **out, int *argc, char ***argv)
{
    *out = NULL;
    int n = dpf_transport_launched_size();
    if (n == 0 || (n == 1 && !dpf_dist_built()))
        return DPF_OK; /* one process: nothing to share */
    if (!dpf_dist_built())
        return dpf_error(DPF_ERR_STATE, "started by mpirun as one of %d processes, but this dpf "
                         "was built without MPI: each would train alone (install "
                         "libopenmpi-dev and build again; CMake finds it)", n);
    dpf_transport *tp;
    int rank, size;
    dpf_status st = dpf_transport_init(&tp, argc, argv, &rank, &size);
    if (st == DPF_OK && (st = create(out, rank, size, 0)) != DPF_OK)
        dpf_transport_free(tp);
    if (st == DPF_OK)
        (*out)->tp = tp;
    return st;
}

dpf_status dpf_dist_emulate(dpf_dist **out, int ranks)
{
    *out = NULL;
    if (ranks < 1 || ranks > 4096)
        return dpf_error(DPF_ERR_ARG, "emulated ranks: %d is out of range [1, 4096]", ranks);
    return create(out, 0, ranks, 1);
}

void dpf_dist_free(dpf_dist *d)
{
    if (!d)
        return;
    dpf_transport_free(d->tp);
    free(d->w);
    free(d->parts);
    free(d->ptrs);
    free(d->counts);
    free(d->work);
    free(d->bn);
    free(d);
}

int dpf_dist_rank(const dpf_dist *d)
{
    return d ? d->rank : 0;
}

int dpf_dist_size(const dpf_dist *d)
{
    return d ? d->size : 1;
}

int dpf_dist_quiet(const dpf_dist *d)
{
    return d && d->quiet;
}

int dpf_dist_slice(int n, int rank, int size, int *first)
{
    int64_t a = (int64_t)n * rank / size, b = (int64_t)n * (rank + 1) / size;
    *first = (int)a;
    return (int)(b - a);
}

void dpf_dist_combine(dpf_real *out, const dpf_real *const *in, const double *w, int n,
                      size_t count)
{
    const long m = (long)count;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < m; i++) {
        double acc = 0;
        for (int r = 0; r < n; r++)
            acc += w[r] * (double)in[r][i];
        out[i] = (dpf_real)acc;
    }
}

/* d->work of at least n elements. */
static dpf_status dpf_dist_work(dpf_dist *d, size_t n)
{
    if (d->work_n >= n)
        return DPF_OK;
    dpf_real *p = realloc(d->work, n * sizeof *p);
    if (!p)
        return dpf_error(DPF_ERR_NOMEM, "distributed training: out of memory (%zu values)", n);
    d->work = p, d->work_n = n;
    return DPF_OK;
}

/* One value per rank (bytes each) into recv, in rank order; an emulation has one value. */
static dpf_status gather(dpf_dist *d, const void *send, void *recv, size_t bytes)
{
    if (d->emulated) {
        memcpy(recv, send, bytes);
        return DPF_OK;
    }
    return dpf_transport_allgather(d->tp, send, recv, bytes);
}

static int single(const dpf_dist *d)
{
    return !d || d->size == 1 || d->emulated;
}

dpf_status dpf_dist_any(dpf_dist *d, int *flag)
{
    if (single(d))
        return DPF_OK;
    int *all = (int *)d->parts, mine = *flag != 0;
    dpf_status st = gather(d, &mine, all, sizeof mine);
    for (int r = 0; st == DPF_OK && r < d->size; r++)
        *flag |= all[r];
    return st;
}

dpf_status dpf_dist_agree_status(dpf_dist *d, dpf_status st)
{
    if (single(d))
        return st;
    int *all = (int *)d->parts, mine = (int)st;
    dpf_status gst = gather(d, &mine, all, sizeof mine);
    if (gst != DPF_OK)
        return st != DPF_OK ? st : gst;
    for (int r = 0; r < d->size; r++)
        if (all[r] != DPF_OK) { /* the first rank that failed prints its error, the others not */
            d->quiet = r != d->rank;
            return st != DPF_OK ? st : dpf_error((dpf_status)all[r], "rank %d stopped with an "
                                                 "error (printed by it)", r);
        }
    return DPF_OK;
}

uint64_t dpf_dist_hash(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

dpf_status dpf_dist_check_same(dpf_dist *d, uint64_t hash, const char *what)
{
    if (single(d))
        return DPF_OK;
    uint64_t *all = (uint64_t *)d->parts;
    dpf_status st = gather(d, &hash, all, sizeof hash);
    for (int r = 1; st == DPF_OK && r < d->size; r++)
        if (all[r] != all[0])
            st = dpf_error(DPF_ERR_STATE, "ranks disagree on %s: rank 0 has hash %016llx, rank "
                           "%d %016llx (a rank computed something the others did not)", what,
                           (unsigned long long)all[0], r, (unsigned long long)all[r]);
    return st;
}

/* ---- batch-norm statistics: an emulation keeps rank 0's in the net, the others in d->bn ---- */

/* Emulation: the other ranks' statistics, from the net's until they have their own. */
static dpf_real *emulated_bn(dpf_dist *d, dpf_net *net)
{
    size_t nbn = dpf_net_buffers_size(net);
    if (!d->bn_ready) /* every rank starts from the net's statistics */
        for (int r = 1; r < d->size; r++)
            memcpy(d->bn + (size_t)(r - 1) * nbn, dpf_net_buffers(net), nbn * sizeof *d->bn);
    d->bn_ready = 1;
    return d->bn;
}

dpf_real *dpf_dist_rank_bn(dpf_dist *d, dpf_net *net, int r)
{
    return dpf_net_buffers_size(net) ? emulated_bn(d, net) + (size_t)(r - 1) *
                                       dpf_net_buffers_size(net) : NULL;
}

dpf_status dpf_dist_reserve(dpf_dist *d, size_t p)
{
    /* MPI: chunk `rank` of every rank (a chunk is at most p / size + 1); emulation: every rank's
     * gradient */
    return dpf_dist_work(d, d->emulated ? (size_t)d->size * p
                                        : (size_t)d->size * (p / (size_t)d->size + 1));
}

dpf_status dpf_dist_prepare(dpf_dist *d, dpf_net *net)
{
    if (!d || d->size == 1)
        return DPF_OK;
    size_t nbn = dpf_net_buffers_size(net);
    dpf_status st = dpf_dist_reserve(d, dpf_net_size(net));
    size_t need = d->emulated ? (size_t)(d->size - 1) * nbn : 0;
    if (st == DPF_OK && need > d->bn_n) {
        dpf_real *b = realloc(d->bn, need * sizeof *b);
        if (!b)
            return dpf_error(DPF_ERR_NOMEM, "distributed training: out of memory");
        d->bn = b, d->bn_n = need, d->bn_ready = 0;
    }
    return st;
}

dpf_status dpf_dist_bn_gather(dpf_dist *d, dpf_net *net, dpf_real *all)
{
    size_t nbn = dpf_net_buffers_size(net);
    if (d && d->size > 1 && !d->emulated)
        return dpf_transport_allgather(d->tp, dpf_net_buffers(net), all, nbn * sizeof *all);
    memcpy(all, dpf_net_buffers(net), nbn * sizeof *all); /* rank 0's, or the one process's */
    if (d && d->size > 1 && nbn)
        memcpy(all + nbn, emulated_bn(d, net), (size_t)(d->size - 1) * nbn * sizeof *all);
    return DPF_OK;
}

void dpf_dist_bn_average(const dpf_dist *d, const dpf_net *net, const dpf_real *all,
                         dpf_real *avg)
{
    size_t nbn = dpf_net_buffers_size(net);
    int n = dpf_dist_size(d);
    if (n == 1) {
        memcpy(avg, all, nbn * sizeof *avg);
        return;
    }
    for (int r = 0; r < n; r++)
        d->w[r] = 1.0 / n, d->ptrs[r] = all + (size_t)r * nbn;
    dpf_dist_combine(avg, d->ptrs, d->w, n, nbn);
}

void dpf_dist_bn_scatter(dpf_dist *d, dpf_net *net, const dpf_real *all)
{
    size_t nbn = dpf_net_buffers_size(net);
    if (!d || d->size == 1 || !all) {
        if (d)
            d->bn_ready = 0;
        return;
    }
    memcpy(dpf_net_buffers(net), all + (size_t)d->rank * nbn, nbn * sizeof *all);
    if (d->emulated)
        memcpy(emulated_bn(d, net), all + nbn, (size_t)(d->size - 1) * nbn * sizeof *all);
}

/* ---- sharded evaluation ---- */

dpf_status dpf_dist_evaluate(dpf_dist *d, dpf_net *net, const dpf_dataset *ds,
                             const float mean[3], const float std[3], double *accuracy,
                             double *loss)
{
    if (!d || d->size == 1)
        return dpf_evaluate(net, ds, mean, std, accuracy, loss);
    double *parts = d->parts, mine[3] = {0, 0, 0};
    dpf_status st = DPF_OK;
    for (int r = d->emulated ? 0 : d->rank; r < (d->emulated ? d->size : d->rank + 1); r++) {
        int first, n = dpf_dist_slice(ds->n, r, d->size, &first);
        dpf_dataset shard = *ds;
        shard.n = n;
        shard.images += (size_t)first * (size_t)ds->c * (size_t)ds->h * (size_t)ds->w;
        shard.labels += first;
        double acc = 0, l = 0;
        if (n > 0 && st == DPF_OK)
            st = dpf_evaluate(net, &shard, mean, std, &acc, &l);
        double *row = d->emulated ? parts + 3 * r : mine;
        row[0] = (double)llround(acc * n), row[1] = l * n, row[2] = n;
    }
    st = dpf_dist_agree_status(d, st);
    if (st == DPF_OK && !d->emulated)
        st = gather(d, mine, parts, sizeof mine);
    if (st != DPF_OK)
        return st;
    double hits = 0, lsum = 0, seen = 0;
    for (int r = 0; r < d->size; r++)
        hits += parts[3 * r], lsum += parts[3 * r + 1], seen += parts[3 * r + 2];
    *accuracy = seen > 0 ? hits / seen : 0;
    if (loss)
        *loss = seen > 0 ? lsum / seen : 0;
    return DPF_OK;
}
