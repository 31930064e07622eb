/* fast/nhwc.c — float32 kernels on channels-last activations (element (n, c, h, w) at
 * ((n*H + h)*W + w)*C + c): batch norm with a fused ReLU, max-pool, global average pool, the
 * NCHW <-> NHWC layout changes and the gradient sum. Rows of C contiguous channels make every
 * inner loop a unit-stride loop over channels that the compiler vectorises.
 *
 * Batch-norm reductions are deterministic and independent of the thread count: the rows are cut
 * into PARTS fixed pieces, each piece sums in float over blocks of BLOCK rows into double
 * partials, and the partials are added in piece order. Statistics are shifted by the first
 * row (sum of x - x0 and (x - x0)^2), which keeps the one-pass variance free of cancellation. */
#include <math.h>
#include <string.h>

#include "kernels/fast/fast.h"

#define PARTS 16      /* fixed pieces of the rows of a reduction */
#define BLOCK 32      /* rows summed in float before adding into double */
#define CMAX 512      /* channels per reduction chunk (larger C runs in chunks) */
#define PAR_MIN 32768 /* elements below which loops stay on one thread */

typedef struct bn_sums {
    double a[PARTS][CMAX], b[PARTS][CMAX];
} bn_sums;

/* Row range of piece p of `rows`. */
static void piece(size_t rows, int p, size_t *lo, size_t *hi)
{
    *lo = rows * (size_t)p / PARTS;
    *hi = rows * (size_t)(p + 1) / PARTS;
}

/* sa / sb = the pieces' partial sums added in piece order (deterministic). */
static void combine(double *sa, double *sb, const bn_sums *t, int cn)
{
    for (int j = 0; j < cn; j++) {
        double a = 0.0, b = 0.0;
        for (int p = 0; p < PARTS; p++) {
            a += t->a[p][j];
            b += t->b[p][j];
        }
        sa[j] = a;
        sb[j] = b;
    }
}

/* The one reduction of batch norm, for channels [c0, c0 + cn) over all rows:
 *   u = g ? (g [* (y_relu > 0)]) : (x - center),  v = x - center,  sa = sum u,  sb = sum u v.
 * Forward statistics: g NULL, center = the first row (sum of x - x0 and of (x - x0)^2).
 * Backward: g = dy, center = the mean (sum of g and of g (x - mean)). The pointer tests are
 * loop-invariant; the compiler unswitches them out of the vectorised inner loop. */
static void piece_sums(double *sa, double *sb, const float *g, const float *y_relu,
                       const float *x, const float *center, size_t rows, int c, int c0, int cn,
                       bn_sums *t)
{
#pragma omp parallel for schedule(static) if (rows * (size_t)cn >= PAR_MIN)
    for (int p = 0; p < PARTS; p++) {
        size_t lo, hi;
        piece(rows, p, &lo, &hi);
        double *pa = t->a[p], *pb = t->b[p];
        for (int j = 0; j < cn; j++)
            pa[j] = pb[j] = 0.0;
        for (size_t r0 = lo; r0 < hi; r0 += BLOCK) {
            float fa[CMAX] = {0}, fb[CMAX] = {0};
            size_t r1 = r0 + BLOCK < hi ? r0 + BLOCK : hi;
            for (size_t r = r0; r < r1; r++) {
                const size_t o = r * (size_t)c + c0;
                for (int j = 0; j < cn; j++) {
                    float v = x[o + j] - center[j];
                    float u = !g ? v : y_relu && !(y_relu[o + j] > 0.0f) ? 0.0f : g[o + j];
                    fa[j] += u;
                    fb[j] += u * v;
                }
            }
            for (int j = 0; j < cn; j++) {
                pa[j] += fa[j];
                pb[j] += fb[j];
            }
        }
    }
    combine(sa, sb, t, cn);
}

/* Channels [c0, c0 + cn) of every row: y = (x - mean) * scale + shift [then max(y, 0)];
 * centring first keeps large channel means from cancelling digits. */
static void bn_apply(float *y, const float *x, const float *mean, const float *scale,
                     const float *shift, size_t rows, int c, int c0, int cn, int relu)
{
#pragma omp parallel for schedule(static) if (rows * (size_t)cn >= PAR_MIN)
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * (size_t)c + c0;
        float *yr = y + r * (size_t)c + c0;
        for (int j = 0; j < cn; j++) {
            float v = (xr[j] - mean[j]) * scale[j] + shift[j];
            yr[j] = relu && v < 0.0f ? 0.0f : v;
        }
    }
}

