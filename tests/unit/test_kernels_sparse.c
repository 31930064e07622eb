/* test_kernels_sparse.c — the sparse-weight kernels (src/kernels/sparse) against the reference
 * kernels (NCHW) at densities 0, 0.01, 0.1, 0.5 and 1 and on awkward shapes: stride 2, 1x1,
 * 5x5, padding, batch 1, odd and non-square sizes, channels that are not multiples of 16, a
 * layer without any weight and one with empty filters; with bias, residual and ReLU. Scratch
 * is allocated at exactly the size the kernels ask for (the sanitizer build catches overruns),
 * in NCHW and in the float build's blocked channels-last layout (16-channel blocks, or NHWC),
 * and results are bit-identical on one thread and on two (each output is one sum in a fixed
 * order). Training layers: the forward and backward-data passes on the sparse kernels and the
 * weight gradient beside them, and the weight gradient at a mask's positions only, against
 * the reference's. Comparison: ||sparse - ref|| / ||ref||
 * <= 1e-5, shown able to fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "dpf/rng.h"
#include "kernels/kernels.h"
#include "kernels/sparse/sparse.h"

#define TOL 1e-5

static dpf_rng rng;

static float *fvec(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof *p);
    assert_non_null(p);
    return p;
}

static float *rand_fvec(size_t n)
{
    float *p = fvec(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)dpf_rng_normal(&rng);
    return p;
}

/* Keeps each weight with probability density; filters in `empty` (bit per filter) lose all. */
static void sparsify(float *w, size_t count, size_t per_filter, double density, uint32_t empty)
{
    for (size_t i = 0; i < count; i++)
        if (dpf_rng_uniform(&rng) >= density || ((empty >> (i / per_filter % 32)) & 1))
            w[i] = 0;
}

