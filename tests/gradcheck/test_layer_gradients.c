/* test_layer_gradients.c — float64 finite-difference checks of every layer kernel's backward
 * (w.r.t. inputs and parameters), plus forward values on tiny hand-computed cases.
 *
 * Method: L = sum(y * r) for a random r, so the analytic gradient is backward(dy = r). The
 * numerical gradient is the central difference sum((y(θ+e) - y(θ-e)) * r) / 2e, with the
 * outputs subtracted before summing (unchanged outputs cancel exactly). Analytic gradients are
 * accumulated into buffers pre-filled with random values, which are then subtracted: a kernel
 * that overwrote instead of adding (+=) fails. Every comparison also proves it can fail: the
 * same comparison with one analytic element perturbed by 1e-4 must exceed the tolerance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpf/rng.h"
#include "kernels/kernels.h"

_Static_assert(sizeof(dpf_real) == sizeof(double), "gradcheck must build against dpf_f64");

#define FD_EPS 1e-6
#define GRAD_TOL 1e-6
#define GRAD_FLOOR 1e-2 /* errors are scaled by max(|a|, |n|, GRAD_FLOOR); FD noise is ~1e-9 */

static dpf_rng rng;

/* cmocka's assert_float_equal compares in float: this one compares doubles. */
#define assert_close(a, b, tol) close_or_fail((double)(a), (double)(b), (tol), __FILE__, __LINE__)
static void close_or_fail(double a, double b, double tol, const char *file, int line)
{
    if (!(fabs(a - b) <= tol)) {
        print_error("%.17g != %.17g (tolerance %g)\n", a, b, tol);
        _fail(file, line);
    }
}

static double *vec(size_t n)
{
    double *p = calloc(n ? n : 1, sizeof *p);
    assert_non_null(p);
    return p;
}

static double *rand_vec(size_t n, double scale)
{
    double *p = vec(n);
    for (size_t i = 0; i < n; i++)
        p[i] = scale * (2.0 * dpf_rng_uniform(&rng) - 1.0);
    return p;
}

/* ---- the generic finite-difference machinery ---- */

typedef void (*fwd_fn)(void *ctx, double *y); /* y = layer(current inputs in ctx) */

/* Numerical dL/dθ for every element of param (which ctx's forward reads). */
static void numeric_grad(double *num, void *ctx, fwd_fn f, size_t ny, const double *r,
                         double *param, size_t np)
{
    double *yp = vec(ny), *ym = vec(ny);
    for (size_t j = 0; j < np; j++) {
        const double save = param[j];
        param[j] = save + FD_EPS;
        f(ctx, yp);
        param[j] = save - FD_EPS;
        f(ctx, ym);
        param[j] = save;
        double acc = 0.0;
        for (size_t i = 0; i < ny; i++)
            acc += (yp[i] - ym[i]) * r[i];
        num[j] = acc / (2.0 * FD_EPS);
    }
    free(yp);
    free(ym);
}

static double max_rel_err(const double *a, const double *n, size_t count)
{
    double worst = 0.0;
    for (size_t i = 0; i < count; i++) {
        double scale = fmax(fmax(fabs(a[i]), fabs(n[i])), GRAD_FLOOR);
        double e = fabs(a[i] - n[i]) / scale;
        if (!(e <= worst)) /* NaN counts as worst */
            worst = isnan(e) ? INFINITY : e;
    }
    return worst;
}

/* analytic = acc - prefill; compare with numeric, and show the comparison can fail. */
static void check_grad(const char *what, const double *acc, const double *prefill,
                       const double *num, size_t count)
{
    double *a = vec(count);
    double amax = 0.0;
    size_t imax = 0;
    for (size_t i = 0; i < count; i++) {
        a[i] = acc[i] - prefill[i];
        if (fabs(a[i]) > amax) {
            amax = fabs(a[i]);
            imax = i;
        }
    }
    double err = max_rel_err(a, num, count);
    if (err > GRAD_TOL || amax < 1e-3 || getenv("DPF_GRADCHECK_VERBOSE"))
        print_message("%s: max relative error %.3g, max |grad| %.3g\n", what, err, amax);
    assert_true(amax >= 1e-3); /* not a vacuous all-zero gradient */
    assert_true(err <= GRAD_TOL);
    a[imax] += 1e-4 * amax; /* a slightly wrong gradient must be caught */
    assert_true(max_rel_err(a, num, count) > GRAD_TOL);
    free(a);
}

