/* cmd_bench_engine.c — `dpf bench --inference --model-file FILE`: the inference engine on a
 * trained model, the rule's choice of dense and sparse kernels against dense kernels only, side
 * by side in one process, interleaved: batch-1 latency (median) and batch-256 throughput, and a
 * per-layer table saying which kernel each layer runs and its density. */
#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dpf/infer.h"
#include "dpf/util.h"

#define BIG 256


/* Seconds of one run of n images. */
static double once(dpf_engine *e, const float *x, int n, float *logits)
{
    double t0 = dpf_now();
    dpf_engine_run(e, x, n, logits);
    return dpf_now() - t0;
}

static void print_layers(dpf_engine *e, const float *x, float *logits, int n)
{
    dpf_engine_set_profiling(e, 1);
    for (int i = 0; i < (n == 1 ? 50 : 3); i++)
        dpf_engine_run(e, x, n, logits);
    printf("\nbatch %d, kernels by the rule:\n%-52s %7s %8s %9s\n", n, "layer", "kernel",
           "density", "ms");
    double total = 0;
    for (int i = 0; i < dpf_engine_layer_count(e); i++) {
        dpf_engine_layer l;
        dpf_engine_layer_info(e, i, &l);
        total += l.ms;
        printf("%-52s %7s %8.3f %9.4f\n", l.name, l.kernel[0] ? l.kernel : "-", l.density, l.ms);
    }
    printf("%-52s %7s %8s %9.4f\n", "total", "", "", total);
    dpf_engine_set_profiling(e, 0);
}

int bench_engine(const char *path, int threads, int rounds, int json)
{
    dpf_engine *dense = NULL, *sparse = NULL;
    dpf_engine_options o = {.max_batch = BIG, .threads = threads, .kernels = DPF_ENGINE_DENSE};
    if (dpf_engine_load(&dense, path, &o) != DPF_OK)
        return cli_report_error(), 1;
    o.kernels = DPF_ENGINE_AUTO;
    if (dpf_engine_load(&sparse, path, &o) != DPF_OK) {
        dpf_engine_free(dense);
        return cli_report_error(), 1;
    }
    const dpf_model_meta *m = dpf_engine_meta(sparse);
    const size_t nx = (size_t)BIG * m->c * m->h * m->w;
    float *x = malloc(nx * sizeof *x), *logits = malloc((size_t)BIG * m->classes * sizeof *x);
    double *t = malloc((size_t)4 * rounds * sizeof *t);
    if (!x || !logits || !t) {
        free(x), free(logits), free(t), dpf_engine_free(dense), dpf_engine_free(sparse);
        fprintf(stderr, "dpf bench: out of memory\n");
        return 1;
    }
    cli_random_input(x, nx);
    double *lat_d = t, *lat_s = t + rounds, *thr_d = t + 2 * rounds, *thr_s = t + 3 * rounds;
    once(dense, x, BIG, logits), once(sparse, x, BIG, logits); /* warm: primitives, packing */
    for (int i = 0; i < rounds; i++) { /* interleaved; a round's latency is its median of 21 */
        double a[21], b[21];
        for (int j = 0; j < 21; j++)
            a[j] = once(dense, x, 1, logits), b[j] = once(sparse, x, 1, logits);
        qsort(a, 21, sizeof *a, cli_cmp_double), qsort(b, 21, sizeof *b, cli_cmp_double);
        lat_d[i] = a[10], lat_s[i] = b[10];
        thr_d[i] = once(dense, x, BIG, logits), thr_s[i] = once(sparse, x, BIG, logits);
    }
    for (int k = 0; k < 4; k++)
        qsort(t + (size_t)k * rounds, (size_t)rounds, sizeof *t, cli_cmp_double);
    const int mid = rounds / 2;
    const int nthreads = threads > 0 ? threads : omp_get_max_threads();
    if (json) { /* the path as a JSON string: quotes, backslashes, control characters escaped */
        json_t *js = json_string(path);
        char *qpath = js ? json_dumps(js, JSON_ENCODE_ANY) : NULL;
        printf("{\"model_file\": %s, \"model\": \"%s\", \"sparsity\": %.4f, \"threads\": %d, "
               "\"dense_latency_ms\": %.4f, \"latency_ms\": %.4f, \"dense_images_per_s\": %.1f, "
               "\"images_per_s\": %.1f, \"rounds\": %d}\n", qpath ? qpath : "null", m->model,
               m->sparsity, nthreads, 1e3 * lat_d[mid], 1e3 * lat_s[mid], BIG / thr_d[mid],
               BIG / thr_s[mid], rounds);
        free(qpath);
        json_decref(js);
    } else {
        printf("%s: %s %dx%dx%d, sparsity %.2f%%, %d threads, medians of %d interleaved rounds\n",
               path, m->model, m->c, m->h, m->w, 100 * m->sparsity, nthreads, rounds);
        printf("%-22s %16s %22s\n", "", "batch-1 latency", "batch-256 throughput");
        printf("%-22s %13.3f ms %15.0f img/s\n", "dense kernels", 1e3 * lat_d[mid],
               BIG / thr_d[mid]);
        printf("%-22s %13.3f ms %15.0f img/s\n", "kernels by the rule", 1e3 * lat_s[mid],
               BIG / thr_s[mid]);
        printf("%-22s %15.2fx %21.2fx\n", "speed-up", lat_d[mid] / lat_s[mid],
               thr_d[mid] / thr_s[mid]);
        print_layers(sparse, x, logits, 1);
        print_layers(sparse, x, logits, BIG);
    }
    free(x), free(logits), free(t);
    dpf_engine_free(dense), dpf_engine_free(sparse);
    return 0;
}
