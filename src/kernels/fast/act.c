/* fast/act.c — float32 kernels on the float build's activation layout (fast.h): channels
 * last, in blocks of 16 channels where C is a multiple of 16 (oneDNN's nChw16c, which its
 * Winograd and blocked direct convolutions want), plain NHWC otherwise. The tensor is N*CB planes
 * ("images") of cb channels each, every plane in NHWC order, so max-pool, global average pool
 * and the NCHW <-> layout changes are their NHWC versions run on (N*CB, cb); batch norm reduces
 * over the planes that share a channel block. Rows of cb contiguous channels make every inner
 * loop a unit-stride loop over channels that the compiler vectorises (one AVX-512 register when
 * cb = 16). Also the gradient sum.
 *
 * Batch-norm reductions are deterministic and independent of the thread count: the N*HW rows of
 * a channel block are cut into PARTS fixed pieces, each piece sums in float over blocks of BLOCK
 * rows into double partials, and the partials are added in piece order. Statistics are shifted
 * by the first row (sum of x - x0 and (x - x0)^2), which keeps the one-pass variance free of
 * cancellation. */
#include <math.h>
#include <string.h>

#include "kernels/fast/fast.h"

#define PARTS 16      /* fixed pieces of the rows of a reduction */
#define BLOCK 32      /* rows summed in float before adding into double */
#define CMAX 512      /* channels per reduction chunk (larger C runs in chunks) */
#define PAR_MIN 32768 /* elements below which loops stay on one thread */
#define LANES 16      /* channels of one block (one AVX-512 register) */

/* A batch-norm tensor (N, C, HW) in the activation layout, and the chunk of its channels one
 * pass handles: blocks [j0, j1) and, within each, lanes [l0, l0 + ln). Chunk channel i (0 <= i <
 * (j1 - j0) * ln, at most CMAX) is channel (j0 + i / ln) * cb + l0 + i % ln. */
typedef struct bn_view {
    int n, hw, cb, nb; /* batch, pixels, channels per block, blocks (C = nb * cb) */
    int j0, j1, l0, ln;
} bn_view;

typedef struct bn_sums {
    double a[PARTS][CMAX], b[PARTS][CMAX];
} bn_sums;

/* The chunks of C channels: whole blocks, CMAX channels at a time (blocked layout), or lane
 * ranges of the single NHWC block. Returns the number of chunks; chunk i is set by chunk_at. */
static int chunk_count(int c)
{
    const int cb = dpf_fast_act_block(c);
    return cb == c ? (c + CMAX - 1) / CMAX : (c / cb + CMAX / cb - 1) / (CMAX / cb);
}

static bn_view chunk_at(int n, int c, int hw, int i)
{
    const int cb = dpf_fast_act_block(c);
    bn_view v = {n, hw, cb, c / cb, 0, 1, 0, cb};
    if (cb == c) { /* NHWC: one block, lanes in CMAX pieces */
        v.l0 = i * CMAX;
        v.ln = c - v.l0 < CMAX ? c - v.l0 : CMAX;
    } else {
        v.j0 = i * (CMAX / cb);
        v.j1 = v.j0 + CMAX / cb < v.nb ? v.j0 + CMAX / cb : v.nb;
    }
    return v;
}

static int chunk_channels(const bn_view *v)
{
    return (v->j1 - v->j0) * v->ln;
}

static int chunk_channel(const bn_view *v, int i)
{
    return (v->j0 + i / v->ln) * v->cb + v->l0 + i % v->ln;
}

/* Offset of row m (sample m / hw, pixel m % hw) of block j, lane l0 (not for inner loops: it
 * divides). */
static size_t row_at(const bn_view *v, int j, size_t m)
{
    const size_t hw = (size_t)v->hw;
    return (((m / hw) * (size_t)v->nb + (size_t)j) * hw + m % hw) * (size_t)v->cb +
           (size_t)v->l0;
}

/* Row range of piece p of `rows`. */
static void piece(size_t rows, int p, size_t *lo, size_t *hi)
{
    *lo = rows * (size_t)p / PARTS;
    *hi = rows * (size_t)(p + 1) / PARTS;
}

/* Rows [lo, hi) of block j of piece_sums, its ln lanes added into pa / pb. Always inlined, so
 * that a call with a constant ln compiles to straight vector code (a loop of runtime length
 * costs more than the work of one 16-lane row). */