/* Full check of one gradient: numeric vs the accumulated analytic buffer. */
static void grad_case(const char *what, void *ctx, fwd_fn f, size_t ny, const double *r,
                      double *param, size_t np, const double *acc, const double *prefill)
{
    double *num = vec(np);
    numeric_grad(num, ctx, f, ny, r, param, np);
    check_grad(what, acc, prefill, num, np);
    free(num);
}

/* ---- conv2d ---- */

typedef struct conv_ctx {
    dpf_conv_shape s;
    double *x, *w, *b, *ws;
    dpf_conv *cv;
} conv_ctx;

/* A layer of shape s (float64 build: the reference kernels) with weights w. */
static dpf_conv *conv_layer(const dpf_conv_shape *s, int bias, const double *w)
{
    dpf_kctx *ctx = NULL;
    dpf_conv *cv = NULL;
    assert_int_equal(dpf_kctx_create(&ctx, 1), DPF_OK);
    const dpf_conv_opts o = {.bias = bias, .training = 1};
    assert_int_equal(dpf_k_conv2d_create(&cv, ctx, s, &o), DPF_OK);
    assert_int_equal(dpf_k_conv2d_kind(cv, 1), DPF_WEIGHTS_PLAIN);
    dpf_kctx_free(ctx); /* the reference kernels keep nothing in it */
    dpf_k_conv2d_set_weights(cv, w);
    return cv;
}

static void conv_fwd(void *p, double *y)
{
    conv_ctx *c = p;
    dpf_k_conv2d_set_weights(c->cv, c->w); /* the weights changed (finite differences) */
    dpf_k_conv2d_forward(c->cv, y, c->x, c->b, NULL, c->s.n, c->ws);
}

static void conv_case(int n, int ch, int h, int w, int k, int ks, int stride, int pad, int bias)
{
    conv_ctx c = {{n, ch, h, w, k, ks, ks, stride, pad, 0, 0, 0}, NULL, NULL, NULL, NULL, NULL};
    assert_int_equal(dpf_conv_shape_finish(&c.s), 0);
    const size_t nx = (size_t)n * ch * h * w, nw = (size_t)k * ch * ks * ks;
    const size_t ny = (size_t)n * k * c.s.oh * c.s.ow;
    c.x = rand_vec(nx, 1.0);
    c.w = rand_vec(nw, 1.0);
    c.b = bias ? rand_vec((size_t)k, 1.0) : NULL;
    c.cv = conv_layer(&c.s, bias, c.w);
    c.ws = vec(dpf_k_conv2d_workspace(c.cv));
    double *r = rand_vec(ny, 1.0);
    double *px = rand_vec(nx, 1.0), *pw = rand_vec(nw, 1.0), *pb = rand_vec((size_t)k, 1.0);
    double *dx = vec(nx), *dw = vec(nw), *db = vec((size_t)k), *zero = vec(nx);
    memcpy(dx, px, nx * sizeof *dx);
    memcpy(dw, pw, nw * sizeof *dw);
    memcpy(db, pb, (size_t)k * sizeof *db);
    dpf_k_conv2d_backward(c.cv, dx, dw, bias ? db : NULL, r, c.x, n, c.ws);
    grad_case("conv dx", &c, conv_fwd, ny, r, c.x, nx, dx, zero); /* dx is written */
    grad_case("conv dw", &c, conv_fwd, ny, r, c.w, nw, dw, pw);
    if (bias)
        grad_case("conv db", &c, conv_fwd, ny, r, c.b, (size_t)k, db, pb);
    else /* db == NULL: the buffer is not touched */
        assert_memory_equal(db, pb, (size_t)k * sizeof *db);
    /* backward with only one of dx / dw requested gives the same values */
    double *dx2 = vec(nx), *dw2 = vec(nw);
    memcpy(dx2, px, nx * sizeof *dx2);
    memcpy(dw2, pw, nw * sizeof *dw2);
    dpf_k_conv2d_set_weights(c.cv, c.w);
    dpf_k_conv2d_backward(c.cv, dx2, NULL, NULL, r, c.x, n, c.ws);
    dpf_k_conv2d_backward(c.cv, NULL, dw2, NULL, r, c.x, n, c.ws);
    for (size_t i = 0; i < nx; i++)
        assert_close(dx2[i], dx[i], 1e-12);
    for (size_t i = 0; i < nw; i++)
        assert_close(dw2[i], dw[i], 1e-12);
    dpf_k_conv2d_free(c.cv);
    free(c.x), free(c.w), free(c.b), free(c.ws), free(r), free(px), free(pw), free(pb);
    free(dx), free(dw), free(db), free(dx2), free(dw2), free(zero);
}

