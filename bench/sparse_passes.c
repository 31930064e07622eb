/* bench/sparse_passes.c — build/bench_sparse_passes [threads] [reps] [batch]: the training passes
 * of a convolution on the sparse kernels against oneDNN's (what dpf runs dense), per layer shape
 * of ResNet-20 (3x32x32) and LeNet-5, at densities 0.05, 0.1 and 0.25: backward-data (stride 1:
 * the forward convolution of dy with the weights transposed and flipped) and the weight
 * gradient at a mask's positions only. Median of `reps` interleaved runs each, process CPU
 * time (one thread is immune to other processes on a shared machine). */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "dpf/rng.h"
#include "kernels/kernels.h"

typedef struct layer {
    int c, h, k, ks, stride;
} layer;

static const layer layers[] = {
    {16, 32, 16, 3, 1}, {32, 16, 32, 3, 1}, {64, 8, 64, 3, 1},
    {16, 32, 32, 3, 2}, {32, 16, 64, 3, 2}, {20, 12, 50, 5, 1},
};


static float *rand_vec(dpf_rng *r, size_t n)
{
    float *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)dpf_rng_normal(r);
    return v;
}

/* Medians (seconds) of the four passes: [dense dw, sparse dw, dense dx, sparse dx]. */
static void time_layer(const layer *l, int n, double density, int reps, dpf_kctx *ctx, double t[4])
{
    dpf_rng r;
    dpf_rng_seed(&r, 1);
    dpf_conv_shape s = {n, l->c, l->h, l->h, l->k, l->ks, l->ks, l->stride, l->ks / 2, 0, 0, 0};
    dpf_conv_shape_finish(&s);
    const size_t nx = (size_t)n * l->c * l->h * l->h, ny = (size_t)n * l->k * s.oh * s.ow;
    const size_t nw = (size_t)l->k * l->c * l->ks * l->ks;
    float *x = rand_vec(&r, nx), *dy = rand_vec(&r, ny), *w = rand_vec(&r, nw);
    float *dw = calloc(nw, sizeof *dw), *dx = malloc(nx * sizeof *dx);
    uint8_t *mask = malloc(nw);
    for (size_t i = 0; i < nw; i++) {
        mask[i] = dpf_rng_uniform(&r) < density;
        w[i] = mask[i] ? w[i] : 0.0f;
    }
    dpf_conv *cv[2];
    for (int i = 0; i < 2; i++) {
        const dpf_conv_opts o = {.training = 1,
                                 .policy = i ? DPF_KERNELS_SPARSE : DPF_KERNELS_DENSE};
        dpf_k_conv2d_create(&cv[i], ctx, &s, &o);
        dpf_k_conv2d_set_weights(cv[i], w);
        dpf_k_conv2d_set_grad_mask(cv[i], mask);
    }
    size_t wsn = dpf_k_conv2d_workspace(cv[0]), w1 = dpf_k_conv2d_workspace(cv[1]);
    float *ws = malloc(((wsn > w1 ? wsn : w1) + 64) * sizeof *ws);
    double *m = malloc((size_t)4 * reps * sizeof *m);
    for (int i = -1; i < reps; i++) /* one warm-up round */
        for (int p = 0; p < 4; p++) {
            double t0 = bench_cpu_seconds();
            if (p < 2)
                dpf_k_conv2d_backward(cv[p], NULL, dw, NULL, dy, x, n, ws);
            else
                dpf_k_conv2d_backward(cv[p - 2], dx, NULL, NULL, dy, x, n, ws);
            if (i >= 0)
                m[p * reps + i] = bench_cpu_seconds() - t0;
        }
    for (int p = 0; p < 4; p++) {
        qsort(m + p * reps, (size_t)reps, sizeof *m, bench_cmp_double);
        t[p] = m[p * reps + reps / 2];
    }
    for (int i = 0; i < 2; i++)
        dpf_k_conv2d_free(cv[i]);
    free(x), free(dy), free(w), free(dw), free(dx), free(mask), free(ws), free(m);
}

int main(int argc, char **argv)
{
    const int threads = argc > 1 ? atoi(argv[1]) : 1, reps = argc > 2 ? atoi(argv[2]) : 7;
    const int n = argc > 3 ? atoi(argv[3]) : 128;
    if (threads < 1 || reps < 1 || n < 1) {
        fprintf(stderr, "usage: bench_sparse_passes [threads >= 1] [reps >= 1] [batch >= 1]\n");
        return 2;
    }
    omp_set_num_threads(threads);
    dpf_kctx *ctx;
    if (dpf_kctx_create(&ctx, 1) != DPF_OK)
        return 1;
    static const double densities[] = {0.05, 0.1, 0.25};
    printf("%d threads, batch %d, median of %d interleaved runs (process CPU time); dense: "
           "oneDNN; sparse: dpf's kernels (backward-data: stride 1 only, else oneDNN)\n",
           threads, n, reps);
    printf("%-24s %7s %22s %22s\n", "layer", "density", "weight grad d/s ms", "backward-data d/s ms");
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++)
        for (int d = 0; d < 3; d++) {
            const layer *l = &layers[i];
            double t[4];
            time_layer(l, n, densities[d], reps, ctx, t);
            char name[64];
            snprintf(name, sizeof name, "%d->%d %dx%d/%d @%dx%d", l->c, l->k, l->ks, l->ks,
                     l->stride, l->h, l->h);
            printf("%-24s %7.2f %7.3f %6.3f %5.2fx %7.3f %6.3f %5.2fx\n", name, densities[d],
                   1e3 * t[0], 1e3 * t[1], t[0] / t[1], 1e3 * t[2], 1e3 * t[3], t[2] / t[3]);
        }
    dpf_kctx_free(ctx);
    return 0;
}
