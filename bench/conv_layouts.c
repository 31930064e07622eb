/* conv_layouts.c — benchmark: oneDNN's float32 convolutions on ResNet-20's layer shapes in the
 * three ways dpf could run them: direct on NHWC, direct on blocked nChw16c, and Winograd
 * F(4x4, 3x3) on nChw16c (3x3 stride-1 layers only). Prints the median milliseconds of forward,
 * backward-data and backward-weights per shape, the three variants interleaved round by round so
 * that machine noise hits them alike. This is the measurement behind the layout and algorithm
 * choice in src/kernels/fast/conv_dnnl.c.
 *
 * usage: bench_conv_layouts [SIZE [BATCH [ROUNDS]]]   (defaults 32 128 15; SIZE is the input
 *        side, so stages run at SIZE, SIZE/2, SIZE/4 as in ResNet-20) */
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { FWD, BWD_DATA, BWD_WEIGHTS, PASSES };
enum { NHWC, BLOCKED, WINOGRAD, VARIANTS };

typedef struct variant {
    int ok;
    dnnl_primitive_t p[PASSES];
    dnnl_exec_arg_t args[PASSES][4];
} variant;

static dnnl_engine_t engine;
static dnnl_stream_t stream;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* A memory of descriptor md on fresh 64-byte aligned storage filled with small values. */
static dnnl_memory_t memory_of(const dnnl_memory_desc_t *md)
{
    size_t bytes = (dnnl_memory_desc_get_size(md) + 63) & ~(size_t)63;
    float *p = aligned_alloc(64, bytes ? bytes : 64);
    dnnl_memory_t m = NULL;
    if (!p)
        return NULL;
    for (size_t i = 0; i < bytes / sizeof(float); i++)
        p[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    if (dnnl_memory_create(&m, md, engine, p) != dnnl_success)
        return NULL;
    return m;
}

static int build(variant *v, int n, int ic, int oc, int size, int stride, int kind)
{
    const int k = 3, pad = 1, out = (size + 2 * pad - k) / stride + 1;
    dnnl_dims_t src = {n, ic, size, size}, dst = {n, oc, out, out}, wts = {oc, ic, k, k};
    dnnl_dims_t strides = {stride, stride}, padl = {pad, pad};
    dnnl_dims_t padr = {(out - 1) * stride + k - size - pad, (out - 1) * stride + k - size - pad};
    dnnl_format_tag_t tag = kind == NHWC ? dnnl_nhwc : dnnl_nChw16c;
    dnnl_alg_kind_t alg = kind == WINOGRAD ? dnnl_convolution_winograd : dnnl_convolution_direct;
    dnnl_memory_desc_t s, d, w;
    dnnl_convolution_desc_t fd, bd, wd;
    dnnl_primitive_desc_t pd[PASSES] = {NULL, NULL, NULL};
    if (dnnl_memory_desc_init_by_tag(&s, 4, src, dnnl_f32, tag) != dnnl_success ||
        dnnl_memory_desc_init_by_tag(&d, 4, dst, dnnl_f32, tag) != dnnl_success ||
        dnnl_memory_desc_init_by_tag(&w, 4, wts, dnnl_f32, dnnl_format_tag_any) != dnnl_success ||
        dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, alg, &s, &w, NULL, &d,
                                           strides, padl, padr) != dnnl_success ||
        dnnl_primitive_desc_create(&pd[FWD], &fd, NULL, engine, NULL) != dnnl_success ||
        dnnl_convolution_backward_data_desc_init(&bd, alg, &s, &w, &d, strides, padl, padr) !=
            dnnl_success ||
        dnnl_primitive_desc_create(&pd[BWD_DATA], &bd, NULL, engine, pd[FWD]) != dnnl_success ||
        dnnl_convolution_backward_weights_desc_init(&wd, alg, &s, &w, NULL, &d, strides, padl,
                                                    padr) != dnnl_success ||
        dnnl_primitive_desc_create(&pd[BWD_WEIGHTS], &wd, NULL, engine, pd[FWD]) != dnnl_success)
        return 0;
    const int roles[PASSES][3] = {{DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST},
                                  {DNNL_ARG_DIFF_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_DST},
                                  {DNNL_ARG_SRC, DNNL_ARG_DIFF_WEIGHTS, DNNL_ARG_DIFF_DST}};
    const dnnl_query_t wq[PASSES] = {dnnl_query_weights_md, dnnl_query_weights_md,
                                     dnnl_query_diff_weights_md};
    for (int i = 0; i < PASSES; i++) {
        const dnnl_memory_desc_t *mds[3] = {&s, dnnl_primitive_desc_query_md(pd[i], wq[i], 0),
                                            &d};
        for (int a = 0; a < 3; a++) {
            v->args[i][a].arg = roles[i][a];
            v->args[i][a].memory = memory_of(mds[a]);
        }
        v->args[i][3].arg = DNNL_ARG_SCRATCHPAD;
        v->args[i][3].memory =
            memory_of(dnnl_primitive_desc_query_md(pd[i], dnnl_query_scratchpad_md, 0));
        if (dnnl_primitive_create(&v->p[i], pd[i]) != dnnl_success)
            return 0;
        dnnl_primitive_desc_destroy(pd[i]);
    }
    return 1;
}