static inline __attribute__((always_inline)) void
piece_block_sums(double *pa, double *pb, float *u_out, const float *g, const float *y_relu,
                 const float *x, const float *cj, const bn_view *v, int j, size_t lo, size_t hi,
                 int ln)
{
    for (size_t r0 = lo; r0 < hi; r0 += BLOCK) {
        float fa[CMAX], fb[CMAX]; /* only the ln lanes in use are zeroed */
        for (int l = 0; l < ln; l++)
            fa[l] = fb[l] = 0.0f;
        size_t r1 = r0 + BLOCK < hi ? r0 + BLOCK : hi;
        size_t ni = r0 / (size_t)v->hw, px = r0 % (size_t)v->hw; /* row r0 */
        for (size_t r = r0; r < r1; r++) {
            const size_t o = ((ni * (size_t)v->nb + (size_t)j) * (size_t)v->hw + px) *
                                 (size_t)v->cb + (size_t)v->l0;
            if (++px == (size_t)v->hw)
                px = 0, ni++;
            for (int l = 0; l < ln; l++) {
                float d = x[o + l] - cj[l];
                float u = !g ? d : y_relu && !(y_relu[o + l] > 0.0f) ? 0.0f : g[o + l];
                if (u_out)
                    u_out[o + l] = u;
                fa[l] += u;
                fb[l] += u * d;
            }
        }
        for (int l = 0; l < ln; l++) {
            pa[l] += fa[l];
            pb[l] += fb[l];
        }
    }
}

/* The one reduction of batch norm, for the channels of chunk v over all N*HW rows:
 *   u = g ? (g [* (y_relu > 0)]) : (x - center),  v = x - center,  sa = sum u,  sb = sum u v.
 * Forward statistics: g NULL, center = the first row (sum of x - x0 and of (x - x0)^2).
 * Backward: g = dy, center = the mean (sum of g and of g (x - mean)); u_out (if not NULL) gets
 * u, the gradient past the ReLU. center, sa and sb are indexed by chunk channel. The pointer
 * tests are loop-invariant; the compiler unswitches them out of the vectorised inner loop. */
static void piece_sums(double *sa, double *sb, float *u_out, const float *g, const float *y_relu,
                       const float *x, const float *center, const bn_view *v, bn_sums *t)
{
    const size_t rows = (size_t)v->n * v->hw;
    const int cn = chunk_channels(v);
#pragma omp parallel for schedule(static) if (rows * (size_t)cn >= PAR_MIN)
    for (int p = 0; p < PARTS; p++) {
        size_t lo, hi;
        piece(rows, p, &lo, &hi);
        double *pa = t->a[p], *pb = t->b[p];
        for (int i = 0; i < cn; i++)
            pa[i] = pb[i] = 0.0;
        for (int j = v->j0; j < v->j1; j++) {
            const int i0 = (j - v->j0) * v->ln;
            if (v->ln == LANES) /* the common case, compiled for exactly one vector of lanes */
                piece_block_sums(pa + i0, pb + i0, u_out, g, y_relu, x, center + i0, v, j, lo, hi,
                                 LANES);
            else
                piece_block_sums(pa + i0, pb + i0, u_out, g, y_relu, x, center + i0, v, j, lo, hi,
                                 v->ln);
        }
    }
    for (int i = 0; i < cn; i++) { /* the pieces in order: deterministic */
        double a = 0.0, b = 0.0;
        for (int p = 0; p < PARTS; p++) {
            a += t->a[p][i];
            b += t->b[p][i];
        }
        sa[i] = a;
        sb[i] = b;
    }
}

/* Chunk v of every sample: y = (x - mean) * scale + shift [+ res] [then max(y, 0)]
 * (coefficients per chunk channel); centring first keeps large channel means from cancelling
 * digits. */
static inline __attribute__((always_inline)) void
plane_apply(float *y, const float *x, const float *res, const float *m, const float *sc,
            const float *sh, size_t base, const bn_view *v, int relu, int ln)
{
    float mr[CMAX], scr[CMAX], shr[CMAX]; /* local copies: y cannot alias them */
    for (int l = 0; l < ln; l++)
        mr[l] = m[l], scr[l] = sc[l], shr[l] = sh[l];
    for (int p = 0; p < v->hw; p++) {
        const size_t o = base + (size_t)p * v->cb;
        for (int l = 0; l < ln; l++) {
            float u = (x[o + l] - mr[l]) * scr[l] + shr[l];
            if (res)
                u += res[o + l];
            y[o + l] = relu && u < 0.0f ? 0.0f : u;
        }
    }
}

