/* dispatch.c — the one dispatch point of the compute layer: every dpf_k_* picks its backend here.
 * float64 build (DPF_REAL_DOUBLE): everything runs the reference kernels (ref/), activations
 * NCHW, and no fast/ symbol is referenced. float32 build: activations are channels last, in
 * blocks of 16 channels (kernels.h); convolutions run on oneDNN primitives, linear layers on
 * oneDNN sgemm, batch norm, pooling and the layout changes on fast/act.c; ReLU, the residual
 * add and the loss do not depend on the layout and run ref/, which is their production
 * implementation (OpenMP-parallel loops). */
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/ref/ref.h"
#ifndef DPF_REAL_DOUBLE
#include "kernels/fast/fast.h"
#endif

#ifdef DPF_REAL_DOUBLE
#define B(name) dpf_ref_##name
#else
#define B(name) dpf_fast_##name
#endif

void dpf_k_act_from_nchw(dpf_real *y, const dpf_real *x, int n, int c, int hw)
{
#ifdef DPF_ACT_BLOCKED
    dpf_fast_act_from_nchw(y, x, n, c, hw);
#else
    memcpy(y, x, (size_t)n * c * hw * sizeof(dpf_real));
#endif
}

void dpf_k_act_to_nchw(dpf_real *y, const dpf_real *x, int n, int c, int hw)
{
#ifdef DPF_ACT_BLOCKED
    dpf_fast_act_to_nchw(y, x, n, c, hw);
#else
    memcpy(y, x, (size_t)n * c * hw * sizeof(dpf_real));
#endif
}

