/* ref/conv2d.c — reference conv2d (direct loops, no workspace) and the shape helper.
 * Every output / gradient element is one dot product accumulated in double, written once
 * (forward) or added once (backward, +=). Parallel over independent output planes. */
#include "kernels/ref/ref.h"

/* Multiply-adds of one conv pass: below DPF_REF_OMP_MIN the loops run on one thread. */
static double conv_work(const dpf_conv_shape *s)
{
    return (double)s->n * s->k * s->oh * s->ow * s->c * s->kh * s->kw;
}

int dpf_conv_shape_finish(dpf_conv_shape *s)
{
    if (!s || s->n < 1 || s->c < 1 || s->h < 1 || s->w < 1 || s->k < 1 || s->kh < 1 ||
        s->kw < 1 || s->stride < 1 || s->pad < 0)
        return -1;
    long long eh = (long long)s->h + 2LL * s->pad - s->kh;
    long long ew = (long long)s->w + 2LL * s->pad - s->kw;
    if (eh < 0 || ew < 0)
        return -1;
    long long oh = eh / s->stride + 1, ow = ew / s->stride + 1;
    if (oh > 0x7fffffffLL || ow > 0x7fffffffLL)
        return -1;
    s->oh = (int)oh;
    s->ow = (int)ow;
    return 0;
}

size_t dpf_ref_conv2d_workspace(const dpf_conv_shape *s)
{
    (void)s;
    return 0;
}

void dpf_ref_conv2d_forward(dpf_real *y, const dpf_real *x, const dpf_real *w, const dpf_real *b,
                            const dpf_conv_shape *s, dpf_real *ws)
{
    (void)ws;
    const int C = s->c, H = s->h, W = s->w, K = s->k, KH = s->kh, KW = s->kw;
    const int st = s->stride, pad = s->pad, OH = s->oh, OW = s->ow;
#pragma omp parallel for collapse(2) schedule(static) if (conv_work(s) >= DPF_REF_OMP_MIN)
    for (int ni = 0; ni < s->n; ni++) {
        for (int ki = 0; ki < K; ki++) {
            const dpf_real *xn = x + (size_t)ni * C * H * W;
            const dpf_real *wk = w + (size_t)ki * C * KH * KW;
            dpf_real *yp = y + ((size_t)ni * K + ki) * OH * OW;
            for (int oy = 0; oy < OH; oy++) {
                for (int ox = 0; ox < OW; ox++) {
                    double acc = b ? (double)b[ki] : 0.0;
                    for (int ci = 0; ci < C; ci++) {
                        for (int ky = 0; ky < KH; ky++) {
                            int iy = oy * st - pad + ky;
                            if (iy < 0 || iy >= H)
                                continue;
                            for (int kx = 0; kx < KW; kx++) {
                                int ix = ox * st - pad + kx;
                                if (ix < 0 || ix >= W)
                                    continue;
                                acc += (double)xn[((size_t)ci * H + iy) * W + ix] *
                                       (double)wk[((size_t)ci * KH + ky) * KW + kx];
                            }
                        }
                    }
                    yp[(size_t)oy * OW + ox] = (dpf_real)acc;
                }
            }
        }
    }
}

/* Output index o such that o * st - pad + kk == i, or -1 if there is none in [0, on). */
static int src_index(int i, int kk, int st, int pad, int on)
{
    int t = i + pad - kk;
    if (t < 0 || t % st != 0)
        return -1;
    t /= st;
    return t < on ? t : -1;
}

