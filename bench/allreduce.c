/* allreduce.c — the gradient sum of data-parallel training, timed (docs/distributed.md, the
 * scaling model's measured inputs). Run under mpirun -np N: for gradients the size of
 * ResNet-20's and WRN-28-2's (dpf's own nets, CIFAR shape) and ResNet-50's (torchvision,
 * 25,557,032 values), the median over repetitions of
 *   ordered     dpf_dist_reduce: all-to-all of chunks + the sum in rank order + all-gather
 *               (what every training step does)
 *   combine     the rank-order sum of this rank's chunk alone (local arithmetic)
 *   allreduce   MPI_Allreduce(MPI_SUM) of the same buffer, whose order of summation MPI picks
 *               (for comparison: the price of a fixed order)
 * printed by rank 0 as one line per size. usage: mpirun -np N build/bench_allreduce [REPS] */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist/dist.h"
#include "dpf/net.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    return t[n / 2];
}

static size_t net_size(const char *model)
{
    dpf_net *net;
    if (dpf_net_create(&net, model, 3, 32, 32, 10, 1) != DPF_OK)
        return 0;
    size_t n = dpf_net_size(net);
    dpf_net_free(net);
    return n;
}

/* Times `what` (0 ordered, 1 combine, 2 allreduce) reps times on g (p values); median in s. */
static double time_one(dpf_dist *d, int what, dpf_real *g, dpf_real *out, size_t p,
                       const double *w, int reps)
{
    int size = dpf_dist_size(d), first, mine = dpf_dist_slice((int)p, dpf_dist_rank(d), size,
                                                              &first);
    const dpf_real **rows = malloc((size_t)size * sizeof *rows);
    double *t = malloc((size_t)reps * sizeof *t);
    for (int r = 0; r < size; r++)
        rows[r] = g + (size_t)r * (size_t)mine; /* stand-ins for the received chunks */
    for (int i = -2; i < reps; i++) { /* two warm-up rounds */
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        if (what == 0)
            dpf_dist_reduce(d, g, p, w);
        else if (what == 1)
            dpf_dist_combine(out, rows, w, size, (size_t)mine);
        else
            MPI_Allreduce(MPI_IN_PLACE, g, (int)p, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        double dt = MPI_Wtime() - t0, slowest;
        MPI_Allreduce(&dt, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        if (i >= 0)
            t[i] = slowest;
        for (size_t k = 0; k < p; k++) /* the next round starts from the same values */
            g[k] = (dpf_real)((k % 97) * 1e-3);
    }
    double m = median(t, reps);
    free(rows);
    free(t);
    return m;
}

int main(int argc, char **argv)
{
    dpf_dist *d;
    if (dpf_dist_launch(&d, &argc, &argv) != DPF_OK || !d) {
        fprintf(stderr, "bench_allreduce: run under mpirun (%s)\n", dpf_last_error());
        return 1;
    }
    int reps = argc > 1 ? atoi(argv[1]) : 9, size = dpf_dist_size(d);
    if (reps < 1)
        reps = 1;
    struct { const char *name; size_t p; } sizes[] = {
        {"resnet20", net_size("resnet20")}, {"wrn-28-2", net_size("wrn-28-2")},
        {"resnet50", 25557032}};
    double *w = malloc((size_t)size * sizeof *w);
    for (int r = 0; r < size; r++)
        w[r] = 1.0 / size;
    if (dpf_dist_rank(d) == 0)
        printf("ranks  model     values    MB   ordered_ms  combine_ms  allreduce_ms\n");
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t p = sizes[s].p;
        /* g: + size values, the end of the combine's last stand-in row */
        dpf_real *g = calloc(p + (size_t)size, sizeof *g);
        dpf_real *out = malloc((p / (size_t)size + 1) * sizeof *out);
        if (!g || !out || dpf_dist_reserve(d, p) != DPF_OK) {
            fprintf(stderr, "bench_allreduce: out of memory\n");
            return 1;
        }
        double t[3];
        for (int what = 0; what < 3; what++)
            t[what] = time_one(d, what, g, out, p, w, reps);
        if (dpf_dist_rank(d) == 0)
            printf("%5d  %-8s %9zu %6.1f %10.3f %11.3f %13.3f\n", size, sizes[s].name, p,
                   (double)p * sizeof(dpf_real) / 1e6, 1e3 * t[0], 1e3 * t[1], 1e3 * t[2]);
        free(g);
        free(out);
    }
    free(w);
    dpf_dist_free(d);
    return 0;
}
