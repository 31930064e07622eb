/* bench/sparse_layers.c — build/bench_sparse_layers [threads] [reps] [cpu]: the sparse kernels
 * (src/kernels/sparse, NCHW) against oneDNN's dense convolution / sgemm (what dpf runs today,
 * on its blocked layout, weights prepared) on every distinct layer shape of the paper's models
 * (ResNet-20 at 1x28x28 and 3x32x32, LeNet-5 (Caffe's, as dpf builds it), WRN-28-2, VGG16), at
 * densities 0.25, 0.2, 0.15, 0.1, 0.05 and 0.01, at batch 1 (latency) and batch 256 (throughput). Prints
 * the median time of each, interleaved, and the speed-up (both on the float build's activation
 * layout): the calibration data of the dense/sparse choice per layer. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "core/util.h"
#include "dpf/rng.h"
#include "kernels/kernels.h"
#include "kernels/sparse/sparse.h"

typedef struct layer {
    const char *model;
    int c, h, w, k, ks, stride, pad; /* ks 0: linear c -> k */
} layer;

static const layer layers[] = {
    {"resnet20-28", 1, 28, 28, 16, 3, 1, 1},   {"resnet20-28", 16, 28, 28, 16, 3, 1, 1},
    {"resnet20-28", 16, 28, 28, 32, 3, 2, 1},  {"resnet20-28", 32, 14, 14, 32, 3, 1, 1},
    {"resnet20-28", 32, 14, 14, 64, 3, 2, 1},  {"resnet20-28", 64, 7, 7, 64, 3, 1, 1},
    {"resnet20-32", 16, 32, 32, 16, 3, 1, 1},  {"resnet20-32", 32, 16, 16, 32, 3, 1, 1},
    {"resnet20-32", 64, 8, 8, 64, 3, 1, 1},    {"resnet20-32", 16, 32, 32, 32, 1, 2, 0},
    {"lenet5", 1, 28, 28, 20, 5, 1, 0},        {"lenet5", 20, 12, 12, 50, 5, 1, 0},
    {"lenet5", 800, 1, 1, 500, 0, 1, 0},       {"lenet5", 500, 1, 1, 10, 0, 1, 0},
    {"wrn-28-2", 32, 32, 32, 32, 3, 1, 1},     {"wrn-28-2", 64, 16, 16, 64, 3, 1, 1},
    {"wrn-28-2", 128, 8, 8, 128, 3, 1, 1},     {"vgg16", 64, 32, 32, 64, 3, 1, 1},
    {"vgg16", 128, 16, 16, 128, 3, 1, 1},      {"vgg16", 256, 8, 8, 256, 3, 1, 1},
    {"vgg16", 512, 4, 4, 512, 3, 1, 1},        {"vgg16", 512, 2, 2, 512, 3, 1, 1},
};

static int cpu_clock; /* time the process's CPU time (one thread: immune to other processes) */

static double now(void)
{
    return cpu_clock ? bench_cpu_seconds() : dpf_now();
}

static float *rand_vec(dpf_rng *r, size_t n, double density)
{
    float *v = aligned_alloc(64, ((n ? n : 1) * sizeof(float) + 63) & ~(size_t)63);
    for (size_t i = 0; i < n; i++)
        v[i] = dpf_rng_uniform(r) < density ? (float)dpf_rng_normal(r) : 0.0f;
    return v;
}

