/* slim_speed.c — build/bench_slim_speed DENSE_FILE SLIM_FILE [ROUNDS [THREADS]]: the inference
 * engine on a dense model and on its slimmed model (dpf export --slim), dense kernels for both,
 * interleaved in one process: batch-1 latency (each round's median of 21 runs) and batch-256
 * throughput, medians over the rounds; the MACs of both and the speed-ups next to the MAC ratio
 * (issue 17's target: speed-up >= 0.7 x MAC ratio). Prints figures; not a test. */
#include <stdio.h>
#include <stdlib.h>

#include "dpf/infer.h"
#include "dpf/net.h"
#include "dpf/util.h"

#define BIG 256

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double once(dpf_engine *e, const float *x, int n, float *logits)
{
    double t0 = dpf_now();
    dpf_engine_run(e, x, n, logits);
    return dpf_now() - t0;
}

/* MACs of the model in path (one image). */
static long long macs_of(const char *path)
{
    dpf_net *net;
    dpf_model_meta m;
    if (dpf_model_load(path, 1, &net, &m) != DPF_OK)
        return -1;
    long long macs = (long long)dpf_net_macs_dense(net);
    dpf_net_free(net);
    return macs;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s DENSE_FILE SLIM_FILE [ROUNDS [THREADS]]\n", argv[0]);
        return 2;
    }
    const int rounds = argc > 3 ? atoi(argv[3]) : 7, threads = argc > 4 ? atoi(argv[4]) : 0;
    dpf_engine *e[2] = {NULL, NULL};
    dpf_engine_options o = {.max_batch = BIG, .threads = threads, .kernels = DPF_ENGINE_DENSE};
    for (int k = 0; k < 2; k++)
        if (rounds < 1 || dpf_engine_load(&e[k], argv[1 + k], &o) != DPF_OK) {
            fprintf(stderr, "%s: %s\n", argv[1 + k], dpf_last_error());
            return 1;
        }
    const dpf_model_meta *m = dpf_engine_meta(e[0]);
    const size_t nx = (size_t)BIG * m->c * m->h * m->w;
    float *x = malloc(nx * sizeof *x), *logits = malloc((size_t)BIG * m->classes * sizeof *x);
    double *t = malloc((size_t)4 * rounds * sizeof *t);
    if (!x || !logits || !t)
        return 1;
    for (size_t i = 0; i < nx; i++)
        x[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    once(e[0], x, BIG, logits), once(e[1], x, BIG, logits); /* warm */
    for (int r = 0; r < rounds; r++) {
        double a[2][21];
        for (int j = 0; j < 21; j++)
            for (int k = 0; k < 2; k++)
                a[k][j] = once(e[k], x, 1, logits);
        for (int k = 0; k < 2; k++) {
            qsort(a[k], 21, sizeof a[k][0], cmp);
            t[k * rounds + r] = a[k][10];
            t[(2 + k) * rounds + r] = once(e[k], x, BIG, logits);
        }
    }
    for (int k = 0; k < 4; k++)
        qsort(t + (size_t)k * rounds, (size_t)rounds, sizeof *t, cmp);
    const int mid = rounds / 2;
    const long long md = macs_of(argv[1]), ms = macs_of(argv[2]);
    printf("%s: dense %lld MACs, slim %lld MACs, ratio %.3f; medians of %d interleaved rounds\n",
           m->model, md, ms, (double)md / (double)ms, rounds);
    printf("batch-1 latency    dense %8.3f ms   slim %8.3f ms   speed-up %.2fx\n",
           1e3 * t[mid], 1e3 * t[rounds + mid], t[mid] / t[rounds + mid]);
    printf("batch-256 images/s dense %8.0f      slim %8.0f      speed-up %.2fx\n",
           BIG / t[2 * rounds + mid], BIG / t[3 * rounds + mid],
           t[2 * rounds + mid] / t[3 * rounds + mid]);
    free(x), free(logits), free(t);
    dpf_engine_free(e[0]), dpf_engine_free(e[1]);
    return 0;
}
