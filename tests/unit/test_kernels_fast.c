/* test_kernels_fast.c — the float32 fast kernels (oneDNN convolutions, direct and Winograd, and
 * sgemm; batch norm / pooling / layout kernels on the blocked channels-last activation layout)
 * against the NCHW reference kernels on awkward shapes: stride 2, padding, 1x1 / 3x3 / 5x5,
 * channel counts that are and are not multiples of 16 (blocked, NHWC and the mixed pairs), the
 * net's NCHW input, batch 1, odd and non-square spatial sizes, one thread and two. Fast results
 * are turned back into NCHW (by the test's own index formula) before they are compared. Also the
 * float build of the ref BN and loss against double arithmetic written in the test.
 *
 * Comparison: ||fast - ref|| / ||ref - prefill|| <= 1e-5. Parameter-gradient buffers start from
 * the same random prefill (accumulation, +=, is checked too); input-gradient buffers start as
 * NaN (they must be overwritten). Each comparison also shows it can fail: the same measure with
 * one element moved by 1e-3 of the norm must exceed the tolerance. */
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
#include "kernels/fast/fast.h"
#include "kernels/kernels.h"

#define TOL 1e-5

static dpf_rng rng;
static dpf_kctx *kctx; /* the context the convolutions run in (use_winograd) */

/* A fresh context with Winograd policy mode (0 never, 1 where faster, 2 whatever the batch). */
static void use_winograd(int mode)
{
    dpf_kctx_free(kctx);
    assert_int_equal(dpf_kctx_create(&kctx, mode), DPF_OK);
}

/* A layer of shape s in the current context, for training, with weights w. */
static dpf_conv *conv_layer(const dpf_conv_shape *s, int bias, const float *w)
{
    dpf_conv *cv = NULL;
    if (!kctx)
        use_winograd(1);
    const dpf_conv_opts o = {.bias = bias, .training = 1};
    assert_int_equal(dpf_k_conv2d_create(&cv, kctx, s, &o), DPF_OK);
    dpf_k_conv2d_set_weights(cv, w);
    return cv;
}

/* 64-byte aligned, as the net's buffers are (oneDNN's kernels may require it) */
static float *fvec(size_t n)
{
    size_t bytes = ((n ? n : 1) * sizeof(float) + 63) & ~(size_t)63;
    float *p = aligned_alloc(64, bytes);
    assert_non_null(p);
    memset(p, 0, bytes);
    return p;
}

static float *rand_fvec(size_t n)
{
    float *p = fvec(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)(2.0 * dpf_rng_uniform(&rng) - 1.0);
    return p;
}

static float *copy_fvec(const float *src, size_t n)
{
    float *p = fvec(n);
    memcpy(p, src, n * sizeof *p);
    return p;
}

/* ||a - b|| / ||b - base|| (base may be NULL: zero) */
static double rel_err(const float *a, const float *b, const float *base, size_t n)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        double r = (double)b[i] - (base ? (double)base[i] : 0.0);
        num += d * d;
        den += r * r;
    }
    return sqrt(num) / sqrt(den);
}

static void expect_close(const char *what, const float *fast, const float *ref,
                         const float *base, size_t n)
{
    double norm = 0.0;
    size_t imax = 0;
    for (size_t i = 0; i < n; i++) {
        double r = (double)ref[i] - (base ? (double)base[i] : 0.0);
        norm += r * r;
        if (fabs(r) > fabs((double)ref[imax] - (base ? (double)base[imax] : 0.0)))
            imax = i;
    }
    norm = sqrt(norm);
    assert_true(norm > 1e-3); /* the reference result is not trivially zero */
    double e = rel_err(fast, ref, base, n);
    if (!(e <= TOL))
        print_error("%s: relative error %.3g\n", what, e);
    assert_true(e <= TOL);
    /* the measure catches a single wrong element */
    float *bad = copy_fvec(fast, n);
    bad[imax] += (float)(1e-3 * norm);
    assert_true(rel_err(bad, ref, base, n) > TOL);
    free(bad);
}

/* NCHW <-> activation-layout copies of (n, c, hw) tensors, for feeding / reading the fast
 * kernels: blocks of cb = 16 channels where c is a multiple of 16, else cb = c (kernels.h) */
static size_t act_at(int i, int j, int p, int c, int hw)
{
    const int cb = c % 16 == 0 ? 16 : c;
    return (((size_t)i * (c / cb) + (size_t)(j / cb)) * hw + p) * cb + (size_t)(j % cb);
}

static float *to_act(const float *x, int n, int c, int hw)
{
    float *y = fvec((size_t)n * c * hw);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < c; j++)
            for (int p = 0; p < hw; p++)
                y[act_at(i, j, p, c, hw)] = x[((size_t)i * c + j) * hw + p];
    return y;
}

