/* ref/pool.c — max-pool (no padding, floor mode) and global average pool (also the production
 * implementation). Max-pool follows PyTorch's CPU kernel: scan the window in row-major order,
 * keep the first strict maximum, and let NaN win (so NaN propagates). */
#include <math.h>

#include "kernels/ref/ref.h"

#define POOL_CHUNK 256 /* output columns handled together */

/* One chunk of an output row: columns [ox0, ox0 + cnt) of output row oy. The window elements
 * are visited in row-major order (ky, kx) for all columns at once, so the inner loop over
 * columns vectorises, and each window still sees its candidates in scan order. */
static void maxpool_row_chunk(dpf_real *yr, int32_t *ar, const dpf_real *xp, int h, int w, int k,
                              int st, int oy, int ox0, int cnt)
{
    dpf_real best[POOL_CHUNK];
    int32_t idx[POOL_CHUNK];
    const int y0 = oy * st;
    for (int j = 0; j < cnt; j++) {
        best[j] = -(dpf_real)INFINITY;
        idx[j] = y0 * w + (ox0 + j) * st;
    }
    for (int ky = 0; ky < k && y0 + ky < h; ky++) {
        for (int kx = 0; kx < k; kx++) {
            /* columns whose window still has input column (ox0 + j) * st + kx < w */
            int lim = (w - kx + st - 1) / st - ox0;
            lim = lim < cnt ? lim : cnt;
            const int base = (y0 + ky) * w + ox0 * st + kx;
            const dpf_real *r = xp + base;
            for (int j = 0; j < lim; j++) {
                const dpf_real v = r[j * st];
                const int take = (v > best[j]) | (v != v); /* v != v: NaN wins */
                best[j] = take ? v : best[j];
                idx[j] = take ? base + j * st : idx[j];
            }
        }
    }
    for (int j = 0; j < cnt; j++)
        yr[j] = best[j];
    if (ar)
        for (int j = 0; j < cnt; j++)
            ar[j] = idx[j];
}

void dpf_ref_maxpool_forward(dpf_real *y, int32_t *argmax, const dpf_real *x, int n, int c, int h,
                             int w, int k, int st, int oh, int ow)
{
    const int planes = n * c;
    const size_t out_plane = (size_t)oh * ow;
#pragma omp parallel for schedule(static) if ((size_t)planes * h * w >= DPF_REF_OMP_MIN)
    for (int p = 0; p < planes; p++) {
        const dpf_real *xp = x + (size_t)p * h * w;
        for (int oy = 0; oy < oh; oy++) {
            for (int ox0 = 0; ox0 < ow; ox0 += POOL_CHUNK) {
                const int cnt = ow - ox0 < POOL_CHUNK ? ow - ox0 : POOL_CHUNK;
                const size_t o = (size_t)p * out_plane + (size_t)oy * ow + ox0;
                maxpool_row_chunk(y + o, argmax ? argmax + o : NULL, xp, h, w, k, st, oy, ox0,
                                  cnt);
            }
        }
    }
}

void dpf_ref_maxpool_backward(dpf_real *dx, const dpf_real *dy, const int32_t *argmax, int n,
                              int c, int h, int w, int oh, int ow)
{
    if (!dx)
        return;
    const int planes = n * c;
    const size_t out_plane = (size_t)oh * ow;
    /* Windows may overlap, so one plane belongs to one thread. */
#pragma omp parallel for schedule(static) if ((size_t)planes * h * w >= DPF_REF_OMP_MIN)
    for (int p = 0; p < planes; p++) {
        dpf_real *dxp = dx + (size_t)p * h * w;
        const dpf_real *dyp = dy + (size_t)p * out_plane;
        const int32_t *ap = argmax + (size_t)p * out_plane;
        for (int i = 0; i < h * w; i++)
            dxp[i] = 0;
        for (size_t o = 0; o < out_plane; o++)
            dxp[ap[o]] += dyp[o];
    }
}

void dpf_ref_gap_forward(dpf_real *y, const dpf_real *x, int n, int c, int hw)
{
    const int planes = n * c;
#pragma omp parallel for schedule(static) if ((size_t)planes * hw >= DPF_REF_OMP_MIN)
    for (int p = 0; p < planes; p++) {
        y[p] = (dpf_real)(dpf_ref_sum(x + (size_t)p * hw, (size_t)hw) / hw);
    }
}

void dpf_ref_gap_backward(dpf_real *dx, const dpf_real *dy, int n, int c, int hw)
{
    if (!dx)
        return;
    const int planes = n * c;
#pragma omp parallel for schedule(static) if ((size_t)planes * hw >= DPF_REF_OMP_MIN)
    for (int p = 0; p < planes; p++) {
        dpf_real *dxp = dx + (size_t)p * hw;
        const dpf_real g = dy[p] / (dpf_real)hw;
        for (int i = 0; i < hw; i++)
            dxp[i] = g;
    }
}