static double run_once(variant *v, int pass)
{
    double t0 = now();
    dnnl_primitive_execute(v->p[pass], stream, 4, v->args[pass]);
    dnnl_stream_wait(stream);
    return now() - t0;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const int size = argc > 1 ? atoi(argv[1]) : 32, n = argc > 2 ? atoi(argv[2]) : 128;
    const int rounds = argc > 3 ? atoi(argv[3]) : 15;
    if (size < 8 || n < 1 || rounds < 1 || rounds > 1000) {
        fprintf(stderr, "usage: bench_conv_layouts [SIZE >= 8 [BATCH >= 1 [ROUNDS 1..1000]]]\n");
        return 2;
    }
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success)
        return 1;
    /* ResNet-20's 3x3 layers: in, out, input side, stride */
    const int shapes[][4] = {{16, 16, size, 1}, {16, 32, size, 2}, {32, 32, size / 2, 1},
                             {32, 64, size / 2, 2}, {64, 64, size / 4, 1}};
    const char *names[VARIANTS] = {"nhwc", "blocked", "winograd"};
    printf("batch %d, median of %d interleaved rounds, ms: forward / backward data / backward "
           "weights\n", n, rounds);
    double *t = malloc(sizeof(double) * VARIANTS * PASSES * (size_t)rounds);
    if (!t)
        return 1;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const int *sh = shapes[si];
        variant v[VARIANTS] = {{0}};
        for (int k = 0; k < VARIANTS; k++)
            v[k].ok = (k != WINOGRAD || sh[3] == 1) && build(&v[k], n, sh[0], sh[1], sh[2], sh[3], k);
        for (int r = 0; r < rounds; r++)
            for (int k = 0; k < VARIANTS; k++)
                for (int p = 0; p < PASSES; p++)
                    t[((size_t)k * PASSES + p) * rounds + r] = v[k].ok ? run_once(&v[k], p) : 0;
        printf("%2d->%-2d %2dx%-2d stride %d ", sh[0], sh[1], sh[2], sh[2], sh[3]);
        for (int k = 0; k < VARIANTS; k++) {
            printf("  %s", names[k]);
            for (int p = 0; p < PASSES; p++) {
                double *row = t + ((size_t)k * PASSES + p) * rounds;
                qsort(row, (size_t)rounds, sizeof *row, cmp);
                if (v[k].ok)
                    printf(" %.2f", 1e3 * row[rounds / 2]);
                else
                    printf(" -");
            }
        }
        printf("\n");
    }
    free(t);
    return 0;
}