/* dx = dL/dx: gathered per input element, so each element is written by one thread. */
static void conv_backward_data(dpf_real *dx, const dpf_real *dy, const dpf_real *w,
                               const dpf_conv_shape *s)
{
    const int C = s->c, H = s->h, W = s->w, K = s->k, KH = s->kh, KW = s->kw;
    const int st = s->stride, pad = s->pad, OH = s->oh, OW = s->ow;
#pragma omp parallel for collapse(2) schedule(static) if (conv_work(s) >= DPF_REF_OMP_MIN)
    for (int ni = 0; ni < s->n; ni++) {
        for (int ci = 0; ci < C; ci++) {
            dpf_real *dxp = dx + ((size_t)ni * C + ci) * H * W;
            const dpf_real *dyn = dy + (size_t)ni * K * OH * OW;
            for (int iy = 0; iy < H; iy++) {
                for (int ix = 0; ix < W; ix++) {
                    double acc = 0.0;
                    for (int ky = 0; ky < KH; ky++) {
                        int oy = src_index(iy, ky, st, pad, OH);
                        if (oy < 0)
                            continue;
                        for (int kx = 0; kx < KW; kx++) {
                            int ox = src_index(ix, kx, st, pad, OW);
                            if (ox < 0)
                                continue;
                            for (int ki = 0; ki < K; ki++)
                                acc += (double)dyn[((size_t)ki * OH + oy) * OW + ox] *
                                       (double)w[(((size_t)ki * C + ci) * KH + ky) * KW + kx];
                        }
                    }
                    dxp[(size_t)iy * W + ix] = (dpf_real)acc;
                }
            }
        }
    }
}

/* dw += dL/dw, one (k, c) filter plane per iteration. */
static void conv_backward_weights(dpf_real *dw, const dpf_real *dy, const dpf_real *x,
                                  const dpf_conv_shape *s)
{
    const int C = s->c, H = s->h, W = s->w, K = s->k, KH = s->kh, KW = s->kw;
    const int st = s->stride, pad = s->pad, OH = s->oh, OW = s->ow;
#pragma omp parallel for collapse(2) schedule(static) if (conv_work(s) >= DPF_REF_OMP_MIN)
    for (int ki = 0; ki < K; ki++) {
        for (int ci = 0; ci < C; ci++) {
            for (int ky = 0; ky < KH; ky++) {
                for (int kx = 0; kx < KW; kx++) {
                    double acc = 0.0;
                    for (int ni = 0; ni < s->n; ni++) {
                        const dpf_real *xp = x + ((size_t)ni * C + ci) * H * W;
                        const dpf_real *dyp = dy + ((size_t)ni * K + ki) * OH * OW;
                        for (int oy = 0; oy < OH; oy++) {
                            int iy = oy * st - pad + ky;
                            if (iy < 0 || iy >= H)
                                continue;
                            for (int ox = 0; ox < OW; ox++) {
                                int ix = ox * st - pad + kx;
                                if (ix < 0 || ix >= W)
                                    continue;
                                acc += (double)dyp[(size_t)oy * OW + ox] *
                                       (double)xp[(size_t)iy * W + ix];
                            }
                        }
                    }
                    dw[(((size_t)ki * C + ci) * KH + ky) * KW + kx] += (dpf_real)acc;
                }
            }
        }
    }
}

void dpf_ref_conv2d_backward(dpf_real *dx, dpf_real *dw, dpf_real *db, const dpf_real *dy,
                             const dpf_real *x, const dpf_real *w, const dpf_conv_shape *s,
                             dpf_real *ws)
{
    (void)ws;
    if (dx)
        conv_backward_data(dx, dy, w, s);
    if (dw)
        conv_backward_weights(dw, dy, x, s);
    if (db) {
        const size_t plane = (size_t)s->oh * s->ow;
#pragma omp parallel for schedule(static) if ((double)s->n * s->k * plane >= DPF_REF_OMP_MIN)
        for (int ki = 0; ki < s->k; ki++) {
            double acc = 0.0;
            for (int ni = 0; ni < s->n; ni++) {
                const dpf_real *dyp = dy + ((size_t)ni * s->k + ki) * plane;
                for (size_t p = 0; p < plane; p++)
                    acc += (double)dyp[p];
            }
            db[ki] += (dpf_real)acc;
        }
    }
}
