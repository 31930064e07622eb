/* test_kernels_fast.c — the float32 fast kernels (im2col + oneDNN sgemm) against the reference
 * kernels on awkward shapes: stride 2, padding, 1x1 / 3x3 / 5x5, channel counts that are not a
 * multiple of 16, batch 1, odd and non-square spatial sizes, more images than workspace slots.
 * Also the float build of the ref kernels that are production code (BN, loss) against double
 * arithmetic written in the test.
 *
 * Comparison: ||fast - ref|| / ||ref - prefill|| <= 1e-5, where backward buffers start from the
 * same random prefill (so accumulation, +=, is checked too). Each comparison also shows it can
 * fail: the same measure with one element moved by 1e-3 of the norm must exceed the tolerance. */
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

/* ---- conv2d ---- */

static void conv_case(int n, int c, int h, int w, int k, int kh, int kw, int stride, int pad)
{
    dpf_conv_shape s = {n, c, h, w, k, kh, kw, stride, pad, 0, 0};
    assert_int_equal(dpf_conv_shape_finish(&s), 0);
    const size_t nx = (size_t)n * c * h * w, nw = (size_t)k * c * kh * kw;
    const size_t ny = (size_t)n * k * s.oh * s.ow;
    float *x = rand_fvec(nx), *wt = rand_fvec(nw), *b = rand_fvec((size_t)k);
    float *dy = rand_fvec(ny);
    float *ws = fvec(dpf_k_conv2d_workspace(&s)), *rws = fvec(dpf_ref_conv2d_workspace(&s));
    float *yf = fvec(ny), *yr = fvec(ny);
    /* forward, with and without bias; y starts as garbage (NaN) to prove it is overwritten */
    for (int bias = 0; bias < 2; bias++) {
        for (size_t i = 0; i < ny; i++)
            yf[i] = NAN;
        dpf_k_conv2d_forward(yf, x, wt, bias ? b : NULL, &s, ws);
        dpf_ref_conv2d_forward(yr, x, wt, bias ? b : NULL, &s, rws);
        expect_close("conv forward", yf, yr, NULL, ny);
    }
    /* backward: all three at once, into pre-filled buffers */
    float *px = rand_fvec(nx), *pw = rand_fvec(nw), *pb = rand_fvec((size_t)k);
    float *dxf = copy_fvec(px, nx), *dwf = copy_fvec(pw, nw), *dbf = copy_fvec(pb, (size_t)k);
    float *dxr = copy_fvec(px, nx), *dwr = copy_fvec(pw, nw), *dbr = copy_fvec(pb, (size_t)k);
    dpf_k_conv2d_backward(dxf, dwf, dbf, dy, x, wt, &s, ws);
    dpf_ref_conv2d_backward(dxr, dwr, dbr, dy, x, wt, &s, rws);
    expect_close("conv backward data", dxf, dxr, px, nx);
    expect_close("conv backward weights", dwf, dwr, pw, nw);
    expect_close("conv backward bias", dbf, dbr, pb, (size_t)k);
    /* each one alone (the others NULL) */
    memcpy(dxf, px, nx * sizeof *dxf);
    dpf_k_conv2d_backward(dxf, NULL, NULL, dy, x, wt, &s, ws);
    expect_close("conv backward data only", dxf, dxr, px, nx);
    memcpy(dwf, pw, nw * sizeof *dwf);
    dpf_k_conv2d_backward(NULL, dwf, NULL, dy, x, wt, &s, ws);
    expect_close("conv backward weights only", dwf, dwr, pw, nw);
    memcpy(dbf, pb, (size_t)k * sizeof *dbf);
    dpf_k_conv2d_backward(NULL, NULL, dbf, dy, x, wt, &s, ws);
    expect_close("conv backward bias only", dbf, dbr, pb, (size_t)k);
    free(x), free(wt), free(b), free(dy), free(ws), free(rws), free(yf), free(yr);
    free(px), free(pw), free(pb), free(dxf), free(dwf), free(dbf), free(dxr), free(dwr), free(dbr);
}

