/* fast/gemm.c — float32 GEMM and the linear layer on oneDNN's dnnl_sgemm (row-major, threaded
 * with OpenMP; single-threaded when called inside a parallel region). Should oneDNN ever reject
 * a call, the reference GEMM computes it instead, so a kernel never fails. */
#include <oneapi/dnnl/dnnl.h>

#include "kernels/fast/fast.h"

void dpf_fast_gemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                   const float *b, int ldb, float beta, float *c, int ldc)
{
    if (m <= 0 || n <= 0)
        return;
    if (k <= 0 || alpha == 0.0f) { /* C = beta * C, with beta == 0 overwriting */
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                c[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[(size_t)i * ldc + j];
        return;
    }
    dnnl_status_t st = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb,
                                  beta, c, ldc);
    if (st != dnnl_success)
        dpf_ref_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void dpf_fast_linear_forward(float *y, const float *x, const float *w, const float *b, int n,
                             int in, int out)
{
    if (n <= 0 || out <= 0)
        return;
    if (b)
        for (int i = 0; i < n; i++)
            for (int o = 0; o < out; o++)
                y[(size_t)i * out + o] = b[o];
    /* y (n, out) = x (n, in) @ w^T (in, out) [+ y] */
    dpf_fast_gemm(0, 1, n, out, in, 1.0f, x, in, w, in, b ? 1.0f : 0.0f, y, out);
}

void dpf_fast_linear_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                              const float *w, int n, int in, int out)
{
    if (n <= 0 || out <= 0)
        return;
    if (dx) /* dx (n, in) = dy (n, out) @ w (out, in) */
        dpf_fast_gemm(0, 0, n, in, out, 1.0f, dy, out, w, in, 0.0f, dx, in);
    if (dw) /* dw (out, in) += dy^T (out, n) @ x (n, in) */
        dpf_fast_gemm(1, 0, out, in, n, 1.0f, dy, out, x, in, 1.0f, dw, in);
    if (db) {
        for (int o = 0; o < out; o++) {
            double acc = 0.0;
            for (int i = 0; i < n; i++)
                acc += (double)dy[(size_t)i * out + o];
            db[o] += (float)acc;
        }
    }
}