static void bn_apply(float *y, const float *x, const float *res, const float *mean,
                     const float *scale, const float *shift, const bn_view *v, int relu)
{
    const int ln = v->ln, nj = v->j1 - v->j0;
#pragma omp parallel for collapse(2) schedule(static) \
    if ((size_t)v->n * v->hw * chunk_channels(v) >= PAR_MIN)
    for (int ni = 0; ni < v->n; ni++)
        for (int jj = 0; jj < nj; jj++) {
            const size_t base = row_at(v, v->j0 + jj, (size_t)ni * v->hw);
            const int i0 = jj * ln;
            if (ln == LANES) /* as in piece_sums */
                plane_apply(y, x, res, mean + i0, scale + i0, shift + i0, base, v, relu, LANES);
            else
                plane_apply(y, x, res, mean + i0, scale + i0, shift + i0, base, v, relu, ln);
        }
}

void dpf_fast_bn_forward_train(float *y, float *save_mean, float *save_invstd,
                               float *running_mean, float *running_var, const float *x,
                               const float *res, const float *gamma, const float *beta, int n,
                               int c, int hw, float momentum, float eps, int relu)
{
    bn_sums t; /* 128 KiB of partial sums on the caller's stack */
    const double m = (double)n * hw, unbias = m > 1.0 ? m / (m - 1.0) : 1.0;
    float mu[CMAX], scale[CMAX], shift[CMAX], first[CMAX];
    double sa[CMAX], sb[CMAX];
    for (int ch = 0, nch = chunk_count(c); ch < nch; ch++) {
        const bn_view v = chunk_at(n, c, hw, ch);
        const int cn = chunk_channels(&v);
        for (int i = 0; i < cn; i++) /* the first row: the shift */
            first[i] = x[row_at(&v, v.j0 + i / v.ln, 0) + (size_t)(i % v.ln)];
        piece_sums(sa, sb, NULL, NULL, NULL, x, first, &v, &t);
        for (int i = 0; i < cn; i++) {
            const int ci = chunk_channel(&v, i);
            const double dm = sa[i] / m;
            double var = sb[i] / m - dm * dm;
            var = var < 0.0 ? 0.0 : var;
            const double mean = (double)first[i] + dm;
            const double invstd = 1.0 / sqrt(var + (double)eps);
            const double g = gamma ? (double)gamma[ci] : 1.0;
            mu[i] = (float)mean;
            scale[i] = (float)(invstd * g);
            shift[i] = beta ? beta[ci] : 0.0f;
            if (save_mean)
                save_mean[ci] = (float)mean;
            if (save_invstd)
                save_invstd[ci] = (float)invstd;
            if (running_mean)
                running_mean[ci] = (float)((1.0 - momentum) * (double)running_mean[ci] +
                                           (double)momentum * mean);
            if (running_var)
                running_var[ci] = (float)((1.0 - momentum) * (double)running_var[ci] +
                                          (double)momentum * var * unbias);
        }
        bn_apply(y, x, res, mu, scale, shift, &v, relu);
    }
}

void dpf_fast_bn_forward_eval(float *y, const float *x, const float *res, const float *gamma,
                              const float *beta, const float *running_mean,
                              const float *running_var, int n, int c, int hw, float eps, int relu)
{
    float mu[CMAX], scale[CMAX], shift[CMAX];
    for (int ch = 0, nch = chunk_count(c); ch < nch; ch++) {
        const bn_view v = chunk_at(n, c, hw, ch);
        for (int i = 0, cn = chunk_channels(&v); i < cn; i++) {
            const int ci = chunk_channel(&v, i);
            const double var = running_var ? (double)running_var[ci] : 1.0;
            const double g = gamma ? (double)gamma[ci] : 1.0;
            mu[i] = running_mean ? running_mean[ci] : 0.0f;
            scale[i] = (float)(g / sqrt(var + (double)eps));
            shift[i] = beta ? beta[ci] : 0.0f;
        }
        bn_apply(y, x, res, mu, scale, shift, &v, relu);
    }
}

/* The input gradient over one plane of chunk v: g = dres ? dres : dy [* (y_relu > 0)],
 * dx = k (g - mdy - (x - mean) cx), coefficients co = {k, mdy, mean, cx} per chunk channel. */