static float *to_nchw(const float *x, int n, int c, int hw)
{
    float *y = fvec((size_t)n * c * hw);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < c; j++)
            for (int p = 0; p < hw; p++)
                y[((size_t)i * c + j) * hw + p] = x[act_at(i, j, p, c, hw)];
    return y;
}

static float *nan_fvec(size_t n)
{
    float *p = fvec(n);
    for (size_t i = 0; i < n; i++)
        p[i] = NAN;
    return p;
}

/* expect_close on a fast result in the activation layout against an NCHW reference */
static void expect_close_act(const char *what, const float *fast_act, const float *ref,
                             const float *base, int n, int c, int hw)
{
    float *f = to_nchw(fast_act, n, c, hw);
    expect_close(what, f, ref, base, (size_t)n * c * hw);
    free(f);
}

/* ---- conv2d ---- */

/* src_nchw: x in NCHW (the net's input) rather than the activation layout */
/* dx of a convolution: in the activation layout, or NCHW where x was read as NCHW */
static void expect_close_x(const char *what, const float *fast, const float *ref, int n, int c,
                           int hw, int src_nchw)
{
    if (src_nchw)
        expect_close(what, fast, ref, NULL, (size_t)n * c * hw);
    else
        expect_close_act(what, fast, ref, NULL, n, c, hw);
}

static void conv_case_x(int n, int c, int h, int w, int k, int kh, int kw, int stride, int pad,
                        int src_nchw)
{
    dpf_conv_shape s = {n, c, h, w, k, kh, kw, stride, pad, 0, 0, src_nchw};
    assert_int_equal(dpf_conv_shape_finish(&s), 0);
    const int hw = h * w, ohw = s.oh * s.ow;
    const size_t nx = (size_t)n * c * hw, nw = (size_t)k * c * kh * kw, ny = (size_t)n * k * ohw;
    float *x = rand_fvec(nx), *wt = rand_fvec(nw), *b = rand_fvec((size_t)k);
    float *dy = rand_fvec(ny), *dyl = to_act(dy, n, k, ohw);
    float *xl = src_nchw ? copy_fvec(x, nx) : to_act(x, n, c, hw);
    dpf_conv *cv = conv_layer(&s, 1, wt);
    float *ws = fvec(dpf_k_conv2d_workspace(cv)), *rws = fvec(dpf_ref_conv2d_workspace(&s));
    float *yf = fvec(ny), *yr = fvec(ny);
    /* forward, with and without bias; y starts as garbage (NaN) to prove it is overwritten */
    for (int bias = 0; bias < 2; bias++) {
        for (size_t i = 0; i < ny; i++)
            yf[i] = NAN;
        dpf_k_conv2d_forward(cv, yf, xl, bias ? b : NULL, NULL, n, ws);
        dpf_ref_conv2d_forward(yr, x, wt, bias ? b : NULL, &s, rws);
        expect_close_act("conv forward", yf, yr, NULL, n, k, ohw);
    }
    /* backward: all three at once; dw / db accumulate onto a prefill, dx is written */
    float *pw = rand_fvec(nw), *pb = rand_fvec((size_t)k);
    float *dxf = nan_fvec(nx), *dwf = copy_fvec(pw, nw), *dbf = copy_fvec(pb, (size_t)k);
    float *dxr = nan_fvec(nx), *dwr = copy_fvec(pw, nw), *dbr = copy_fvec(pb, (size_t)k);
    dpf_k_conv2d_backward(cv, dxf, dwf, dbf, dyl, xl, n, ws);
    dpf_ref_conv2d_backward(dxr, dwr, dbr, dy, x, wt, &s, rws);
    expect_close_x("conv backward data", dxf, dxr, n, c, hw, src_nchw);
    expect_close("conv backward weights", dwf, dwr, pw, nw);
    expect_close("conv backward bias", dbf, dbr, pb, (size_t)k);
    /* each one alone (the others NULL) */
    for (size_t i = 0; i < nx; i++)
        dxf[i] = NAN;
    dpf_k_conv2d_backward(cv, dxf, NULL, NULL, dyl, xl, n, ws);
    expect_close_x("conv backward data only", dxf, dxr, n, c, hw, src_nchw);
    memcpy(dwf, pw, nw * sizeof *dwf);
    dpf_k_conv2d_backward(cv, NULL, dwf, NULL, dyl, xl, n, ws);
    expect_close("conv backward weights only", dwf, dwr, pw, nw);
    memcpy(dbf, pb, (size_t)k * sizeof *dbf);
    dpf_k_conv2d_backward(cv, NULL, NULL, dbf, dyl, xl, n, ws);
    expect_close("conv backward bias only", dbf, dbr, pb, (size_t)k);
    dpf_k_conv2d_free(cv);
    free(x), free(wt), free(b), free(dy), free(xl), free(dyl), free(ws), free(rws), free(yf);
    free(yr), free(pw), free(pb), free(dxf), free(dwf), free(dbf), free(dxr), free(dwr), free(dbr);
}