static void conv_shapes(void)
{
    conv_case(2, 3, 9, 9, 5, 3, 3, 1, 1);     /* 3x3 "same": the shifted-copy im2col */
    conv_case(1, 17, 13, 13, 5, 3, 3, 2, 1);  /* batch 1, stride 2 */
    conv_case(3, 5, 7, 7, 17, 5, 5, 1, 2);    /* 5x5 "same" */
    conv_case(2, 5, 9, 9, 3, 5, 5, 2, 0);     /* 5x5 stride 2, no padding */
    conv_case(2, 17, 7, 7, 5, 1, 1, 1, 0);    /* 1x1: no im2col */
    conv_case(3, 5, 9, 9, 17, 1, 1, 2, 0);    /* 1x1 stride 2 (shortcut) */
    conv_case(1, 3, 13, 13, 16, 3, 3, 1, 0);  /* stride 1 without padding */
    conv_case(2, 3, 7, 7, 4, 3, 3, 1, 2);     /* padding wider than half the kernel */
    conv_case(2, 3, 9, 7, 4, 5, 3, 1, 1);     /* non-square input and kernel */
    conv_case(4, 16, 8, 8, 32, 3, 3, 2, 1);   /* ResNet-like downsampling */
    conv_case(37, 3, 5, 5, 4, 3, 3, 1, 1);    /* more images than workspace slots */
    conv_case(2, 3, 3, 3, 2, 3, 3, 1, 0);     /* output 1x1 */
}

static void test_conv_vs_ref(void **state)
{
    (void)state;
    conv_shapes();
}

/* One thread: the serial path, where oneDNN threads each gemm itself. */
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
    dpf_conv_shape s = {4, 16, 8, 8, 16, 3, 3, 1, 1, 0, 0};
    assert_int_equal(dpf_conv_shape_finish(&s), 0);
    assert_int_equal(dpf_k_conv2d_workspace(&s), dpf_fast_conv2d_workspace(&s));
    assert_true(dpf_k_conv2d_workspace(&s) > 0);
    assert_true(dpf_k_conv2d_workspace(&s) * sizeof(float) <= ((size_t)64 << 20));
    /* ResNet-20 at batch 128 keeps within the 64 MB budget */
    dpf_conv_shape big = {128, 16, 32, 32, 16, 3, 3, 1, 1, 0, 0};
    assert_int_equal(dpf_conv_shape_finish(&big), 0);
    assert_true(dpf_k_conv2d_workspace(&big) * sizeof(float) <= ((size_t)64 << 20));
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

/* ---- the float32 build of the ref kernels that are production code (BN, loss) ----
 * against a plain double-precision computation written here. */

static void test_float_bn_and_loss(void **state)
{
    (void)state;
    enum { N = 4, C = 3, HW = 50, M = N * HW, T = N * C * HW };
    float *x = rand_fvec(T), *dy = rand_fvec(T), *g = rand_fvec(C), *b = rand_fvec(C);
    float *y = fvec(T), *dx = fvec(T), *yd = fvec(T), *dxd = fvec(T);
    float mean[C], invstd[C], rm[C] = {0}, rv[C] = {1, 1, 1}, dg[C] = {0}, db[C] = {0};
    for (int i = 0; i < T; i++)
        x[i] = 3.0f + 2.0f * x[i]; /* a mean far from 0 */
    dpf_k_bn_forward_train(y, mean, invstd, rm, rv, x, g, b, N, C, HW, 0.1f, 1e-5f);
    dpf_k_bn_backward(dx, dg, db, dy, x, mean, invstd, g, N, C, HW);
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

int main(void)
{
    dpf_rng_seed(&rng, 7);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_vs_ref),
        cmocka_unit_test(test_conv_vs_ref_one_thread),
        cmocka_unit_test(test_dispatch_is_fast),
        cmocka_unit_test(test_gemm_vs_ref),
        cmocka_unit_test(test_gemm_degenerate),
        cmocka_unit_test(test_linear_vs_ref),
        cmocka_unit_test(test_float_bn_and_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