static void test_conv_grad(void **state)
{
    (void)state;
    conv_case(2, 3, 7, 7, 4, 3, 1, 1, 1); /* 3x3 stride 1 pad 1, bias */
    conv_case(2, 3, 7, 7, 4, 3, 2, 1, 1); /* stride 2 pad 1 */
    conv_case(2, 3, 6, 6, 4, 3, 2, 1, 0); /* even size: partial windows */
    conv_case(2, 3, 7, 7, 4, 3, 1, 0, 0); /* pad 0, no bias */
    conv_case(1, 2, 9, 9, 3, 5, 2, 0, 1); /* 5x5 stride 2 */
    conv_case(2, 5, 5, 5, 3, 1, 1, 0, 1); /* 1x1 */
    conv_case(2, 4, 7, 7, 6, 1, 2, 0, 0); /* 1x1 stride 2 (downsampling shortcut) */
}

/* ---- batchnorm (training mode) ---- */

typedef struct bn_ctx {
    int n, c, hw, relu;
    double *x, *res, *gamma, *beta, *rm, *rv, *mean, *invstd;
} bn_ctx;

static void bn_fwd(void *p, double *y)
{
    bn_ctx *b = p;
    dpf_k_bn_forward_train(y, b->mean, b->invstd, b->rm, b->rv, b->x, b->res, b->gamma, b->beta,
                           b->n, b->c, b->hw, 0.1, 1e-5, b->relu);
}

/* relu: batch norm with the ReLU fused in (its backward takes the output for the mask);
 * residual: with a residual addition fused in before the ReLU (y = bn(x) + res) */