static void conv_case(int n, int c, int h, int w, int k, int kh, int kw, int stride, int pad)
{
    conv_case_x(n, c, h, w, k, kh, kw, stride, pad, 0);
}

static void conv_shapes(void)
{
    conv_case(2, 3, 9, 9, 5, 3, 3, 1, 1);     /* 3x3 "same" */
    conv_case(1, 17, 13, 13, 5, 3, 3, 2, 1);  /* batch 1, stride 2 */
    conv_case(3, 5, 7, 7, 17, 5, 5, 1, 2);    /* 5x5 "same" */
    conv_case(2, 5, 9, 9, 3, 5, 5, 2, 0);     /* 5x5 stride 2, no padding */
    conv_case(2, 17, 7, 7, 5, 1, 1, 1, 0);    /* 1x1 */
    conv_case(3, 5, 9, 9, 17, 1, 1, 2, 0);    /* 1x1 stride 2 (shortcut) */
    conv_case(1, 3, 13, 13, 16, 3, 3, 1, 0);  /* stride 1 without padding */
    conv_case(2, 3, 7, 7, 4, 3, 3, 1, 2);     /* padding wider than half the kernel */
    conv_case(2, 3, 9, 7, 4, 5, 3, 1, 1);     /* non-square input and kernel */
    conv_case(4, 16, 8, 8, 32, 3, 3, 2, 1);   /* ResNet-like downsampling */
    conv_case(37, 3, 5, 5, 4, 3, 3, 1, 1);    /* many small images */
    conv_case(2, 16, 10, 10, 16, 3, 3, 1, 1); /* 16 channels: oneDNN's blocked JIT path */
    conv_case(2, 20, 12, 12, 50, 5, 5, 1, 0); /* LeNet-5's conv2 */
    conv_case(2, 3, 3, 3, 2, 3, 3, 1, 0);     /* output 1x1 */
    /* blocked (nChw16c) layouts, direct */
    conv_case(2, 32, 8, 8, 32, 3, 3, 1, 1);   /* 3x3, too few tiles for Winograd */
    conv_case(2, 32, 3, 3, 32, 3, 3, 1, 1);   /* output below one tile */
    conv_case(2, 32, 9, 9, 64, 3, 3, 2, 1);   /* stride 2 */
    conv_case(2, 16, 9, 9, 32, 1, 1, 2, 0);   /* 1x1 shortcut from 16 channels */
    conv_case(2, 64, 5, 5, 16, 1, 1, 1, 0);   /* 1x1 down to 16 channels */
    /* mixed pairs: one side blocked, the other NHWC (oneDNN's reference kernel) */
    conv_case(1, 5, 6, 6, 32, 3, 3, 1, 1);
    conv_case(1, 32, 6, 6, 6, 3, 3, 1, 1);
    /* the net's NCHW input: first-layer kernels writing blocked output */
    conv_case_x(2, 3, 9, 9, 16, 3, 3, 1, 1, 1);
    conv_case_x(3, 3, 11, 10, 64, 3, 3, 1, 1, 1);
    conv_case_x(1, 2, 8, 8, 32, 3, 3, 2, 1, 1);
}

static void test_conv_vs_ref(void **state)
{
    (void)state;
    conv_shapes();
}

/* Winograd F(4x4, 3x3): 3x3 stride-1 layers with 32+ channels and 128+ output tiles (all three
 * passes), or 16 channels and 1024+ tiles (backward-weights only). The shapes do run Winograd in
 * those passes (want: bits forward 1, backward-data 2, backward-weights 4), and with it switched
 * off the same shapes run direct. */
static void winograd_case(int n, int c, int h, int w, int k, int pad, int want)
{
    dpf_conv_shape s = {n, c, h, w, k, 3, 3, 1, pad, 0, 0, 0};
    assert_int_equal(dpf_conv_shape_finish(&s), 0);
    for (int bias = 0; bias < 2; bias++) {
        dpf_conv *cv = conv_layer(&s, bias, NULL);
        assert_int_equal(dpf_k_conv2d_is_winograd(cv, n), want);
        dpf_k_conv2d_free(cv);
    }
    conv_case(n, c, h, w, k, 3, 3, 1, pad);
}