void dpf_fast_bn_forward_train(float *y, float *save_mean, float *save_invstd,
                               float *running_mean, float *running_var, const float *x,
                               const float *gamma, const float *beta, int n, int c, int hw,
                               float momentum, float eps, int relu)
{
    bn_sums t; /* 128 KiB of partial sums on the caller's stack */
    const size_t rows = (size_t)n * hw;
    const double m = (double)rows, unbias = m > 1.0 ? m / (m - 1.0) : 1.0;
    float mu[CMAX], scale[CMAX], shift[CMAX];
    for (int c0 = 0; c0 < c; c0 += CMAX) {
        const int cn = c - c0 < CMAX ? c - c0 : CMAX;
        double sa[CMAX], sb[CMAX];
        const float *x0 = x + c0; /* the first row: the shift */
        float first[CMAX];
        memcpy(first, x0, (size_t)cn * sizeof(float));
        piece_sums(sa, sb, NULL, NULL, x, first, rows, c, c0, cn, &t);
        for (int j = 0; j < cn; j++) {
            const int ci = c0 + j;
            const double dm = sa[j] / m;
            double var = sb[j] / m - dm * dm;
            var = var < 0.0 ? 0.0 : var;
            const double mean = (double)first[j] + dm;
            const double invstd = 1.0 / sqrt(var + (double)eps);
            const double g = gamma ? (double)gamma[ci] : 1.0;
            mu[j] = (float)mean;
            scale[j] = (float)(invstd * g);
            shift[j] = beta ? beta[ci] : 0.0f;
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
        bn_apply(y, x, mu, scale, shift, rows, c, c0, cn, relu);
    }
}

void dpf_fast_bn_forward_eval(float *y, const float *x, const float *gamma, const float *beta,
                              const float *running_mean, const float *running_var, int n, int c,
                              int hw, float eps, int relu)
{
    const size_t rows = (size_t)n * hw;
    for (int c0 = 0; c0 < c; c0 += CMAX) {
        const int cn = c - c0 < CMAX ? c - c0 : CMAX;
        float mu[CMAX], scale[CMAX], shift[CMAX];
        for (int j = 0; j < cn; j++) {
            const int ci = c0 + j;
            const double var = running_var ? (double)running_var[ci] : 1.0;
            const double g = gamma ? (double)gamma[ci] : 1.0;
            mu[j] = running_mean ? running_mean[ci] : 0.0f;
            scale[j] = (float)(g / sqrt(var + (double)eps));
            shift[j] = beta ? beta[ci] : 0.0f;
        }
        bn_apply(y, x, mu, scale, shift, rows, c, c0, cn, relu);
    }
}

void dpf_fast_bn_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                          const float *y_relu, const float *save_mean, const float *save_invstd,
                          const float *gamma, int n, int c, int hw)
{
    bn_sums t; /* 128 KiB of partial sums on the caller's stack */
    const size_t rows = (size_t)n * hw;
    const double m = (double)rows;
    for (int c0 = 0; c0 < c; c0 += CMAX) {
        const int cn = c - c0 < CMAX ? c - c0 : CMAX;
        double sa[CMAX], sb[CMAX];
        float k[CMAX], mdy[CMAX], cx[CMAX];
        piece_sums(sa, sb, dy, y_relu, x, save_mean + c0, rows, c, c0, cn, &t);
        for (int j = 0; j < cn; j++) {
            const int ci = c0 + j;
            const double invstd = (double)save_invstd[ci];
            const double sdyx = sb[j] * invstd; /* sum(g * xhat) */
            if (dgamma)
                dgamma[ci] += (float)sdyx;
            if (dbeta)
                dbeta[ci] += (float)sa[j];
            k[j] = (float)((gamma ? (double)gamma[ci] : 1.0) * invstd);
            mdy[j] = (float)(sa[j] / m);
            cx[j] = (float)(sdyx / m * invstd);
        }
        if (!dx)
            continue;
        const float *mean = save_mean + c0;
#pragma omp parallel for schedule(static) if (rows * (size_t)cn >= PAR_MIN)
        for (size_t r = 0; r < rows; r++) {
            const size_t o = r * (size_t)c + c0;
            for (int j = 0; j < cn; j++) {
                float g = y_relu && !(y_relu[o + j] > 0.0f) ? 0.0f : dy[o + j];
                dx[o + j] = k[j] * (g - mdy[j] - (x[o + j] - mean[j]) * cx[j]);
            }
        }
    }
}

void dpf_fast_maxpool_forward(float *y, int32_t *argmax, const float *x, int n, int c, int h,
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
                                argmax[o + j] = at;
                            }
                    }
            }
}

void dpf_fast_maxpool_backward(float *dx, const float *dy, const int32_t *argmax, int n, int c,
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

void dpf_fast_gap_forward(float *y, const float *x, int n, int c, int hw)
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

void dpf_fast_gap_backward(float *dx, const float *dy, int n, int c, int hw)
{
    if (!dx)
        return;
#pragma omp parallel for schedule(static) if ((size_t)n * c * hw >= PAR_MIN)
    for (int ni = 0; ni < n; ni++)
        for (int p = 0; p < hw; p++)
            for (int j = 0; j < c; j++)
                dx[((size_t)ni * hw + p) * c + j] = dy[(size_t)ni * c + j] / (float)hw;
}

void dpf_fast_nchw_to_nhwc(float *y, const float *x, int n, int c, int hw)
{
#pragma omp parallel for schedule(static) if ((size_t)n * c * hw >= PAR_MIN)
    for (int ni = 0; ni < n; ni++)
        for (int p = 0; p < hw; p++)
            for (int j = 0; j < c; j++)
                y[((size_t)ni * hw + p) * c + j] = x[((size_t)ni * c + j) * hw + p];
}

void dpf_fast_nhwc_to_nchw(float *y, const float *x, int n, int c, int hw)
{
#pragma omp parallel for schedule(static) if ((size_t)n * c * hw >= PAR_MIN)
    for (int ni = 0; ni < n; ni++)
        for (int j = 0; j < c; j++)
            for (int p = 0; p < hw; p++)
                y[((size_t)ni * c + j) * hw + p] = x[((size_t)ni * hw + p) * c + j];
}

void dpf_fast_accumulate(float *y, const float *x, size_t count)
{
#pragma omp parallel for schedule(static) if (count >= PAR_MIN)
    for (size_t i = 0; i < count; i++)
        y[i] += x[i];
}