static void bn_case(int relu, int residual)
{
    bn_ctx b = {3, 4, 5, relu, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    const size_t nx = (size_t)b.n * b.c * b.hw, nc = (size_t)b.c;
    b.x = rand_vec(nx, 2.0);
    b.res = residual ? rand_vec(nx, 1.0) : NULL;
    for (size_t i = 0; i < nx; i++)
        b.x[i] += (double)(i / b.hw % b.c); /* channel means differ */
    b.gamma = rand_vec(nc, 1.0);
    b.beta = rand_vec(nc, 1.0);
    b.rm = vec(nc), b.rv = vec(nc), b.mean = vec(nc), b.invstd = vec(nc);
    double *y = vec(nx), *r = rand_vec(nx, 1.0);
    bn_fwd(&b, y);
    double *px = rand_vec(nx, 1.0), *pg = rand_vec(nc, 1.0), *pb = rand_vec(nc, 1.0);
    double *dx = vec(nx), *dg = vec(nc), *dbt = vec(nc), *zero = vec(nx);
    double *dres = residual ? rand_vec(nx, 1.0) : NULL; /* garbage: must be overwritten */
    memcpy(dx, px, nx * sizeof *dx);
    memcpy(dg, pg, nc * sizeof *dg);
    memcpy(dbt, pb, nc * sizeof *dbt);
    dpf_k_bn_backward(dx, dres, dg, dbt, r, b.x, relu ? y : NULL, b.mean, b.invstd, b.gamma, b.n,
                      b.c, b.hw);
    char name[64];
    const char *kind = residual ? (relu ? "bn+add+relu" : "bn+add") : (relu ? "bn+relu" : "bn");
    snprintf(name, sizeof name, "%s dx", kind);
    grad_case(name, &b, bn_fwd, nx, r, b.x, nx, dx, zero);
    snprintf(name, sizeof name, "%s dgamma", kind);
    grad_case(name, &b, bn_fwd, nx, r, b.gamma, nc, dg, pg);
    snprintf(name, sizeof name, "%s dbeta", kind);
    grad_case(name, &b, bn_fwd, nx, r, b.beta, nc, dbt, pb);
    if (residual) {
        snprintf(name, sizeof name, "%s dres", kind);
        grad_case(name, &b, bn_fwd, nx, r, b.res, nx, dres, zero);
    }
    if (relu) { /* the ReLU really acted: some outputs are 0, some positive */
        size_t zeros = 0;
        for (size_t i = 0; i < nx; i++)
            zeros += y[i] == 0.0;
        assert_true(zeros > 0 && zeros < nx);
    }
    free(b.x), free(b.res), free(dres), free(b.gamma), free(b.beta), free(b.rm), free(b.rv);
    free(b.mean), free(zero);
    free(b.invstd), free(y), free(r), free(px), free(pg), free(pb), free(dx), free(dg), free(dbt);
}

static void test_bn_grad(void **state)
{
    (void)state;
    bn_case(0, 0);
    bn_case(1, 0);
    bn_case(0, 1);
    bn_case(1, 1);
}

/* ---- relu, add, gap, maxpool ---- */

typedef struct pw_ctx {
    size_t count;
    int relu;
    int n, c, h, w, k, st, oh, ow;
    double *a, *b;
    int32_t *arg;
} pw_ctx;

static void relu_fwd(void *p, double *y)
{
    pw_ctx *c = p;
    dpf_k_relu_forward(y, c->a, c->count);
}

static void add_fwd(void *p, double *y)
{
    pw_ctx *c = p;
    dpf_k_add_forward(y, c->a, c->b, c->count, c->relu);
}

static void gap_fwd(void *p, double *y)
{
    pw_ctx *c = p;
    dpf_k_gap_forward(y, c->a, c->n, c->c, c->h * c->w);
}

static void pool_fwd(void *p, double *y)
{
    pw_ctx *c = p;
    dpf_k_maxpool_forward(y, c->arg, c->a, c->n, c->c, c->h, c->w, c->k, c->st, c->oh, c->ow);
}

static void test_relu_grad(void **state)
{
    (void)state;
    pw_ctx c = {.count = 60};
    c.a = rand_vec(c.count, 1.0);
    for (size_t i = 0; i < c.count; i++) /* stay away from the kink at 0 */
        c.a[i] += c.a[i] < 0 ? -0.05 : 0.05;
    double *y = vec(c.count), *r = rand_vec(c.count, 1.0), *p = rand_vec(c.count, 1.0);
    double *dx = vec(c.count), *zero = vec(c.count);
    relu_fwd(&c, y);
    memcpy(dx, p, c.count * sizeof *dx);
    dpf_k_relu_backward(dx, r, y, c.count);
    grad_case("relu dx", &c, relu_fwd, c.count, r, c.a, c.count, dx, zero);
    free(c.a), free(y), free(r), free(p), free(dx), free(zero);
}

/* relu: the residual add with the ReLU fused in */
static void add_case(int relu)
{
    pw_ctx c = {.count = 40, .relu = relu};
    c.a = rand_vec(c.count, 1.0);
    c.b = rand_vec(c.count, 1.0);
    for (size_t i = 0; i < c.count; i++) /* a + b stays away from the kink at 0 */
        if (fabs(c.a[i] + c.b[i]) < 0.05)
            c.a[i] += 0.1;
    double *r = rand_vec(c.count, 1.0), *pa = rand_vec(c.count, 1.0), *pb = rand_vec(c.count, 1.0);
    double *da = vec(c.count), *db = vec(c.count), *y = vec(c.count), *zero = vec(c.count);
    add_fwd(&c, y);
    memcpy(da, pa, c.count * sizeof *da);
    memcpy(db, pb, c.count * sizeof *db);
    dpf_k_add_backward(da, db, r, relu ? y : NULL, c.count);
    grad_case(relu ? "add+relu da" : "add da", &c, add_fwd, c.count, r, c.a, c.count, da, zero);
    grad_case(relu ? "add+relu db" : "add db", &c, add_fwd, c.count, r, c.b, c.count, db, zero);
    /* y = a + a: both gradients land in one buffer */
    memcpy(da, pa, c.count * sizeof *da);
    dpf_k_add_backward(da, da, r, relu ? y : NULL, c.count);
    for (size_t i = 0; i < c.count; i++)
        assert_close(da[i], relu && !(y[i] > 0) ? 0.0 : 2.0 * r[i], 1e-14);
    free(c.a), free(c.b), free(r), free(pa), free(pb), free(da), free(db), free(y), free(zero);
}

static void test_add_grad(void **state)
{
    (void)state;
    add_case(0);
    add_case(1);
}

static void test_gap_grad(void **state)
{
    (void)state;
    pw_ctx c = {.n = 2, .c = 3, .h = 5, .w = 5};
    const size_t nx = (size_t)c.n * c.c * c.h * c.w, ny = (size_t)c.n * c.c;
    c.a = rand_vec(nx, 1.0);
    double *r = rand_vec(ny, 1.0), *p = rand_vec(nx, 1.0), *dx = vec(nx), *zero = vec(nx);
    memcpy(dx, p, nx * sizeof *dx);
    dpf_k_gap_backward(dx, r, c.n, c.c, c.h * c.w);
    grad_case("gap dx", &c, gap_fwd, ny, r, c.a, nx, dx, zero);
    free(c.a), free(r), free(p), free(dx), free(zero);
}

static void pool_case(int k, int st)
{
    pw_ctx c = {.n = 2, .c = 3, .h = 7, .w = 7, .k = k, .st = st};
    c.oh = (c.h - k) / st + 1;
    c.ow = (c.w - k) / st + 1;
    const size_t nx = (size_t)c.n * c.c * c.h * c.w, ny = (size_t)c.n * c.c * c.oh * c.ow;
    /* distinct values at least 1/nx apart (far more than FD_EPS): no ties in any window */
    c.a = vec(nx);
    for (size_t i = 0; i < nx; i++)
        c.a[i] = (double)i / (double)nx;
    for (size_t i = nx - 1; i > 0; i--) {
        size_t j = dpf_rng_below(&rng, (uint32_t)(i + 1));
        double t = c.a[i];
        c.a[i] = c.a[j];
        c.a[j] = t;
    }
    c.arg = calloc(ny, sizeof *c.arg);
    assert_non_null(c.arg);
    double *y = vec(ny), *r = rand_vec(ny, 1.0), *p = rand_vec(nx, 1.0), *dx = vec(nx);
    double *zero = vec(nx);
    pool_fwd(&c, y);
    memcpy(dx, p, nx * sizeof *dx);
    dpf_k_maxpool_backward(dx, r, c.arg, c.n, c.c, c.h, c.w, c.oh, c.ow);
    grad_case("maxpool dx", &c, pool_fwd, ny, r, c.a, nx, dx, zero);
    free(c.a), free(c.arg), free(y), free(r), free(p), free(dx), free(zero);
}

static void test_maxpool_grad(void **state)
{
    (void)state;
    pool_case(2, 2); /* floor mode: the last row / column of 7 is dropped */
    pool_case(3, 2); /* overlapping windows: one input can receive two gradients */
}

/* ---- linear ---- */

typedef struct lin_ctx {
    int n, in, out;
    double *x, *w, *b;
} lin_ctx;

static void lin_fwd(void *p, double *y)
{
    lin_ctx *l = p;
    dpf_k_linear_forward(y, l->x, l->w, l->b, l->n, l->in, l->out);
}

static void linear_case(int bias)
{
    lin_ctx l = {3, 5, 4, NULL, NULL, NULL};
    const size_t nx = (size_t)l.n * l.in, nw = (size_t)l.out * l.in, ny = (size_t)l.n * l.out;
    l.x = rand_vec(nx, 1.0);
    l.w = rand_vec(nw, 1.0);
    l.b = bias ? rand_vec((size_t)l.out, 1.0) : NULL;
    double *r = rand_vec(ny, 1.0), *px = rand_vec(nx, 1.0), *pw = rand_vec(nw, 1.0);
    double *pb = rand_vec((size_t)l.out, 1.0);
    double *dx = vec(nx), *dw = vec(nw), *db = vec((size_t)l.out), *zero = vec(nx);
    memcpy(dx, px, nx * sizeof *dx);
    memcpy(dw, pw, nw * sizeof *dw);
    memcpy(db, pb, (size_t)l.out * sizeof *db);
    dpf_k_linear_backward(dx, dw, bias ? db : NULL, r, l.x, l.w, l.n, l.in, l.out);
    grad_case("linear dx", &l, lin_fwd, ny, r, l.x, nx, dx, zero);
    grad_case("linear dw", &l, lin_fwd, ny, r, l.w, nw, dw, pw);
    if (bias)
        grad_case("linear db", &l, lin_fwd, ny, r, l.b, (size_t)l.out, db, pb);
    free(l.x), free(l.w), free(l.b), free(r), free(px), free(pw), free(pb);
    free(dx), free(dw), free(db), free(zero);
}

static void test_linear_grad(void **state)
{
    (void)state;
    linear_case(1);
    linear_case(0);
}

/* ---- softmax cross-entropy: the output is the scalar loss ---- */

typedef struct ce_ctx {
    int n, classes;
    double *logits, *probs;
    int32_t *labels;
} ce_ctx;

static void ce_fwd(void *p, double *y)
{
    ce_ctx *c = p;
    y[0] = dpf_k_softmax_ce_forward(c->probs, c->logits, c->labels, c->n, c->classes);
}

static void test_softmax_ce_grad(void **state)
{
    (void)state;
    ce_ctx c = {4, 5, NULL, NULL, NULL};
    const size_t nl = (size_t)c.n * c.classes;
    c.logits = rand_vec(nl, 3.0);
    c.probs = vec(nl);
    int32_t labels[4] = {0, 4, 2, 2};
    c.labels = labels;
    double r = 0.7, loss; /* dL/dloss = scale */
    ce_fwd(&c, &loss);
    double *p = rand_vec(nl, 1.0), *d = vec(nl), *zero = vec(nl);
    memcpy(d, p, nl * sizeof *d);
    dpf_k_softmax_ce_backward(d, c.probs, c.labels, c.n, c.classes, r);
    grad_case("softmax-ce dlogits", &c, ce_fwd, 1, &r, c.logits, nl, d, zero);
    free(c.logits), free(c.probs), free(p), free(d), free(zero);
}

/* ---- forward values on tiny hand-computed cases ---- */

static void test_conv_forward_values(void **state)
{
    (void)state;
    double x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[9], y[4], b = 0.5;
    for (int i = 0; i < 9; i++)
        w[i] = 1.0;
    dpf_conv_shape s = {1, 1, 3, 3, 1, 2, 2, 1, 0, 0, 0, 0}; /* 2x2 ones, stride 1 */
    assert_int_equal(dpf_conv_shape_finish(&s), 0);
    assert_int_equal(s.oh, 2);
    assert_int_equal(s.ow, 2);
    dpf_conv *cv = conv_layer(&s, 1, w);
    dpf_k_conv2d_forward(cv, y, x, &b, NULL, 1, NULL);
    dpf_k_conv2d_free(cv);
    const double want[4] = {12.5, 16.5, 24.5, 28.5};
    for (int i = 0; i < 4; i++)
        assert_close(y[i], want[i], 1e-12);
    dpf_conv_shape t = {1, 1, 3, 3, 1, 3, 3, 2, 1, 0, 0, 0}; /* 3x3 ones, stride 2, pad 1 */
    assert_int_equal(dpf_conv_shape_finish(&t), 0);
    assert_int_equal(t.oh, 2);
    cv = conv_layer(&t, 0, w);
    dpf_k_conv2d_forward(cv, y, x, NULL, NULL, 1, NULL);
    dpf_k_conv2d_free(cv);
    const double want2[4] = {12, 16, 24, 28}; /* zero padding contributes nothing */
    for (int i = 0; i < 4; i++)
        assert_close(y[i], want2[i], 1e-12);
    dpf_conv_shape bad = {1, 1, 2, 2, 1, 3, 3, 1, 0, 0, 0, 0}; /* kernel larger than input */
    assert_int_equal(dpf_conv_shape_finish(&bad), -1);
    bad.pad = 1; /* now valid: 2 + 2 - 3 + 1 = 2 */
    assert_int_equal(dpf_conv_shape_finish(&bad), 0);
    assert_int_equal(bad.oh, 2);
    bad.stride = 0;
    assert_int_equal(dpf_conv_shape_finish(&bad), -1);
}

static void test_bn_forward_values(void **state)
{
    (void)state;
    /* n = 2, c = 2, hw = 2: channel 0 holds {1, 2, 3, 4}, channel 1 holds {10, 10, 10, 14} */
    const double x[8] = {1, 2, 10, 10, 3, 4, 10, 14};
    const double gamma[2] = {2.0, 1.0}, beta[2] = {0.5, -1.0}, eps = 1e-5;
    double y[8], mean[2], invstd[2], rm[2] = {0.0, 1.0}, rv[2] = {1.0, 2.0};
    dpf_k_bn_forward_train(y, mean, invstd, rm, rv, x, NULL, gamma, beta, 2, 2, 2, 0.1, eps, 0);
    assert_close(mean[0], 2.5, 1e-14);
    assert_close(mean[1], 11.0, 1e-14);
    assert_close(invstd[0], 1.0 / sqrt(1.25 + eps), 1e-14); /* biased variance 1.25 */
    assert_close(invstd[1], 1.0 / sqrt(3.0 + eps), 1e-14);
    assert_close(rm[0], 0.25, 1e-14);
    assert_close(rm[1], 0.9 + 1.1, 1e-14);
    assert_close(rv[0], 0.9 + 0.1 * 5.0 / 3.0, 1e-14); /* unbiased variance 5/3 */
    assert_close(rv[1], 1.8 + 0.1 * 4.0, 1e-14);
    assert_close(y[0], (1 - 2.5) / sqrt(1.25 + eps) * 2.0 + 0.5, 1e-12);
    assert_close(y[5], (4 - 2.5) / sqrt(1.25 + eps) * 2.0 + 0.5, 1e-12);
    assert_close(y[7], (14 - 11.0) / sqrt(3.0 + eps) - 1.0, 1e-12);
    /* eval mode uses the running statistics */
    dpf_k_bn_forward_eval(y, x, NULL, gamma, beta, rm, rv, 2, 2, 2, eps, 0);
    assert_close(y[1], (2 - rm[0]) / sqrt(rv[0] + eps) * 2.0 + 0.5, 1e-12);
    assert_close(y[6], (10 - rm[1]) / sqrt(rv[1] + eps) - 1.0, 1e-12);
}

static void test_pointwise_values(void **state)
{
    (void)state;
    const double x[4] = {-0.5, 2.0, NAN, 0.0};
    double y[4], dx[4] = {1, 1, 1, 1};
    const double dy[4] = {3, 4, 5, 6};
    dpf_k_relu_forward(y, x, 4);
    assert_close(y[0], 0.0, 0.0);
    assert_close(y[1], 2.0, 0.0);
    assert_true(isnan(y[2])); /* NaN propagates, as in PyTorch */
    assert_close(y[3], 0.0, 0.0);
    dpf_k_relu_backward(dx, dy, y, 4);
    const double want[4] = {0, 4, 0, 0}; /* gradient only where y > 0; dx is written */
    for (int i = 0; i < 4; i++)
        assert_close(dx[i], want[i], 0.0);
    double g[2];
    const double planes[8] = {1, 2, 3, 4, -1, -2, -3, 6};
    dpf_k_gap_forward(g, planes, 1, 2, 4);
    assert_close(g[0], 2.5, 1e-15);
    assert_close(g[1], 0.0, 1e-15);
}

static void test_maxpool_ties(void **state)
{
    (void)state;
    /* 4x4 plane, 2x2 windows stride 2: all-equal, a tie of two 3s, a tie at the end, NaN */
    const double x[16] = {5, 5, 1, 3, 5, 5, 3, 2, 0, 1, 4, 1, NAN, 7, 1, 4};
    double y[4], dx[16] = {0};
    int32_t arg[4];
    dpf_k_maxpool_forward(y, arg, x, 1, 1, 4, 4, 2, 2, 2, 2);
    assert_int_equal(arg[0], 0);  /* four 5s: the first in scan order */
    assert_int_equal(arg[1], 3);  /* 3 at (0,3) comes before 3 at (1,2) */
    assert_int_equal(arg[2], 12); /* NaN at 12, then 7: NaN wins and stays, as in PyTorch */
    assert_true(isnan(y[2]));
    assert_int_equal(arg[3], 10); /* 4 at (2,2) before 4 at (3,3) */
    assert_close(y[0], 5.0, 0.0);
    assert_close(y[1], 3.0, 0.0);
    assert_close(y[3], 4.0, 0.0);
    const double dy[4] = {1, 2, 3, 4};
    dpf_k_maxpool_backward(dx, dy, arg, 1, 1, 4, 4, 2, 2);
    assert_close(dx[0], 1.0, 0.0);
    assert_close(dx[1], 0.0, 0.0);
    assert_close(dx[3], 2.0, 0.0);
    assert_close(dx[10], 4.0, 0.0);
    assert_close(dx[12], 3.0, 0.0);
    assert_close(dx[13], 0.0, 0.0);
}

static void test_linear_gemm_values(void **state)
{
    (void)state;
    const double x[6] = {1, 2, 3, 4, 5, 6};  /* (2, 3) */
    const double w[6] = {1, 0, -1, 2, 1, 0}; /* (2, 3) */
    const double b[2] = {0.5, -0.5};
    double y[4];
    dpf_k_linear_forward(y, x, w, b, 2, 3, 2);
    const double want[4] = {-1.5, 3.5, -1.5, 12.5};
    for (int i = 0; i < 4; i++)
        assert_close(y[i], want[i], 1e-15);
    /* C = 2 * A^T @ B + 0 * C with C full of NaN: beta = 0 overwrites */
    double c[4] = {NAN, NAN, NAN, NAN};
    dpf_k_gemm(1, 0, 2, 2, 3, 2.0, x, 2, w, 2, 0.0, c, 2); /* A^T: x as (3, 2) */
    const double want2[4] = {2 * (1 + 3 * -1 + 5 * 1), 2 * (0 + 3 * 2 + 0),
                             2 * (2 + 4 * -1 + 6 * 1), 2 * (0 + 4 * 2 + 0)};
    for (int i = 0; i < 4; i++)
        assert_close(c[i], want2[i], 1e-15);
}

static void test_softmax_ce_values(void **state)
{
    (void)state;
    const double z[9] = {0, 0, 0, 1, 2, 3, 1000, 0, -1000};
    double p[9];
    int32_t l1[1] = {1}, l2[1] = {2}, l3[1] = {0}, l4[1] = {1};
    assert_close(dpf_k_softmax_ce_forward(p, z, l1, 1, 3), log(3.0), 1e-15);
    assert_close(p[0], 1.0 / 3.0, 1e-15);
    assert_close(dpf_k_softmax_ce_forward(p, z + 3, l2, 1, 3),
                       log(exp(1.0) + exp(2.0) + exp(3.0)) - 3.0, 1e-14);
    /* huge logits: log-sum-exp keeps everything finite */
    assert_close(dpf_k_softmax_ce_forward(p, z + 6, l3, 1, 3), 0.0, 1e-15);
    assert_close(dpf_k_softmax_ce_forward(p, z + 6, l4, 1, 3), 1000.0, 1e-9);
    assert_close(p[0], 1.0, 0.0);
    /* mean over the batch */
    int32_t lb[3] = {1, 2, 0};
    double pb[9];
    assert_close(dpf_k_softmax_ce_forward(pb, z, lb, 3, 3),
                       (log(3.0) + log(exp(1.0) + exp(2.0) + exp(3.0)) - 3.0 + 0.0) / 3.0, 1e-14);
    /* an invalid label cannot abort: the loss becomes NaN */
    int32_t bad[1] = {3};
    assert_true(isnan(dpf_k_softmax_ce_forward(p, z, bad, 1, 3)));
}

int main(void)
{
    dpf_rng_seed(&rng, 20240601);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_grad),
        cmocka_unit_test(test_bn_grad),
        cmocka_unit_test(test_relu_grad),
        cmocka_unit_test(test_add_grad),
        cmocka_unit_test(test_gap_grad),
        cmocka_unit_test(test_maxpool_grad),
        cmocka_unit_test(test_linear_grad),
        cmocka_unit_test(test_softmax_ce_grad),
        cmocka_unit_test(test_conv_forward_values),
        cmocka_unit_test(test_bn_forward_values),
        cmocka_unit_test(test_pointwise_values),
        cmocka_unit_test(test_maxpool_ties),
        cmocka_unit_test(test_linear_gemm_values),
        cmocka_unit_test(test_softmax_ce_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