static void test_conv_winograd_vs_ref(void **state)
{
    (void)state;
    for (int on = 1; on >= 0; on--) {
        use_winograd(on);
        winograd_case(8, 32, 16, 16, 32, 1, on * 7); /* whole 4x4 tiles */
        winograd_case(32, 48, 7, 9, 32, 1, on * 7);  /* partial tiles, 48 channels */
        winograd_case(16, 32, 14, 14, 64, 0, on * 7); /* no padding */
        winograd_case(64, 16, 15, 16, 16, 1, on * 4); /* 16 channels: backward-weights */
        winograd_case(64, 16, 16, 16, 32, 1, on * 4); /* 16 -> 32 */
    }
    use_winograd(1);
    winograd_case(63, 16, 16, 16, 16, 1, 0); /* 16 channels, 1008 tiles: direct */
    dpf_conv_shape one = {1, 64, 8, 8, 64, 3, 3, 1, 1, 0, 0, 0}; /* batch 1: direct */
    assert_int_equal(dpf_conv_shape_finish(&one), 0);
    dpf_conv *cv = conv_layer(&one, 0, NULL);
    assert_int_equal(dpf_k_conv2d_is_winograd(cv, 1), 0);
    dpf_k_conv2d_free(cv);
}

/* Two contexts with different policies side by side: each layer runs its own context's. */
static void test_conv_contexts_side_by_side(void **state)
{
    (void)state;
    dpf_kctx *direct = NULL, *wino = NULL;
    assert_int_equal(dpf_kctx_create(&direct, 0), DPF_OK);
    assert_int_equal(dpf_kctx_create(&wino, 1), DPF_OK);
    dpf_conv_shape s = {8, 32, 16, 16, 32, 3, 3, 1, 1, 0, 0, 0};
    assert_int_equal(dpf_conv_shape_finish(&s), 0);
    dpf_conv *a = NULL, *b = NULL;
    const dpf_conv_opts o = {.training = 1};
    assert_int_equal(dpf_k_conv2d_create(&a, direct, &s, &o), DPF_OK);
    assert_int_equal(dpf_k_conv2d_create(&b, wino, &s, &o), DPF_OK);
    assert_int_equal(dpf_k_conv2d_is_winograd(a, 8), 0);
    assert_int_equal(dpf_k_conv2d_is_winograd(b, 8), 7);
    assert_int_equal(dpf_k_conv2d_is_winograd(a, 8), 0); /* unchanged by the other's use */
    dpf_k_conv2d_free(a), dpf_k_conv2d_free(b);
    dpf_kctx_free(direct), dpf_kctx_free(wino);
}

/* Prepared weights: packed once per layout and weight update however many passes read them,
 * packed again after dpf_k_conv2d_set_weights; a forward-only layer refuses backward (NaN,
 * error recorded) and needs no workspace. */
static void test_conv_prepared_weights(void **state)
{
    (void)state;
    use_winograd(0);
    dpf_conv_shape s = {4, 32, 8, 8, 32, 3, 3, 1, 1, 0, 0, 0};
    assert_int_equal(dpf_conv_shape_finish(&s), 0);
    const size_t nx = (size_t)4 * 32 * 64, nw = (size_t)32 * 32 * 9;
    float *x = rand_fvec(nx), *wt = rand_fvec(nw), *y1 = fvec(nx), *y2 = fvec(nx), *dx = fvec(nx);
    dpf_conv *cv = conv_layer(&s, 0, wt);
    float *ws = fvec(dpf_k_conv2d_workspace(cv));
    const int64_t p0 = dpf_k_conv2d_packs(cv);
    for (int i = 0; i < 3; i++)
        dpf_k_conv2d_forward(cv, y1, x, NULL, NULL, 4, ws);
    const int64_t p_fwd = dpf_k_conv2d_packs(cv) - p0;
    assert_int_equal(p_fwd, 1); /* blocked kernels: OIHW is reordered once */
    dpf_k_conv2d_backward(cv, dx, NULL, NULL, y1, x, 4, ws);
    dpf_k_conv2d_backward(cv, dx, NULL, NULL, y1, x, 4, ws);
    assert_true(dpf_k_conv2d_packs(cv) - p0 <= 2); /* forward's and backward-data's layouts */
    for (size_t i = 0; i < nw; i++)
        wt[i] *= 2;
    dpf_k_conv2d_forward(cv, y2, x, NULL, NULL, 4, ws); /* not told: the packed weights run */
    assert_memory_equal(y1, y2, nx * sizeof *y1);
    dpf_k_conv2d_set_weights(cv, wt);
    dpf_k_conv2d_forward(cv, y2, x, NULL, NULL, 4, ws);
    assert_int_equal(dpf_k_conv2d_packs(cv) - p0 > p_fwd, p_fwd > 0);
    for (size_t i = 0; i < nx; i++)
        assert_true(fabsf(y2[i] - 2 * y1[i]) <= 1e-4f * (1 + fabsf(y2[i])));
    dpf_k_conv2d_free(cv);
    dpf_conv *inf = NULL;
    const dpf_conv_opts io = {.training = 0};
    assert_int_equal(dpf_k_conv2d_create(&inf, kctx, &s, &io), DPF_OK);
    assert_int_equal(dpf_k_conv2d_workspace(inf), 0);
    dpf_k_conv2d_set_weights(inf, wt);
    dpf_k_conv2d_forward(inf, y1, x, NULL, NULL, 4, NULL);
    assert_memory_equal(y1, y2, nx * sizeof *y1);
    dpf_k_conv2d_backward(inf, dx, NULL, NULL, y1, x, 4, NULL);
    assert_true(isnan(dx[0]));
    dpf_k_conv2d_free(inf);
    free(x), free(wt), free(y1), free(y2), free(dx), free(ws);
    use_winograd(1);
}