static double rel_err(const float *a, const float *ref, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += ((double)a[i] - ref[i]) * ((double)a[i] - ref[i]);
        den += (double)ref[i] * ref[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static void expect_close(const char *what, const float *a, const float *ref, size_t n)
{
    double e = rel_err(a, ref, n);
    if (!(e <= TOL))
        fail_msg("%s: relative error %g > %g", what, e, TOL);
    /* the measure can fail: one element off by 1e-3 of the norm */
    double norm = 0;
    for (size_t i = 0; i < n; i++)
        norm += (double)ref[i] * ref[i];
    if (norm > 0) {
        float *moved = fvec(n);
        memcpy(moved, ref, n * sizeof *moved);
        moved[n / 2] += (float)(1e-3 * sqrt(norm));
        assert_true(rel_err(moved, ref, n) > TOL);
        free(moved);
    }
}

/* ref: y = [relu](conv(x) + b + res) in NCHW */
static void ref_conv(float *y, const float *x, const float *w, const float *b, const float *res,
                     int relu, const dpf_conv_shape *s)
{
    dpf_ref_conv2d_forward(y, x, w, b, s, NULL);
    const size_t ny = (size_t)s->n * s->k * s->oh * s->ow;
    for (size_t i = 0; i < ny; i++) {
        float v = y[i] + (res ? res[i] : 0.0f);
        y[i] = relu && v < 0 ? 0.0f : v;
    }
}

/* NCHW (N, C, HW) -> blocks of cb channels (sparse.h) */
static float *to_blocks(const float *x, int n, int c, int hw, int cb)
{
    float *y = fvec((size_t)n * c * hw);
    for (int ni = 0; ni < n; ni++)
        for (int ci = 0; ci < c; ci++)
            for (int p = 0; p < hw; p++)
                y[(((size_t)ni * (c / cb) + ci / cb) * hw + p) * cb + ci % cb] =
                    x[((size_t)ni * c + ci) * hw + p];
    return y;
}

static int block_of(int c)
{
    return c % 16 == 0 ? 16 : c;
}

static void conv_case(int n, int c, int h, int w, int k, int ks, int stride, int pad,
                      double density, uint32_t empty)
{
    dpf_conv_shape s = {n, c, h, w, k, ks, ks, stride, pad, 0, 0, 0};
    assert_int_equal(dpf_conv_shape_finish(&s), 0);
    const size_t nx = (size_t)n * c * h * w, nw = (size_t)k * c * ks * ks;
    const size_t ny = (size_t)n * k * s.oh * s.ow;
    float *x = rand_fvec(nx), *wt = rand_fvec(nw), *b = rand_fvec((size_t)k);
    float *res = rand_fvec(ny), *yr = fvec(ny), *y1 = fvec(ny), *y2 = fvec(ny);
    sparsify(wt, nw, (size_t)c * ks * ks, density, empty);
    dpf_sparse_conv sc;
    memset(&sc, 0, sizeof sc);
    const int hw = h * w, ohw = s.oh * s.ow;
    float *xb = to_blocks(x, n, c, hw, block_of(c)), *rb = to_blocks(res, n, k, ohw, block_of(k));
    for (int variant = 0; variant < 4; variant++) {
        const int blocked = variant == 3; /* variant 3: the float build's layout */
        const float *bias = variant == 1 ? NULL : b, *r = variant >= 2 ? res : NULL;
        const int relu = variant != 1;
        assert_int_equal(dpf_sparse_conv_prepare(&sc, &s, blocked ? block_of(c) : 1,
                                                 blocked ? block_of(k) : 1, wt),
                         DPF_OK);
        ref_conv(yr, x, wt, bias, r, relu, &s);
        if (blocked) {
            float *t = to_blocks(yr, n, k, ohw, block_of(k));
            memcpy(yr, t, ny * sizeof *yr);
            free(t);
            r = rb;
        }
        for (int t = 1; t <= 2; t++) {
            const int saved = omp_get_max_threads();
            omp_set_num_threads(t);
            float *ws = malloc(dpf_sparse_conv_workspace(&sc, n, t) * sizeof *ws);
            float *y = t == 1 ? y1 : y2;
            for (size_t i = 0; i < ny; i++)
                y[i] = NAN;
            dpf_sparse_conv_forward(&sc, y, blocked ? xb : x, bias, r, relu, n, ws);
            free(ws);
            omp_set_num_threads(saved);
        }
        expect_close("sparse conv forward", y1, yr, ny);
        assert_memory_equal(y1, y2, ny * sizeof *y1);
        /* the lanes variant (16 images per group) directly, whatever the batch: the same sums
         * in the same order, so the same bits */
        float *ws = malloc(dpf_sparse_conv_workspace(&sc, n, omp_get_max_threads()) * sizeof *ws);
        float *ws_aligned = (float *)(((uintptr_t)ws + 63) & ~(uintptr_t)63);
        for (size_t i = 0; i < ny; i++)
            y2[i] = NAN;
        dpf_sparse_conv_forward_lanes(&sc, y2, blocked ? xb : x, bias, r, relu, n, ws_aligned);
        free(ws);
        assert_memory_equal(y1, y2, ny * sizeof *y1);
    }
    dpf_sparse_conv_free(&sc);
    free(x), free(wt), free(b), free(res), free(yr), free(y1), free(y2), free(xb), free(rb);
}

static const double densities[] = {0, 0.01, 0.1, 0.5, 1};

static void test_sparse_conv_vs_ref(void **state)
{
    (void)state;
    for (size_t d = 0; d < sizeof densities / sizeof densities[0]; d++) {
        const double p = densities[d];
        conv_case(2, 16, 8, 8, 16, 3, 1, 1, p, 0);    /* ResNet-20's stage 1, small */
        conv_case(3, 16, 9, 7, 32, 3, 2, 1, p, 0);    /* stride 2, odd and non-square */
        conv_case(1, 32, 8, 8, 64, 1, 2, 0, p, 0);    /* 1x1 stride 2 projection, batch 1 */
        conv_case(1, 3, 28, 28, 6, 5, 1, 0, p, 0);    /* LeNet-5's first, no padding */
        conv_case(5, 6, 14, 14, 16, 5, 1, 0, p, 0);   /* LeNet-5's second */
        conv_case(2, 5, 6, 6, 7, 3, 1, 2, p, 0);      /* pad 2, odd channels */
        conv_case(4, 24, 16, 16, 40, 3, 1, 1, p, 0x5); /* empty filters 0 and 2 */
        conv_case(1, 64, 4, 4, 64, 3, 1, 1, p, 0);    /* small plane, many channels */
        conv_case(3, 8, 11, 5, 12, 3, 2, 0, p, 0);    /* stride 2 without padding */
        conv_case(1, 16, 18, 21, 16, 3, 1, 1, p, 0);  /* rows past 16 pixels, batch 1 */
        conv_case(3, 32, 9, 34, 16, 3, 2, 1, p, 0);   /* the same with stride 2, 3 images */
        conv_case(33, 16, 7, 9, 32, 3, 1, 1, p, 0);   /* batches: groups of 16 and one image */
        conv_case(40, 24, 6, 5, 16, 3, 2, 1, p, 0x2); /* NHWC in, stride 2, a partial group */
        conv_case(32, 48, 4, 4, 24, 1, 2, 0, p, 0);   /* 1x1 stride 2, two whole groups */
    }
    conv_case(2, 16, 8, 8, 16, 3, 1, 1, 0.5, 0xffffffffu); /* every filter empty: bias only */
}

/* A training layer (dpf_conv, the float build's blocked layout) under the sparse policy: the
 * forward and backward-data passes run sparse kernels (backward-data as the forward
 * convolution of dy with the weights transposed and flipped, stride 1 only), the weight and
 * bias gradients oneDNN's; all three against the reference. */
static void training_case(int n, int c, int h, int w, int k, int ks, int stride, int pad,
                          double density, uint32_t empty)
{
    dpf_conv_shape s = {n, c, h, w, k, ks, ks, stride, pad, 0, 0, 0};
    assert_int_equal(dpf_conv_shape_finish(&s), 0);
    const size_t nx = (size_t)n * c * h * w, nw = (size_t)k * c * ks * ks;
    const int hw = h * w, ohw = s.oh * s.ow;
    const size_t ny = (size_t)n * k * ohw;
    float *x = rand_fvec(nx), *wt = rand_fvec(nw), *b = rand_fvec((size_t)k), *dy = rand_fvec(ny);
    sparsify(wt, nw, (size_t)c * ks * ks, density, empty);
    float *yr = fvec(ny), *dxr = fvec(nx), *dwr = fvec(nw), *dbr = fvec((size_t)k);
    float *rws = fvec(dpf_ref_conv2d_workspace(&s) + 1);
    dpf_ref_conv2d_forward(yr, x, wt, b, &s, rws);
    dpf_ref_conv2d_backward(dxr, dwr, dbr, dy, x, wt, &s, rws);
    float *xb = to_blocks(x, n, c, hw, block_of(c)), *dyb = to_blocks(dy, n, k, ohw, block_of(k));
    float *yrb = to_blocks(yr, n, k, ohw, block_of(k)), *dxrb = to_blocks(dxr, n, c, hw, block_of(c));
    dpf_kctx *ctx;
    assert_int_equal(dpf_kctx_create(&ctx, 1), DPF_OK);
    dpf_conv *cv;
    const dpf_conv_opts o = {.bias = 1, .training = 1, .policy = DPF_KERNELS_SPARSE};
    assert_int_equal(dpf_k_conv2d_create(&cv, ctx, &s, &o), DPF_OK);
    dpf_k_conv2d_set_weights(cv, wt);
    float *ws = fvec(dpf_k_conv2d_workspace(cv) + 16);
    float *y = fvec(ny), *dx = fvec(nx), *dw = fvec(nw), *db = fvec((size_t)k);
    dpf_k_conv2d_forward(cv, y, xb, b, NULL, n, ws);
    dpf_k_conv2d_backward(cv, dx, dw, db, dyb, xb, n, ws);
    assert_int_equal(dpf_k_conv2d_kind(cv, n), DPF_WEIGHTS_SPARSE);
    assert_int_equal(dpf_k_conv2d_bwd_kind(cv, n),
                     stride == 1 ? DPF_WEIGHTS_SPARSE : DPF_WEIGHTS_DNNL);
    expect_close("sparse training forward", y, yrb, ny);
    expect_close("sparse backward-data", dx, dxrb, nx);
    expect_close("weight gradient beside sparse passes", dw, dwr, nw);
    expect_close("bias gradient beside sparse passes", db, dbr, (size_t)k);
    /* the weight gradient at a mask's positions only (another mask than the weights' zeros,
     * of the same density): the reference's there, nothing added elsewhere */
    uint8_t *mask = calloc(nw, 1);
    assert_non_null(mask);
    for (size_t i = 0; i < nw; i++) {
        mask[i] = dpf_rng_uniform(&rng) < density;
        dwr[i] = mask[i] ? dwr[i] : 0.0f;
    }
    dpf_k_conv2d_set_grad_mask(cv, mask);
    memset(dw, 0, nw * sizeof *dw);
    memset(db, 0, (size_t)k * sizeof *db);
    dpf_k_conv2d_backward(cv, NULL, dw, db, dyb, xb, n, ws);
    assert_int_equal(dpf_k_conv2d_wgrad_kind(cv, n), DPF_WEIGHTS_SPARSE);
    for (size_t i = 0; i < nw; i++)
        if (!mask[i] && dw[i] != 0)
            fail_msg("masked weight gradient: %g added at an unmasked position %zu", dw[i], i);
    expect_close("masked weight gradient", dw, dwr, nw);
    expect_close("bias gradient beside the masked weight gradient", db, dbr, (size_t)k);
    free(mask);
    dpf_k_conv2d_free(cv);
    dpf_kctx_free(ctx);
    free(x), free(wt), free(b), free(dy), free(yr), free(dxr), free(dwr), free(dbr), free(rws);
    free(xb), free(dyb), free(yrb), free(dxrb), free(ws), free(y), free(dx), free(dw), free(db);
}

static void test_sparse_training_passes(void **state)
{
    (void)state;
    for (size_t d = 0; d < sizeof densities / sizeof densities[0]; d++) {
        const double p = densities[d];
        training_case(4, 16, 8, 8, 16, 3, 1, 1, p, 0);    /* ResNet-20's stage 1, small */
        training_case(3, 16, 9, 7, 32, 3, 2, 1, p, 0);    /* stride 2: backward-data dense */
        training_case(2, 32, 8, 8, 64, 1, 2, 0, p, 0);    /* 1x1 stride 2 projection */
        training_case(5, 6, 14, 14, 16, 5, 1, 0, p, 0);   /* LeNet-5's second, no padding */
        training_case(2, 5, 6, 6, 7, 3, 1, 2, p, 0);      /* pad 2, odd channels */
        training_case(1, 24, 16, 16, 40, 3, 1, 1, p, 0x5); /* batch 1, empty filters 0 and 2 */
        training_case(3, 64, 4, 4, 32, 3, 1, 1, p, 0);    /* fewer outputs than inputs */
        training_case(36, 16, 6, 6, 32, 3, 1, 1, p, 0);   /* a batch: the lanes variant */
    }
    training_case(2, 16, 8, 8, 16, 3, 1, 1, 0.5, 0xffffffffu); /* every filter empty */
}

static void linear_case(int n, int in, int out, double density)
{
    const size_t nx = (size_t)n * in, nw = (size_t)out * in, ny = (size_t)n * out;
    float *x = rand_fvec(nx), *w = rand_fvec(nw), *b = rand_fvec((size_t)out);
    float *yr = fvec(ny), *y1 = fvec(ny), *y2 = fvec(ny);
    sparsify(w, nw, (size_t)in, density, 0);
    dpf_sparse_linear sl;
    memset(&sl, 0, sizeof sl);
    assert_int_equal(dpf_sparse_linear_prepare(&sl, in, out, w), DPF_OK);
    for (int relu = 0; relu < 2; relu++) {
        dpf_ref_linear_forward(yr, x, w, relu ? NULL : b, n, in, out);
        if (relu)
            for (size_t i = 0; i < ny; i++)
                yr[i] = yr[i] < 0 ? 0.0f : yr[i];
        for (int t = 1; t <= 2; t++) {
            const int saved = omp_get_max_threads();
            omp_set_num_threads(t);
            float *ws = malloc((dpf_sparse_linear_workspace(&sl, n) + 1) * sizeof *ws);
            dpf_sparse_linear_forward(&sl, t == 1 ? y1 : y2, x, relu ? NULL : b, relu, n, ws);
            free(ws);
            omp_set_num_threads(saved);
        }
        expect_close("sparse linear forward", y1, yr, ny);
        assert_memory_equal(y1, y2, ny * sizeof *y1);
    }
    dpf_sparse_linear_free(&sl);
    free(x), free(w), free(b), free(yr), free(y1), free(y2);
}

static void test_sparse_linear_vs_ref(void **state)
{
    (void)state;
    for (size_t d = 0; d < sizeof densities / sizeof densities[0]; d++) {
        const double p = densities[d];
        linear_case(1, 400, 120, p);  /* LeNet-5's fc1, batch 1 (gathers) */
        linear_case(5, 37, 11, p);    /* odd sizes, a few images */
        linear_case(16, 256, 120, p); /* one whole group of images */
        linear_case(37, 300, 100, p); /* a partial group */
    }
}

int main(void)
{
    dpf_rng_seed(&rng, 42);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sparse_conv_vs_ref),
        cmocka_unit_test(test_sparse_linear_vs_ref),
        cmocka_unit_test(test_sparse_training_passes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
