/* ref/gemm.c — reference row-major GEMM, C = alpha * op(A) @ op(B) + beta * C.
 * Dot products are accumulated in double. beta == 0 overwrites C without reading it (BLAS rule),
 * so NaN/garbage in C does not leak into the result. */
#include "kernels/ref/ref.h"

void dpf_ref_gemm(int ta, int tb, int m, int n, int k, dpf_real alpha, const dpf_real *a, int lda,
                  const dpf_real *b, int ldb, dpf_real beta, dpf_real *c, int ldc)
{
    if (m <= 0 || n <= 0)
        return;
    /* element (i, p) of op(A) and (p, j) of op(B) */
    const size_t ai = ta ? 1 : (size_t)lda, ap = ta ? (size_t)lda : 1;
    const size_t bp = tb ? 1 : (size_t)ldb, bj = tb ? (size_t)ldb : 1;
#pragma omp parallel for schedule(static) if ((double)m * n * (k > 0 ? k : 1) >= DPF_REF_OMP_MIN)
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double acc = 0.0;
            for (int p = 0; p < k; p++)
                acc += (double)a[i * ai + p * ap] * (double)b[p * bp + j * bj];
            dpf_real *cij = &c[(size_t)i * ldc + j];
            double v = (double)alpha * acc;
            if (beta != 0)
                v += (double)beta * (double)*cij;
            *cij = (dpf_real)v;
        }
    }
}
