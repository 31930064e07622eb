/* ref/pool.c — max-pool (no padding, floor mode) and global average pool (also the production
 * implementation). Max-pool follows PyTorch's CPU kernel: scan the window in row-major order,
 * keep the first strict maximum, and let NaN win (so NaN propagates). */
#include <math.h>

#include "kernels/ref/ref.h"

void dpf_ref_maxpool_forward(dpf_real *y, int32_t *argmax, const dpf_real *x, int n, int c, int h,
                             int w, int k, int st, int oh, int ow)
{
    const int planes = n * c;
    const size_t out_plane = (size_t)oh * ow;
#pragma omp parallel for schedule(static) if ((size_t)planes * h * w >= DPF_REF_OMP_MIN)
    for (int p = 0; p < planes; p++) {
        const dpf_real *xp = x + (size_t)p * h * w;
        dpf_real *yp = y + (size_t)p * out_plane;
        int32_t *ap = argmax ? argmax + (size_t)p * out_plane : NULL;
        for (int oy = 0; oy < oh; oy++) {
            for (int ox = 0; ox < ow; ox++) {
                const int y0 = oy * st, x0 = ox * st;
                int best_i = y0 * w + x0;
                dpf_real best = -(dpf_real)INFINITY;
                for (int ky = 0; ky < k && y0 + ky < h; ky++) {
                    for (int kx = 0; kx < k && x0 + kx < w; kx++) {
                        const int i = (y0 + ky) * w + x0 + kx;
                        const dpf_real v = xp[i];
                        if (v > best || isnan(v)) {
                            best = v;
                            best_i = i;
                        }
                    }
                }
                yp[(size_t)oy * ow + ox] = best;
                if (ap)
                    ap[(size_t)oy * ow + ox] = (int32_t)best_i;
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
            dxp[i] += g;
    }
}