void dpf_k_gemm(int ta, int tb, int m, int n, int k, dpf_real alpha, const dpf_real *a, int lda,
                const dpf_real *b, int ldb, dpf_real beta, dpf_real *c, int ldc)
{
    B(gemm)(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

struct dpf_kctx {
    int winograd;
#ifndef DPF_REAL_DOUBLE
    dpf_fast_ctx *fast;
#endif
};

/* A layer's kernel state: the kind of its weights picks the implementation. */
struct dpf_conv {
    dpf_weights_kind kind;
    dpf_conv_shape s;
    const dpf_real *w;      /* DPF_WEIGHTS_PLAIN: the weights as last set */
    int64_t packs;
#ifndef DPF_REAL_DOUBLE
    dpf_fast_conv *fast;    /* DPF_WEIGHTS_DNNL */
#endif
};

dpf_status dpf_kctx_create(dpf_kctx **out, int winograd)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return dpf_error(DPF_ERR_NOMEM, "out of memory creating the compute context");
    (*out)->winograd = winograd < 0 ? 0 : winograd > 2 ? 2 : winograd;
#ifndef DPF_REAL_DOUBLE
    dpf_status st = dpf_fast_ctx_create(&(*out)->fast, (*out)->winograd);
    if (st != DPF_OK) {
        free(*out);
        *out = NULL;
        return st;
    }
#endif
    return DPF_OK;
}

void dpf_kctx_free(dpf_kctx *ctx)
{
    if (!ctx)
        return;
#ifndef DPF_REAL_DOUBLE
    dpf_fast_ctx_free(ctx->fast);
#endif
    free(ctx);
}

int dpf_kctx_winograd(const dpf_kctx *ctx)
{
    return ctx->winograd;
}

/* The float build's activations are channels last, which only oneDNN's kernels read; the
 * reference kernels (NCHW) run the float64 build. */
dpf_status dpf_k_conv2d_create(dpf_conv **out, dpf_kctx *ctx, const dpf_conv_shape *s, int bias,
                               int training)
{
    dpf_conv *cv = calloc(1, sizeof *cv);
    *out = NULL;
    if (!cv)
        return dpf_error(DPF_ERR_NOMEM, "out of memory creating a convolution");
    cv->s = *s;
#ifdef DPF_REAL_DOUBLE
    (void)ctx, (void)bias, (void)training;
    cv->kind = DPF_WEIGHTS_PLAIN;
#else
    cv->kind = DPF_WEIGHTS_DNNL;
    dpf_status st = dpf_fast_conv2d_create(&cv->fast, ctx->fast, s, bias, training);
    if (st != DPF_OK) {
        free(cv);
        return st;
    }
#endif
    *out = cv;
    return DPF_OK;
}

void dpf_k_conv2d_free(dpf_conv *cv)
{
    if (!cv)
        return;
#ifndef DPF_REAL_DOUBLE
    dpf_fast_conv2d_free(cv->fast);
#endif
    free(cv);
}

dpf_weights_kind dpf_k_conv2d_kind(const dpf_conv *cv)
{
    return cv->kind;
}

size_t dpf_k_conv2d_workspace(const dpf_conv *cv)
{
#ifndef DPF_REAL_DOUBLE
    if (cv->kind == DPF_WEIGHTS_DNNL)
        return dpf_fast_conv2d_workspace(cv->fast);
#endif
    return dpf_ref_conv2d_workspace(&cv->s);
}

void dpf_k_conv2d_set_weights(dpf_conv *cv, const dpf_real *w)
{
    cv->w = w;
#ifndef DPF_REAL_DOUBLE
    if (cv->kind == DPF_WEIGHTS_DNNL)
        dpf_fast_conv2d_set_weights(cv->fast, w);
#endif
}

int64_t dpf_k_conv2d_packs(const dpf_conv *cv)
{
#ifndef DPF_REAL_DOUBLE
    if (cv->kind == DPF_WEIGHTS_DNNL)
        return dpf_fast_conv2d_packs(cv->fast);
#endif
    return cv->packs;
}

int dpf_k_conv2d_is_winograd(dpf_conv *cv, int n)
{
#ifndef DPF_REAL_DOUBLE
    if (cv->kind == DPF_WEIGHTS_DNNL)
        return dpf_fast_conv2d_is_winograd(cv->fast, n);
#endif
    (void)cv, (void)n;
    return 0;
}

void dpf_k_conv2d_forward(dpf_conv *cv, dpf_real *y, const dpf_real *x, const dpf_real *b, int n,
                          dpf_real *ws)
{
#ifndef DPF_REAL_DOUBLE
    if (cv->kind == DPF_WEIGHTS_DNNL) {
        dpf_fast_conv2d_forward(cv->fast, y, x, b, n, ws);
        return;
    }
#endif
    dpf_conv_shape s = cv->s;
    s.n = n;
    dpf_ref_conv2d_forward(y, x, cv->w, b, &s, ws);
}

void dpf_k_conv2d_backward(dpf_conv *cv, dpf_real *dx, dpf_real *dw, dpf_real *db,
                           const dpf_real *dy, const dpf_real *x, int n, dpf_real *ws)
{
#ifndef DPF_REAL_DOUBLE
    if (cv->kind == DPF_WEIGHTS_DNNL) {
        dpf_fast_conv2d_backward(cv->fast, dx, dw, db, dy, x, n, ws);
        return;
    }
#endif
    dpf_conv_shape s = cv->s;
    s.n = n;
    dpf_ref_conv2d_backward(dx, dw, db, dy, x, cv->w, &s, ws);
}

void dpf_k_linear_forward(dpf_real *y, const dpf_real *x, const dpf_real *w, const dpf_real *b,
                          int n, int in, int out)
{
    B(linear_forward)(y, x, w, b, n, in, out);
}

void dpf_k_linear_backward(dpf_real *dx, dpf_real *dw, dpf_real *db, const dpf_real *dy,
                           const dpf_real *x, const dpf_real *w, int n, int in, int out)
{
    B(linear_backward)(dx, dw, db, dy, x, w, n, in, out);
}

void dpf_k_bn_forward_train(dpf_real *y, dpf_real *save_mean, dpf_real *save_invstd,
                            dpf_real *running_mean, dpf_real *running_var, const dpf_real *x,
                            const dpf_real *res, const dpf_real *gamma, const dpf_real *beta,
                            int n, int c, int hw, dpf_real momentum, dpf_real eps, int relu)
{
    B(bn_forward_train)(y, save_mean, save_invstd, running_mean, running_var, x, res, gamma,
                        beta, n, c, hw, momentum, eps, relu);
}

void dpf_k_bn_forward_eval(dpf_real *y, const dpf_real *x, const dpf_real *res,
                           const dpf_real *gamma, const dpf_real *beta,
                           const dpf_real *running_mean, const dpf_real *running_var, int n, int c,
                           int hw, dpf_real eps, int relu)
{
    B(bn_forward_eval)(y, x, res, gamma, beta, running_mean, running_var, n, c, hw, eps, relu);
}

void dpf_k_bn_backward(dpf_real *dx, dpf_real *dres, dpf_real *dgamma, dpf_real *dbeta,
                       const dpf_real *dy, const dpf_real *x, const dpf_real *y_relu,
                       const dpf_real *save_mean, const dpf_real *save_invstd,
                       const dpf_real *gamma, int n, int c, int hw)
{
    B(bn_backward)(dx, dres, dgamma, dbeta, dy, x, y_relu, save_mean, save_invstd, gamma, n, c,
                   hw);
}

void dpf_k_relu_forward(dpf_real *y, const dpf_real *x, size_t count)
{
    dpf_ref_relu_forward(y, x, count);
}

void dpf_k_relu_backward(dpf_real *dx, const dpf_real *dy, const dpf_real *y, size_t count)
{
    dpf_ref_relu_backward(dx, dy, y, count);
}

void dpf_k_maxpool_forward(dpf_real *y, int32_t *argmax, const dpf_real *x, int n, int c, int h,
                           int w, int k, int st, int oh, int ow)
{
    B(maxpool_forward)(y, argmax, x, n, c, h, w, k, st, oh, ow);
}

void dpf_k_maxpool_backward(dpf_real *dx, const dpf_real *dy, const int32_t *argmax, int n, int c,
                            int h, int w, int oh, int ow)
{
    B(maxpool_backward)(dx, dy, argmax, n, c, h, w, oh, ow);
}

void dpf_k_gap_forward(dpf_real *y, const dpf_real *x, int n, int c, int hw)
{
    B(gap_forward)(y, x, n, c, hw);
}

void dpf_k_gap_backward(dpf_real *dx, const dpf_real *dy, int n, int c, int hw)
{
    B(gap_backward)(dx, dy, n, c, hw);
}

void dpf_k_add_forward(dpf_real *y, const dpf_real *a, const dpf_real *b, size_t count, int relu)
{
    dpf_ref_add_forward(y, a, b, count, relu);
}

void dpf_k_add_backward(dpf_real *da, dpf_real *db, const dpf_real *dy, const dpf_real *y_relu,
                        size_t count)
{
    dpf_ref_add_backward(da, db, dy, y_relu, count);
}

void dpf_k_accumulate(dpf_real *y, const dpf_real *x, size_t count)
{
#ifdef DPF_REAL_DOUBLE
    for (size_t i = 0; i < count; i++)
        y[i] += x[i];
#else
    dpf_fast_accumulate(y, x, count);
#endif
}

double dpf_k_softmax_ce_forward(dpf_real *probs, const dpf_real *logits, const int32_t *labels,
                                int n, int classes)
{
    return dpf_ref_softmax_ce_forward(probs, logits, labels, n, classes);
}

void dpf_k_softmax_ce_backward(dpf_real *dlogits, const dpf_real *probs, const int32_t *labels,
                               int n, int classes, dpf_real scale)
{
    dpf_ref_softmax_ce_backward(dlogits, probs, labels, n, classes, scale);
}
