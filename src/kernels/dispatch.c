/* dispatch.c — the one dispatch point of the compute layer: every dpf_k_* picks its backend here
 * (the convolution layer's, with its prepared weights, in conv_layer.c).
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
#include <omp.h>

#include "kernels/fast/fast.h"
#include "kernels/sparse/sparse.h"
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

struct dpf_linear {
    int in, out, max_batch;
    dpf_kernel_policy policy;
    const dpf_real *w;
    int stale;
    double density;
#ifndef DPF_REAL_DOUBLE
    dpf_sparse_linear sparse;
    int sparse_ok;
#endif
};

dpf_status dpf_k_linear_layer_create(dpf_linear **out, int in, int out_features, int max_batch,
                                     dpf_kernel_policy policy)
{
    dpf_linear *l = calloc(1, sizeof *l);
    *out = l;
    if (!l)
        return dpf_error(DPF_ERR_NOMEM, "out of memory creating a linear layer");
    l->in = in, l->out = out_features, l->max_batch = max_batch;
#ifdef DPF_REAL_DOUBLE
    l->policy = DPF_KERNELS_DENSE;
    (void)policy;
#else
    l->policy = policy;
#endif
    l->density = 1;
    return DPF_OK;
}

void dpf_k_linear_layer_free(dpf_linear *l)
{
#ifndef DPF_REAL_DOUBLE
    if (l)
        dpf_sparse_linear_free(&l->sparse);
#endif
    free(l);
}

#ifndef DPF_REAL_DOUBLE
/* The linear layer as the rule sees it: a 1x1 convolution of n 1x1 images. */
static dpf_conv_shape linear_shape(const dpf_linear *l, int n)
{
    dpf_conv_shape s = {n, l->in, 1, 1, l->out, 1, 1, 1, 0, 1, 1, 0};
    return s;
}
#endif

size_t dpf_k_linear_layer_workspace(const dpf_linear *l)
{
#ifndef DPF_REAL_DOUBLE
    if (l->policy != DPF_KERNELS_DENSE) {
        dpf_sparse_linear probe = {.in = l->in, .out = l->out};
        return dpf_sparse_linear_workspace(&probe, l->max_batch);
    }
#endif
    (void)l;
    return 0;
}

void dpf_k_linear_layer_set_weights(dpf_linear *l, const dpf_real *w)
{
    l->w = w;
    l->stale = 1;
}

dpf_weights_kind dpf_k_linear_layer_kind(dpf_linear *l, int n)
{
#ifndef DPF_REAL_DOUBLE
    if (l->policy != DPF_KERNELS_DENSE && l->stale) {
        l->stale = 0;
        l->density = dpf_k_nonzero_share(l->w, (size_t)l->in * l->out);
        l->sparse_ok = dpf_k_policy_pays(l->policy, linear_shape(l, l->max_batch), -1, l->density);
        if (l->sparse_ok)
            l->sparse_ok = dpf_sparse_linear_prepare(&l->sparse, l->in, l->out, l->w) == DPF_OK;
        if (!l->sparse_ok)
            dpf_sparse_linear_free(&l->sparse);
    }
    if (l->policy != DPF_KERNELS_DENSE && l->sparse_ok &&
        dpf_k_policy_pays(l->policy, linear_shape(l, l->max_batch), n, l->density))
        return DPF_WEIGHTS_SPARSE;
#endif
    (void)l, (void)n;
    return DPF_WEIGHTS_PLAIN;
}

double dpf_k_linear_layer_density(const dpf_linear *l)
{
    return l->density;
}

void dpf_k_linear_layer_forward(dpf_linear *l, dpf_real *y, const dpf_real *x, const dpf_real *b,
                                int n, dpf_real *ws)
{
#ifndef DPF_REAL_DOUBLE
    if (dpf_k_linear_layer_kind(l, n) == DPF_WEIGHTS_SPARSE) {
        dpf_sparse_linear_forward(&l->sparse, y, x, b, 0, n, ws);
        return;
    }
#endif
    (void)ws;
    dpf_k_linear_forward(y, x, l->w, b, n, l->in, l->out);
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
