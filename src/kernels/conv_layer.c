/* conv_layer.c — a convolution layer's kernel state (dpf_conv, kernels.h) and the backend
 * context it runs in: its weights prepared once per change for every kernel that may run it —
 * oneDNN's packed layouts (fast/conv_dnnl.c), and where the policy allows, the compressed forms
 * of the sparse kernels: the forward weights, in training also the transposed, flipped weights of
 * backward-data and the positions of the weight-gradient mask — and each pass sent to the kernel
 * the calibrated rule chooses for its batch (docs/sparse_training.md). The float64 build runs
 * the reference kernels only. */
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/ref/ref.h"
#ifndef DPF_REAL_DOUBLE
#include <omp.h>

#include "kernels/fast/fast.h"
#include "kernels/sparse/sparse.h"
#endif

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
    cv->sparse_bwd_ok = cv->bwd_able && dpf_k_policy_pays(cv->o.policy, cv->bs, -1, cv->density);
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
    cv->density = dpf_k_nonzero_share(cv->w, (size_t)cv->s.k * cv->s.c * cv->s.kh * cv->s.kw);
    cv->sparse_ok = dpf_k_policy_pays(cv->o.policy, cv->s, -1, cv->density);
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
    cv->sparse_w_ok = cv->gmask && dpf_k_policy_pays(cv->o.policy, cv->s, -1, cv->gdensity);
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
    return cv->sparse_w_ok && dpf_k_policy_pays(cv->o.policy, cv->s, n, cv->gdensity);
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
    return cv->sparse_bwd_ok && dpf_k_policy_pays(cv->o.policy, cv->bs, n, cv->density);
}

/* Does the sparse kernel run a forward pass of n images? */
static int runs_sparse(dpf_conv *cv, int n)
{
    if (cv->o.policy == DPF_KERNELS_DENSE)
        return 0;
    prepare_sparse(cv);
    return cv->sparse_ok && dpf_k_policy_pays(cv->o.policy, cv->s, n, cv->density);
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