/* One thread: oneDNN and the OpenMP loops run serially. */
static void test_conv_vs_ref_one_thread(void **state)
{
    (void)state;
    const int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    conv_shapes();
    omp_set_num_threads(saved);
}

/* The fast conv really is the one behind dpf_k_* in the float build. */
static void test_dispatch_is_fast(void **state)
{
    (void)state;
    dpf_conv_shape s = {4, 16, 8, 8, 16, 3, 3, 1, 1, 0, 0, 0};
    assert_int_equal(dpf_conv_shape_finish(&s), 0);
    dpf_conv *cv = conv_layer(&s, 0, NULL);
    assert_int_equal(dpf_k_conv2d_kind(cv, 1), DPF_WEIGHTS_DNNL);
    assert_true(dpf_k_conv2d_workspace(cv) > 0);
    assert_true(dpf_k_conv2d_workspace(cv) * sizeof(float) <= ((size_t)64 << 20));
    dpf_k_conv2d_free(cv);
    /* ResNet-20 at batch 128 keeps within the 64 MB budget */
    dpf_conv_shape big = {128, 16, 32, 32, 16, 3, 3, 1, 1, 0, 0, 0};
    assert_int_equal(dpf_conv_shape_finish(&big), 0);
    cv = conv_layer(&big, 0, NULL);
    assert_true(dpf_k_conv2d_workspace(cv) * sizeof(float) <= ((size_t)64 << 20));
    dpf_k_conv2d_free(cv);
}

/* ---- gemm ---- */

static void gemm_case(int ta, int tb, int m, int n, int k, int pad, float alpha, float beta)
{
    /* stored A is (m, k) or (k, m) when transposed, with pad extra columns per row */
    const int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
    const size_t na = (size_t)(ta ? k : m) * lda, nb = (size_t)(tb ? n : k) * ldb;
    const size_t nc = (size_t)m * ldc;
    float *a = rand_fvec(na), *b = rand_fvec(nb), *c0 = rand_fvec(nc);
    float *cf = copy_fvec(c0, nc), *cr = copy_fvec(c0, nc);
    if (beta == 0.0f) /* beta = 0 must overwrite C, NaN included */
        for (size_t i = 0; i < nc; i++)
            cf[i] = cr[i] = NAN;
    dpf_k_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, cf, ldc);
    dpf_ref_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, cr, ldc);
    /* padding columns of C are never written; the m x n results are compared */
    float *mf = fvec((size_t)m * n), *mr = fvec((size_t)m * n);
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < ldc; j++) {
            size_t at = (size_t)i * ldc + j;
            if (j >= n) {
                assert_memory_equal(&cf[at], &cr[at], sizeof(float));
                continue;
            }
            mf[(size_t)i * n + j] = cf[at];
            mr[(size_t)i * n + j] = cr[at];
        }
    }
    expect_close("gemm", mf, mr, NULL, (size_t)m * n);
    free(a), free(b), free(c0), free(cf), free(cr), free(mf), free(mr);
}

static void test_gemm_vs_ref(void **state)
{
    (void)state;
    for (int ta = 0; ta < 2; ta++) {
        for (int tb = 0; tb < 2; tb++) {
            gemm_case(ta, tb, 17, 5, 13, 0, 1.0f, 0.0f);
            gemm_case(ta, tb, 17, 5, 13, 3, 0.7f, 0.3f);
            gemm_case(ta, tb, 1, 33, 7, 1, -1.5f, 1.0f);
            gemm_case(ta, tb, 64, 47, 129, 2, 1.0f, 0.0f);
            gemm_case(ta, tb, 3, 1, 1, 0, 2.0f, 0.5f);
        }
    }
}

static void test_gemm_degenerate(void **state)
{
    (void)state;
    /* k = 0: C = beta * C, and beta = 0 clears even NaN */
    float c[4] = {1, 2, NAN, 4}, a[1] = {5}, b[1] = {6};
    dpf_k_gemm(0, 0, 2, 2, 0, 1.0f, a, 1, b, 2, 0.5f, c, 2);
    assert_true(c[0] == 0.5f && c[1] == 1.0f && isnan(c[2]) && c[3] == 2.0f);
    dpf_k_gemm(0, 0, 2, 2, 0, 1.0f, a, 1, b, 2, 0.0f, c, 2);
    for (int i = 0; i < 4; i++)
        assert_true(c[i] == 0.0f);
    dpf_k_gemm(0, 0, 0, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c, 2); /* m = 0: nothing */
}

