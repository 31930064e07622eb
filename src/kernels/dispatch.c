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

struct dpf_kctx {
    int winograd;           /* the policy (the float64 build keeps only this) */
#ifndef DPF_REAL_DOUBLE
    dpf_fast_ctx *fast;
#endif
};

/* A layer's kernel state: the kinds its weights are prepared in, and which may run. */
struct dpf_conv {
    dpf_weights_kind kind;  /* the dense kind: PLAIN (float64 build) or DNNL */
    dpf_conv_opts o;
    dpf_conv_shape s;
    const dpf_real *w;      /* the weights as last set */
    int stale;              /* set since the last pass: the sparse form is rebuilt */
    double density;
#ifndef DPF_REAL_DOUBLE
    dpf_fast_conv *fast;    /* DPF_WEIGHTS_DNNL */
    dpf_sparse_conv sparse; /* DPF_WEIGHTS_SPARSE, built while the policy allows it */
    int sparse_ok;
    /* Training: backward-data as the forward convolution of dy with the weights transposed
     * (K <-> C) and flipped, padded by KH - 1 - pad (stride 1 only). */
    dpf_conv_shape bs;
    int bwd_able;           /* the shape allows it */
    dpf_sparse_conv sparse_bwd;
    int sparse_bwd_ok;
    float *wt;              /* the transposed, flipped weights, while built */
    /* Training: the weight gradient wanted only where gmask (K, C, KH, KW) is nonzero. */
    const uint8_t *gmask;
    int gmask_stale;
    double gdensity;
    dpf_sparse_conv sparse_w;
    int sparse_w_ok;
    float *gm;              /* the mask as 1 / 0 weights, for prepare */
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

/* The float build's activations are channels last, which oneDNN's kernels (and the sparse ones)
 * read; the reference kernels (NCHW) run the float64 build, which has no sparse kernels. */
dpf_status dpf_k_conv2d_create(dpf_conv **out, dpf_kctx *ctx, const dpf_conv_shape *s,
                               const dpf_conv_opts *o)
{
    dpf_conv *cv = calloc(1, sizeof *cv);
    *out = NULL;
    if (!cv)
        return dpf_error(DPF_ERR_NOMEM, "out of memory creating a convolution");
    cv->s = *s;
    cv->o = *o;
    cv->density = 1;
    if (o->training)
        cv->o.residual = cv->o.relu = 0;
#ifdef DPF_REAL_DOUBLE
    (void)ctx;
    cv->kind = DPF_WEIGHTS_PLAIN;
    cv->o.policy = DPF_KERNELS_DENSE;
#else
    cv->kind = DPF_WEIGHTS_DNNL;
    cv->bs = (dpf_conv_shape){s->n, s->k, s->oh, s->ow, s->c, s->kh, s->kw, 1,
                              s->kh - 1 - s->pad, 0, 0, 0};
    cv->bwd_able = o->training && s->stride == 1 && s->kh == s->kw && s->pad <= s->kh - 1 &&
                   !s->src_nchw && dpf_conv_shape_finish(&cv->bs) == 0 && cv->bs.oh == s->h &&
                   cv->bs.ow == s->w;
    dpf_status st = dpf_fast_conv2d_create(&cv->fast, ctx->fast, s, o->bias, o->training,
                                           cv->o.residual, cv->o.relu);
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
    dpf_sparse_conv_free(&cv->sparse);
    dpf_sparse_conv_free(&cv->sparse_bwd);
    free(cv->wt);
    dpf_sparse_conv_free(&cv->sparse_w);
    free(cv->gm);
#endif
    free(cv);
}

#ifndef DPF_REAL_DOUBLE
/* Share of nonzero weights among count. */
static double density_of(const dpf_real *w, size_t count)
{
    size_t nz = 0;
    for (size_t i = 0; i < count; i++)
        nz += w[i] != 0;
    return count ? (double)nz / (double)count : 1;
}

/* Does the sparse kernel run a layer of shape s (s->n: the largest batch) on n images under
 * the policy? n < 0: on any batch (1 or the largest), which decides whether to build it. */
static int sparse_pays(dpf_kernel_policy policy, dpf_conv_shape s, int n, double density)
{
    if (policy != DPF_KERNELS_AUTO)
        return policy == DPF_KERNELS_SPARSE;
    if (n >= 0) {
        s.n = n;
        return dpf_k_sparse_pays(&s, density);
    }
    dpf_conv_shape one = s;
    one.n = 1;
    return dpf_k_sparse_pays(&one, density) || dpf_k_sparse_pays(&s, density);
}

/* wt[c, k, ky, kx] = w[k, c, KH-1-ky, KW-1-kx]: the weights of backward-data as a forward
 * convolution of dy. */
static void transpose_flip(float *wt, const float *w, const dpf_conv_shape *s)
{
    const int kk = s->kh * s->kw;
    for (int k = 0; k < s->k; k++)
        for (int c = 0; c < s->c; c++)
            for (int i = 0; i < kk; i++)
                wt[((size_t)c * s->k + k) * kk + (kk - 1 - i)] = w[((size_t)k * s->c + c) * kk + i];
}

/* The sparse form of backward-data, where the policy may run it (training). */
static void prepare_sparse_bwd(dpf_conv *cv)
{
    const size_t count = (size_t)cv->s.k * cv->s.c * cv->s.kh * cv->s.kw;
    cv->sparse_bwd_ok = cv->bwd_able && sparse_pays(cv->o.policy, cv->bs, -1, cv->density);
    if (cv->sparse_bwd_ok && !cv->wt)
        cv->wt = malloc(count * sizeof *cv->wt);
    cv->sparse_bwd_ok = cv->sparse_bwd_ok && cv->wt;
    if (cv->sparse_bwd_ok) {
        transpose_flip(cv->wt, cv->w, &cv->s);
        cv->sparse_bwd_ok = dpf_sparse_conv_prepare(&cv->sparse_bwd, &cv->bs,
                                                    dpf_fast_act_block(cv->s.k),
                                                    dpf_fast_act_block(cv->s.c), cv->wt) == DPF_OK;
    }
    if (!cv->sparse_bwd_ok)
        dpf_sparse_conv_free(&cv->sparse_bwd);
}

/* Rebuilds the sparse forms after the weights changed, where the policy may run them. */
static void prepare_sparse(dpf_conv *cv)
{
    if (!cv->stale)
        return;
    cv->stale = 0;
    cv->density = density_of(cv->w, (size_t)cv->s.k * cv->s.c * cv->s.kh * cv->s.kw);
    cv->sparse_ok = sparse_pays(cv->o.policy, cv->s, -1, cv->density);
    if (cv->sparse_ok) {
        const int cb_in = cv->s.src_nchw ? 1 : dpf_fast_act_block(cv->s.c);
        cv->sparse_ok = dpf_sparse_conv_prepare(&cv->sparse, &cv->s, cb_in,
                                                dpf_fast_act_block(cv->s.k), cv->w) == DPF_OK;
    }
    if (!cv->sparse_ok)
        dpf_sparse_conv_free(&cv->sparse);
    if (cv->o.training)
        prepare_sparse_bwd(cv);
}

/* The compressed positions of the weight-gradient mask, where the policy may run them. */
static void prepare_sparse_wgrad(dpf_conv *cv)
{
    if (!cv->gmask_stale)
        return;
    cv->gmask_stale = 0;
    const size_t count = (size_t)cv->s.k * cv->s.c * cv->s.kh * cv->s.kw;
    size_t kept = 0;
    for (size_t i = 0; cv->gmask && i < count; i++)
        kept += cv->gmask[i] != 0;
    cv->gdensity = cv->gmask ? (double)kept / (double)count : 1;
    cv->sparse_w_ok = cv->gmask && sparse_pays(cv->o.policy, cv->s, -1, cv->gdensity);
    if (cv->sparse_w_ok && !cv->gm)
        cv->gm = malloc(count * sizeof *cv->gm);
    cv->sparse_w_ok = cv->sparse_w_ok && cv->gm;
    if (cv->sparse_w_ok) {
        for (size_t i = 0; i < count; i++)
            cv->gm[i] = cv->gmask[i] ? 1.0f : 0.0f;
        const int cb_in = cv->s.src_nchw ? 1 : dpf_fast_act_block(cv->s.c);
        cv->sparse_w_ok = dpf_sparse_conv_prepare(&cv->sparse_w, &cv->s, cb_in,
                                                  dpf_fast_act_block(cv->s.k), cv->gm) == DPF_OK;
    }
    if (!cv->sparse_w_ok)
        dpf_sparse_conv_free(&cv->sparse_w);
}

/* Does the sparse kernel compute the weight gradient of n images (at the mask only)? */
static int runs_sparse_wgrad(dpf_conv *cv, int n)
{
    if (cv->o.policy == DPF_KERNELS_DENSE || !cv->o.training)
        return 0;
    prepare_sparse_wgrad(cv);
    return cv->sparse_w_ok && sparse_pays(cv->o.policy, cv->s, n, cv->gdensity);
}

/* db[k] += the sum of dy over images and pixels (dy in blocks of cb channels). */
static void bias_grad(float *db, const float *dy, const dpf_conv_shape *s, int n)
{
    const int cb = dpf_fast_act_block(s->k);
    const size_t plane = (size_t)s->oh * s->ow;
    for (int k = 0; k < s->k; k++) {
        double t = 0;
        for (int i = 0; i < n; i++) {
            const float *p = dy + (((size_t)i * (s->k / cb) + k / cb) * plane) * cb + k % cb;
            for (size_t px = 0; px < plane; px++)
                t += p[px * cb];
        }
        db[k] += (float)t;
    }
}

/* Does the sparse kernel run backward-data for n images? */
static int runs_sparse_bwd(dpf_conv *cv, int n)
{
    if (cv->o.policy == DPF_KERNELS_DENSE || !cv->bwd_able)
        return 0;
    prepare_sparse(cv);
    return cv->sparse_bwd_ok && sparse_pays(cv->o.policy, cv->bs, n, cv->density);
}

/* Does the sparse kernel run a forward pass of n images? */
static int runs_sparse(dpf_conv *cv, int n)
{
    if (cv->o.policy == DPF_KERNELS_DENSE)
        return 0;
    prepare_sparse(cv);
    return cv->sparse_ok && sparse_pays(cv->o.policy, cv->s, n, cv->density);
}
#endif

dpf_weights_kind dpf_k_conv2d_kind(const dpf_conv *cv, int n)
{
#ifndef DPF_REAL_DOUBLE
    if (runs_sparse((dpf_conv *)cv, n))
        return DPF_WEIGHTS_SPARSE;
#endif
    (void)n;
    return cv->kind;
}

void dpf_k_conv2d_set_grad_mask(dpf_conv *cv, const uint8_t *mask)
{
#ifndef DPF_REAL_DOUBLE
    cv->gmask = mask;
    cv->gmask_stale = 1;
#else
    (void)cv, (void)mask;
#endif
}

dpf_weights_kind dpf_k_conv2d_wgrad_kind(const dpf_conv *cv, int n)
{
#ifndef DPF_REAL_DOUBLE
    if (runs_sparse_wgrad((dpf_conv *)cv, n))
        return DPF_WEIGHTS_SPARSE;
#endif
    (void)n;
    return cv->kind;
}

dpf_weights_kind dpf_k_conv2d_bwd_kind(const dpf_conv *cv, int n)
{
#ifndef DPF_REAL_DOUBLE
    if (runs_sparse_bwd((dpf_conv *)cv, n))
        return DPF_WEIGHTS_SPARSE;
#endif
    (void)n;
    return cv->kind;
}

double dpf_k_conv2d_density(const dpf_conv *cv)
{
    return cv->density;
}

size_t dpf_k_conv2d_workspace(const dpf_conv *cv)
{
#ifndef DPF_REAL_DOUBLE
    size_t need = dpf_fast_conv2d_workspace(cv->fast);
    if (cv->o.policy != DPF_KERNELS_DENSE) {
        const size_t sp = dpf_sparse_conv_workspace_for(&cv->s, omp_get_max_threads());
        need = sp > need ? sp : need;
        if (cv->bwd_able) {
            const size_t sb = dpf_sparse_conv_workspace_for(&cv->bs, omp_get_max_threads());
            need = sb > need ? sb : need;
        }
        if (cv->o.training) {
            const size_t sw = dpf_sparse_wgrad_workspace_for(&cv->s, omp_get_max_threads());
            need = sw > need ? sw : need;
        }
    }
    return need;
#else
    return dpf_ref_conv2d_workspace(&cv->s);
#endif
}

void dpf_k_conv2d_set_weights(dpf_conv *cv, const dpf_real *w)
{
    cv->w = w;
    cv->stale = 1;
#ifndef DPF_REAL_DOUBLE
    dpf_fast_conv2d_set_weights(cv->fast, w);
#endif
}

int64_t dpf_k_conv2d_packs(const dpf_conv *cv)
{
#ifndef DPF_REAL_DOUBLE
    return dpf_fast_conv2d_packs(cv->fast);
#else
    (void)cv;
    return 0;
#endif
}

int dpf_k_conv2d_is_winograd(dpf_conv *cv, int n)
{
#ifndef DPF_REAL_DOUBLE
    return dpf_fast_conv2d_is_winograd(cv->fast, n);
#else
    (void)cv, (void)n;
    return 0;
#endif
}

void dpf_k_conv2d_forward(dpf_conv *cv, dpf_real *y, const dpf_real *x, const dpf_real *b,
                          const dpf_real *res, int n, dpf_real *ws)
{
#ifndef DPF_REAL_DOUBLE
    if (runs_sparse(cv, n))
        dpf_sparse_conv_forward(&cv->sparse, y, x, b, res, cv->o.relu, n, ws);
    else
        dpf_fast_conv2d_forward(cv->fast, y, x, b, res, n, ws);
#else
    dpf_conv_shape s = cv->s;
    s.n = n;
    (void)res; /* no epilogue: training layers only */
    dpf_ref_conv2d_forward(y, x, cv->w, b, &s, ws);
#endif
}

void dpf_k_conv2d_backward(dpf_conv *cv, dpf_real *dx, dpf_real *dw, dpf_real *db,
                           const dpf_real *dy, const dpf_real *x, int n, dpf_real *ws)
{
#ifndef DPF_REAL_DOUBLE
    if (dx && runs_sparse_bwd(cv, n)) {
        dpf_sparse_conv_forward(&cv->sparse_bwd, dx, dy, NULL, NULL, 0, n, ws);
        dx = NULL;
    }
    if (dw && runs_sparse_wgrad(cv, n)) {
        dpf_sparse_conv_wgrad(&cv->sparse_w, dw, dy, x, n, ws);
        if (db)
            bias_grad(db, dy, &cv->s, n);
        dw = db = NULL;
    }
    dpf_fast_conv2d_backward(cv->fast, dx, dw, db, dy, x, n, ws);
#else
    dpf_conv_shape s = cv->s;
    s.n = n;
    dpf_ref_conv2d_backward(dx, dw, db, dy, x, cv->w, &s, ws);
#endif
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
        l->density = density_of(l->w, (size_t)l->in * l->out);
        l->sparse_ok = sparse_pays(l->policy, linear_shape(l, l->max_batch), -1, l->density);
        if (l->sparse_ok)
            l->sparse_ok = dpf_sparse_linear_prepare(&l->sparse, l->in, l->out, l->w) == DPF_OK;
        if (!l->sparse_ok)
            dpf_sparse_linear_free(&l->sparse);
    }
    if (l->policy != DPF_KERNELS_DENSE && l->sparse_ok &&
        sparse_pays(l->policy, linear_shape(l, l->max_batch), n, l->density))
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