/* Median seconds of dense and sparse, `reps` interleaved pairs, for one layer, batch, density. */
static void time_layer(const layer *l, int n, double density, int reps, dpf_kctx *ctx,
                       double *dense_s, double *sparse_s)
{
    dpf_rng r;
    dpf_rng_seed(&r, 1);
    const int lin = l->ks == 0;
    dpf_conv_shape s = {n, l->c, l->h, l->w, l->k, lin ? 1 : l->ks, lin ? 1 : l->ks, l->stride,
                        l->pad, 0, 0, 0};
    dpf_conv_shape_finish(&s);
    const size_t nx = (size_t)n * l->c * l->h * l->w, ny = (size_t)n * l->k * s.oh * s.ow;
    float *x = rand_vec(&r, nx, 1), *y = rand_vec(&r, ny, 1);
    float *w = rand_vec(&r, (size_t)l->k * l->c * s.kh * s.kw, density);
    dpf_conv *cv = NULL;
    dpf_sparse_conv sc = {0};
    dpf_sparse_linear sl = {0};
    size_t wsn = 0;
    if (lin) {
        dpf_sparse_linear_prepare(&sl, l->c, l->k, w);
        wsn = dpf_sparse_linear_workspace(&sl, n);
    } else {
        dpf_k_conv2d_create(&cv, ctx, &s, &(dpf_conv_opts){0});
        dpf_k_conv2d_set_weights(cv, w);
        dpf_sparse_conv_prepare(&sc, &s, l->c % 16 ? l->c : 16, l->k % 16 ? l->k : 16, w);
        wsn = dpf_sparse_conv_workspace(&sc, n, omp_get_max_threads());
    }
    float *ws = rand_vec(&r, wsn + 16, 1);
    double *td = malloc((size_t)reps * sizeof *td), *tsp = malloc((size_t)reps * sizeof *tsp);
    for (int i = -2; i < reps; i++) { /* two warm-up pairs */
        double t0 = now();
        if (lin)
            dpf_k_linear_forward(y, x, w, NULL, n, l->c, l->k);
        else
            dpf_k_conv2d_forward(cv, y, x, NULL, NULL, n, NULL);
        double t1 = now();
        if (lin)
            dpf_sparse_linear_forward(&sl, y, x, NULL, 0, n, ws);
        else
            dpf_sparse_conv_forward(&sc, y, x, NULL, NULL, 0, n, ws);
        double t2 = now();
        if (i >= 0)
            td[i] = t1 - t0, tsp[i] = t2 - t1;
    }
    qsort(td, (size_t)reps, sizeof *td, bench_cmp_double);
    qsort(tsp, (size_t)reps, sizeof *tsp, bench_cmp_double);
    *dense_s = td[reps / 2], *sparse_s = tsp[reps / 2];
    dpf_k_conv2d_free(cv);
    dpf_sparse_conv_free(&sc);
    dpf_sparse_linear_free(&sl);
    free(x), free(y), free(w), free(ws), free(td), free(tsp);
}

int main(int argc, char **argv)
{
    const int threads = argc > 1 ? atoi(argv[1]) : 2, reps = argc > 2 ? atoi(argv[2]) : 11;
    cpu_clock = argc > 3 && strcmp(argv[3], "cpu") == 0;
    if (threads < 1 || reps < 1 || (cpu_clock && threads != 1)) {
        fprintf(stderr, "usage: bench_sparse_layers [threads >= 1] [reps >= 1] [cpu]\n"
                "  cpu: time the process's CPU time, not the wall clock (threads 1 only): "
                "figures that other processes on a busy machine barely disturb\n");
        return 2;
    }
    omp_set_num_threads(threads);
    dpf_kctx *ctx = NULL;
    if (dpf_kctx_create(&ctx, 1) != DPF_OK)
        return 1;
    const double dens[] = {0.25, 0.2, 0.15, 0.1, 0.05, 0.01};
    const int batches[] = {1, 256};
    printf("%d threads, median of %d interleaved runs (%s); dense: oneDNN (blocked layout, weights "
           "prepared), sparse: dpf's (per image below 32 images, lanes from 32)\n", threads, reps,
           cpu_clock ? "process CPU time" : "wall clock");
    printf("%-12s %-22s %5s %7s %10s %10s %8s\n", "model", "layer", "batch", "density",
           "dense ms", "sparse ms", "speedup");
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++)
        for (int bi = 0; bi < 2; bi++)
            for (int di = 0; di < (int)(sizeof dens / sizeof dens[0]); di++) {
                const layer *l = &layers[i];
                char name[64];
                if (l->ks)
                    snprintf(name, sizeof name, "%d->%d %dx%d/%d @%dx%d", l->c, l->k, l->ks,
                             l->ks, l->stride, l->h, l->w);
                else
                    snprintf(name, sizeof name, "fc %d->%d", l->c, l->k);
                double d, sp;
                time_layer(l, batches[bi], dens[di], reps, ctx, &d, &sp);
                printf("%-12s %-22s %5d %7.2f %10.4f %10.4f %7.2fx\n", l->model, name,
                       batches[bi], dens[di], 1e3 * d, 1e3 * sp, d / sp);
                fflush(stdout);
            }
    dpf_kctx_free(ctx);
    return 0;
}