static inline __attribute__((always_inline)) void
plane_backward(float *dx, const float *dres, const float *dy, const float *y_relu,
               const float *x, const float *const co[4], size_t base, const bn_view *v, int ln)
{
    float k[CMAX], mdy[CMAX], mean[CMAX], cx[CMAX]; /* local copies: dx cannot alias them */
    for (int l = 0; l < ln; l++)
        k[l] = co[0][l], mdy[l] = co[1][l], mean[l] = co[2][l], cx[l] = co[3][l];
    for (int p = 0; p < v->hw; p++) {
        const size_t o = base + (size_t)p * v->cb;
        for (int l = 0; l < ln; l++) {
            float g = dres                                   ? dres[o + l]
                      : y_relu && !(y_relu[o + l] > 0.0f) ? 0.0f
                                                          : dy[o + l];
            dx[o + l] = k[l] * (g - mdy[l] - (x[o + l] - mean[l]) * cx[l]);
        }
    }
}

/* With dres, the first pass writes the gradient past the ReLU there, and the second reads it
 * back instead of dy and y_relu. */
void dpf_fast_bn_backward(float *dx, float *dres, float *dgamma, float *dbeta, const float *dy,
                          const float *x, const float *y_relu, const float *save_mean,
                          const float *save_invstd, const float *gamma, int n, int c, int hw)
{
    bn_sums t; /* 128 KiB of partial sums on the caller's stack */
    const double m = (double)n * hw;
    float mean[CMAX], k[CMAX], mdy[CMAX], cx[CMAX];
    double sa[CMAX], sb[CMAX];
    for (int ch = 0, nch = chunk_count(c); ch < nch; ch++) {
        const bn_view v = chunk_at(n, c, hw, ch);
        const int cn = chunk_channels(&v), ln = v.ln, nj = v.j1 - v.j0;
        for (int i = 0; i < cn; i++)
            mean[i] = save_mean[chunk_channel(&v, i)];
        piece_sums(sa, sb, dres, dy, y_relu, x, mean, &v, &t);
        for (int i = 0; i < cn; i++) {
            const int ci = chunk_channel(&v, i);
            const double invstd = (double)save_invstd[ci];
            const double sdyx = sb[i] * invstd; /* sum(g * xhat) */
            if (dgamma)
                dgamma[ci] += (float)sdyx;
            if (dbeta)
                dbeta[ci] += (float)sa[i];
            k[i] = (float)((gamma ? (double)gamma[ci] : 1.0) * invstd);
            mdy[i] = (float)(sa[i] / m);
            cx[i] = (float)(sdyx / m * invstd);
        }
        if (!dx)
            continue;
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)n * hw * cn >= PAR_MIN)
        for (int ni = 0; ni < n; ni++)
            for (int jj = 0; jj < nj; jj++) {
                const size_t base = row_at(&v, v.j0 + jj, (size_t)ni * hw);
                const int i0 = jj * ln;
                const float *co[4] = {k + i0, mdy + i0, mean + i0, cx + i0};
                if (ln == LANES) /* as in piece_sums */
                    plane_backward(dx, dres, dy, y_relu, x, co, base, &v, LANES);
                else
                    plane_backward(dx, dres, dy, y_relu, x, co, base, &v, ln);
            }
    }
}

static void nhwc_maxpool_forward(float *y, int32_t *argmax, const float *x, int n, int c, int h,
                              int w, int k, int st, int oh, int ow)
{
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)n * c * h * w >= PAR_MIN)
    for (int ni = 0; ni < n; ni++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                const size_t o = (((size_t)ni * oh + oy) * ow + ox) * c;
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        const int iy = oy * st + ky, ix = ox * st + kx, at = iy * w + ix;
                        const float *xr = x + (((size_t)ni * h + iy) * w + ix) * c;
                        for (int j = 0; j < c; j++)
                            if ((ky == 0 && kx == 0) || xr[j] > y[o + j] ||
                                (isnan(xr[j]) && !isnan(y[o + j]))) {
                                y[o + j] = xr[j];
                                if (argmax)
                                    argmax[o + j] = at;
                            }
                    }
            }
}

static void nhwc_maxpool_backward(float *dx, const float *dy, const int32_t *argmax, int n, int c,
                               int h, int w, int oh, int ow)
{
    if (!dx)
        return;
#pragma omp parallel for schedule(static) if ((size_t)n * c * h * w >= PAR_MIN)
    for (int ni = 0; ni < n; ni++) {
        float *dxn = dx + (size_t)ni * h * w * c;
        memset(dxn, 0, (size_t)h * w * c * sizeof(float));
        const size_t o0 = (size_t)ni * oh * ow * c;
        for (size_t o = 0; o < (size_t)oh * ow; o++)
            for (int j = 0; j < c; j++)
                dxn[(size_t)argmax[o0 + o * c + j] * c + j] += dy[o0 + o * c + j];
    }
}