/* ---- linear ---- */

static void linear_case(int n, int in, int out)
{
    const size_t nx = (size_t)n * in, nw = (size_t)out * in, ny = (size_t)n * out;
    float *x = rand_fvec(nx), *w = rand_fvec(nw), *b = rand_fvec((size_t)out);
    float *dy = rand_fvec(ny), *yf = fvec(ny), *yr = fvec(ny);
    for (int bias = 0; bias < 2; bias++) {
        for (size_t i = 0; i < ny; i++)
            yf[i] = NAN;
        dpf_k_linear_forward(yf, x, w, bias ? b : NULL, n, in, out);
        dpf_ref_linear_forward(yr, x, w, bias ? b : NULL, n, in, out);
        expect_close("linear forward", yf, yr, NULL, ny);
    }
    float *px = rand_fvec(nx), *pw = rand_fvec(nw), *pb = rand_fvec((size_t)out);
    float *dxf = copy_fvec(px, nx), *dwf = copy_fvec(pw, nw), *dbf = copy_fvec(pb, (size_t)out);
    float *dxr = copy_fvec(px, nx), *dwr = copy_fvec(pw, nw), *dbr = copy_fvec(pb, (size_t)out);
    dpf_k_linear_backward(dxf, dwf, dbf, dy, x, w, n, in, out);
    dpf_ref_linear_backward(dxr, dwr, dbr, dy, x, w, n, in, out);
    expect_close("linear backward data", dxf, dxr, px, nx);
    expect_close("linear backward weights", dwf, dwr, pw, nw);
    expect_close("linear backward bias", dbf, dbr, pb, (size_t)out);
    memcpy(dwf, pw, nw * sizeof *dwf);
    dpf_k_linear_backward(NULL, dwf, NULL, dy, x, w, n, in, out);
    expect_close("linear backward weights only", dwf, dwr, pw, nw);
    free(x), free(w), free(b), free(dy), free(yf), free(yr), free(px), free(pw), free(pb);
    free(dxf), free(dwf), free(dbf), free(dxr), free(dwr), free(dbr);
}

static void test_linear_vs_ref(void **state)
{
    (void)state;
    linear_case(1, 17, 10);
    linear_case(3, 17, 10);
    linear_case(128, 64, 10); /* the ResNet-20 classifier */
    linear_case(5, 1, 3);
}

/* ---- the float32 build of the ref BN and loss against plain double-precision arithmetic ---- */

static void test_float_bn_and_loss(void **state)
{
    (void)state;
    enum { N = 4, C = 3, HW = 50, M = N * HW, T = N * C * HW };
    float *x = rand_fvec(T), *dy = rand_fvec(T), *g = rand_fvec(C), *b = rand_fvec(C);
    float *y = fvec(T), *dx = fvec(T), *yd = fvec(T), *dxd = fvec(T);
    float mean[C], invstd[C], rm[C] = {0}, rv[C] = {1, 1, 1}, dg[C] = {0}, db[C] = {0};
    for (int i = 0; i < T; i++)
        x[i] = 3.0f + 2.0f * x[i]; /* a mean far from 0 */
    dpf_ref_bn_forward_train(y, mean, invstd, rm, rv, x, NULL, g, b, N, C, HW, 0.1f, 1e-5f, 0);
    dpf_ref_bn_backward(dx, NULL, dg, db, dy, x, NULL, mean, invstd, g, N, C, HW);
    for (int c = 0; c < C; c++) {
        double mu = 0, var = 0, sdy = 0, sdyx = 0;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++)
                mu += x[(n * C + c) * HW + i];
        mu /= M;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++)
                var += pow(x[(n * C + c) * HW + i] - mu, 2);
        var /= M;
        const double is = 1.0 / sqrt(var + 1e-5);
        assert_true(fabs(rv[c] - (0.9 + 0.1 * var * M / (M - 1))) < 1e-5);
        assert_true(fabs(rm[c] - 0.1 * mu) < 1e-5);
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++) {
                const int at = (n * C + c) * HW + i;
                yd[at] = (float)((x[at] - mu) * is * g[c] + b[c]);
                sdy += dy[at];
                sdyx += dy[at] * (x[at] - mu) * is;
            }
        assert_true(fabs(db[c] - sdy) < 1e-4 && fabs(dg[c] - sdyx) < 1e-4);
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++) {
                const int at = (n * C + c) * HW + i;
                dxd[at] = (float)(g[c] * is * (dy[at] - sdy / M - (x[at] - mu) * is * sdyx / M));
            }
    }
    expect_close("float bn forward", y, yd, NULL, T);
    expect_close("float bn backward", dx, dxd, NULL, T);
    /* softmax cross-entropy in float: the loss is still computed in double */
    float logits[6] = {1, 2, 3, 100, 0, -100}, probs[6];
    int32_t labels[2] = {2, 1};
    const double want = ((log(exp(1.0) + exp(2.0) + exp(3.0)) - 3.0) + 100.0) / 2.0;
    assert_true(fabs(dpf_k_softmax_ce_forward(probs, logits, labels, 2, 3) - want) < 1e-6);
    free(x), free(dy), free(g), free(b), free(y), free(dx), free(yd), free(dxd);
}