static void nhwc_gap_forward(float *y, const float *x, int n, int c, int hw)
{
#pragma omp parallel for schedule(static) if ((size_t)n * c * hw >= PAR_MIN)
    for (int ni = 0; ni < n; ni++) {
        float *yn = y + (size_t)ni * c;
        const float *xn = x + (size_t)ni * hw * c;
        for (int j = 0; j < c; j++)
            yn[j] = 0.0f;
        for (int p = 0; p < hw; p++)
            for (int j = 0; j < c; j++)
                yn[j] += xn[(size_t)p * c + j];
        for (int j = 0; j < c; j++)
            yn[j] /= (float)hw;
    }
}

static void nhwc_gap_backward(float *dx, const float *dy, int n, int c, int hw)
{
    if (!dx)
        return;
#pragma omp parallel for schedule(static) if ((size_t)n * c * hw >= PAR_MIN)
    for (int ni = 0; ni < n; ni++)
        for (int p = 0; p < hw; p++)
            for (int j = 0; j < c; j++)
                dx[((size_t)ni * hw + p) * c + j] = dy[(size_t)ni * c + j] / (float)hw;
}

static void nchw_to_nhwc(float *y, const float *x, int n, int c, int hw)
{
#pragma omp parallel for schedule(static) if ((size_t)n * c * hw >= PAR_MIN)
    for (int ni = 0; ni < n; ni++)
        for (int p = 0; p < hw; p++)
            for (int j = 0; j < c; j++)
                y[((size_t)ni * hw + p) * c + j] = x[((size_t)ni * c + j) * hw + p];
}

static void nhwc_to_nchw(float *y, const float *x, int n, int c, int hw)
{
#pragma omp parallel for schedule(static) if ((size_t)n * c * hw >= PAR_MIN)
    for (int ni = 0; ni < n; ni++)
        for (int j = 0; j < c; j++)
            for (int p = 0; p < hw; p++)
                y[((size_t)ni * c + j) * hw + p] = x[((size_t)ni * hw + p) * c + j];
}

/* The layout is N*CB NHWC planes of cb channels, and NCHW (N, C) is NCHW (N*CB, cb): the
 * per-plane kernels above run unchanged on that view (so does the (N, C) output of the average
 * pool: sample n's channel block j is plane n*CB + j). */
void dpf_fast_maxpool_forward(float *y, int32_t *argmax, const float *x, int n, int c, int h,
                              int w, int k, int st, int oh, int ow)
{
    const int cb = dpf_fast_act_block(c);
    nhwc_maxpool_forward(y, argmax, x, n * (c / cb), cb, h, w, k, st, oh, ow);
}

void dpf_fast_maxpool_backward(float *dx, const float *dy, const int32_t *argmax, int n, int c,
                               int h, int w, int oh, int ow)
{
    const int cb = dpf_fast_act_block(c);
    nhwc_maxpool_backward(dx, dy, argmax, n * (c / cb), cb, h, w, oh, ow);
}

void dpf_fast_gap_forward(float *y, const float *x, int n, int c, int hw)
{
    const int cb = dpf_fast_act_block(c);
    nhwc_gap_forward(y, x, n * (c / cb), cb, hw);
}

void dpf_fast_gap_backward(float *dx, const float *dy, int n, int c, int hw)
{
    const int cb = dpf_fast_act_block(c);
    nhwc_gap_backward(dx, dy, n * (c / cb), cb, hw);
}

void dpf_fast_act_from_nchw(float *y, const float *x, int n, int c, int hw)
{
    const int cb = dpf_fast_act_block(c);
    nchw_to_nhwc(y, x, n * (c / cb), cb, hw);
}

void dpf_fast_act_to_nchw(float *y, const float *x, int n, int c, int hw)
{
    const int cb = dpf_fast_act_block(c);
    nhwc_to_nchw(y, x, n * (c / cb), cb, hw);
}

void dpf_fast_accumulate(float *y, const float *x, size_t count)
{
#pragma omp parallel for schedule(static) if (count >= PAR_MIN)
    for (size_t i = 0; i < count; i++)
        y[i] += x[i];
}