/* ---- batch norm (fused ReLU or not), pooling, layout on the activation layout ---- */

/* residual: with a residual addition fused in (y = bn(x) + res [then the ReLU]) */
static void bn_case(int n, int c, int hw, int relu, int residual)
{
    const size_t t = (size_t)n * c * hw;
    float *x = rand_fvec(t), *dy = rand_fvec(t), *g = rand_fvec((size_t)c), *b = rand_fvec((size_t)c);
    float *res = residual ? rand_fvec(t) : NULL, *resl = residual ? to_act(res, n, c, hw) : NULL;
    float *dresf = residual ? nan_fvec(t) : NULL, *dresr = residual ? nan_fvec(t) : NULL;
    for (size_t i = 0; i < t; i++)
        x[i] = 3.0f + 2.0f * x[i] + (float)(i / (size_t)hw % (size_t)c); /* means far from 0 */
    g[0] = 1.0f; /* channel 0 stays positive through a ReLU: no reference is all zero by chance
                    (with 3 random gammas, one draw in eight zeroed every ReLU'd eval output) */
    float *xl = to_act(x, n, c, hw), *dyl = to_act(dy, n, c, hw);
    float *yf = nan_fvec(t), *yr = nan_fvec(t), *dxf = nan_fvec(t), *dxr = nan_fvec(t);
    float *mf = fvec((size_t)c), *sf = fvec((size_t)c), *mr = fvec((size_t)c), *sr = fvec((size_t)c);
    float *rmf = rand_fvec((size_t)c), *rvf = fvec((size_t)c), *dgf = rand_fvec((size_t)c);
    float *rmr = copy_fvec(rmf, (size_t)c), *dgr = copy_fvec(dgf, (size_t)c);
    float *dbf = rand_fvec((size_t)c), *dbr = copy_fvec(dbf, (size_t)c), *rvr = fvec((size_t)c);
    for (int j = 0; j < c; j++)
        rvf[j] = rvr[j] = 1.0f + (float)j;
    dpf_k_bn_forward_train(yf, mf, sf, rmf, rvf, xl, resl, g, b, n, c, hw, 0.1f, 1e-5f, relu);
    dpf_ref_bn_forward_train(yr, mr, sr, rmr, rvr, x, res, g, b, n, c, hw, 0.1f, 1e-5f, relu);
    expect_close_act("bn forward", yf, yr, NULL, n, c, hw);
    expect_close("bn mean", mf, mr, NULL, (size_t)c);
    expect_close("bn invstd", sf, sr, NULL, (size_t)c);
    expect_close("bn running mean", rmf, rmr, NULL, (size_t)c);
    expect_close("bn running var", rvf, rvr, NULL, (size_t)c);
    dpf_k_bn_backward(dxf, dresf, dgf, dbf, dyl, xl, relu ? yf : NULL, mf, sf, g, n, c, hw);
    dpf_ref_bn_backward(dxr, dresr, dgr, dbr, dy, x, relu ? yr : NULL, mr, sr, g, n, c, hw);
    expect_close_act("bn backward", dxf, dxr, NULL, n, c, hw);
    if (residual)
        expect_close_act("bn backward residual", dresf, dresr, NULL, n, c, hw);
    expect_close("bn dgamma", dgf, dgr, NULL, (size_t)c);
    expect_close("bn dbeta", dbf, dbr, NULL, (size_t)c);
    dpf_k_bn_forward_eval(yf, xl, resl, g, b, rmf, rvf, n, c, hw, 1e-5f, relu);
    dpf_ref_bn_forward_eval(yr, x, res, g, b, rmr, rvr, n, c, hw, 1e-5f, relu);
    expect_close_act("bn eval", yf, yr, NULL, n, c, hw);
    free(x), free(dy), free(g), free(b), free(xl), free(dyl), free(yf), free(yr), free(dxf);
    free(dxr), free(mf), free(sf), free(mr), free(sr), free(rmf), free(rvf), free(dgf), free(rmr);
    free(dgr), free(dbf), free(dbr), free(rvr), free(res), free(resl), free(dresf), free(dresr);
}

static void test_act_bn_vs_ref(void **state)
{
    (void)state;
    for (int mode = 0; mode < 4; mode++) { /* ReLU or not, residual or not */
        const int relu = mode & 1, res = mode >> 1;
        bn_case(4, 16, 64, relu, res);  /* ResNet-like */
        bn_case(1, 3, 5, relu, res);    /* batch 1, few rows: fewer rows than reduction pieces */
        bn_case(3, 17, 49, relu, res);  /* odd channel count and size */
        bn_case(2, 600, 4, relu, res);  /* more channels than one reduction chunk */
        bn_case(4, 32, 49, relu, res);  /* blocked layout: two channel blocks */
        bn_case(1, 48, 3, relu, res);   /* blocked, batch 1, fewer rows than pieces */
        bn_case(2, 1056, 4, relu, res); /* blocked, more than one chunk of blocks (66 blocks) */
    }
}

static void pool_case(int n, int c, int h, int w, int k, int st)
{
    const int oh = (h - k) / st + 1, ow = (w - k) / st + 1, hw = h * w, ohw = oh * ow;
    const size_t nx = (size_t)n * c * hw, ny = (size_t)n * c * ohw;
    float *x = rand_fvec(nx), *dy = rand_fvec(ny), *xl = to_act(x, n, c, hw);
    float *dyl = to_act(dy, n, c, ohw), *yf = nan_fvec(ny), *yr = nan_fvec(ny);
    float *dxf = nan_fvec(nx), *dxr = nan_fvec(nx);
    int32_t *af = calloc(ny, sizeof *af), *ar = calloc(ny, sizeof *ar);
    assert_true(af && ar);
    dpf_k_maxpool_forward(yf, af, xl, n, c, h, w, k, st, oh, ow);
    dpf_ref_maxpool_forward(yr, ar, x, n, c, h, w, k, st, oh, ow);
    expect_close_act("maxpool forward", yf, yr, NULL, n, c, ohw);
    dpf_k_maxpool_backward(dxf, dyl, af, n, c, h, w, oh, ow);
    dpf_ref_maxpool_backward(dxr, dy, ar, n, c, h, w, oh, ow);
    expect_close_act("maxpool backward", dxf, dxr, NULL, n, c, hw);
    float *gf = nan_fvec((size_t)n * c), *gr = nan_fvec((size_t)n * c);
    dpf_k_gap_forward(gf, xl, n, c, hw);
    dpf_ref_gap_forward(gr, x, n, c, hw);
    expect_close("gap forward", gf, gr, NULL, (size_t)n * c);
    for (size_t i = 0; i < nx; i++)
        dxf[i] = dxr[i] = NAN;
    dpf_k_gap_backward(dxf, dy, n, c, hw); /* dy (n, c): the same in both layouts */
    dpf_ref_gap_backward(dxr, dy, n, c, hw);
    expect_close_act("gap backward", dxf, dxr, NULL, n, c, hw);
    /* the layout kernels are exact inverses and agree with the test's own transposition */
    float *l = fvec(nx), *back = fvec(nx);
    dpf_k_act_from_nchw(l, x, n, c, hw);
    assert_memory_equal(l, xl, nx * sizeof *l);
    dpf_k_act_to_nchw(back, l, n, c, hw);
    assert_memory_equal(back, x, nx * sizeof *back);
    free(x), free(dy), free(xl), free(dyl), free(yf), free(yr), free(dxf), free(dxr), free(af);
    free(ar), free(gf), free(gr), free(l), free(back);
}

static void test_act_pool_vs_ref(void **state)
{
    (void)state;
    pool_case(2, 20, 24, 24, 2, 2); /* LeNet-5 */
    pool_case(1, 3, 7, 7, 2, 2);    /* floor mode: the last row / column is dropped */
    pool_case(2, 5, 7, 9, 3, 2);    /* overlapping windows */
    pool_case(2, 32, 8, 8, 2, 2);   /* blocked layout (VGG-like) */
    pool_case(1, 48, 7, 5, 3, 2);   /* blocked, overlapping, floor mode */
}

int main(void)
{
    dpf_rng_seed(&rng, 7);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_vs_ref),
        cmocka_unit_test(test_conv_vs_ref_one_thread),
        cmocka_unit_test(test_conv_winograd_vs_ref),
        cmocka_unit_test(test_conv_contexts_side_by_side),
        cmocka_unit_test(test_conv_prepared_weights),
        cmocka_unit_test(test_dispatch_is_fast),
        cmocka_unit_test(test_gemm_vs_ref),
        cmocka_unit_test(test_gemm_degenerate),
        cmocka_unit_test(test_linear_vs_ref),
        cmocka_unit_test(test_float_bn_and_loss),
        cmocka_unit_test(test_act_bn_vs_ref),
        cmocka_unit_test(test_act_pool_vs_ref),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
