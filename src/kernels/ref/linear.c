/* ref/linear.c — reference fully-connected layer, y = x @ W^T + b with W (OUT, IN) as in
 * PyTorch. Dot products accumulated in double; backward writes dx and adds (+=) into dw / db. */
#include "kernels/ref/ref.h"

void dpf_ref_linear_forward(dpf_real *y, const dpf_real *x, const dpf_real *w, const dpf_real *b,
                            int n, int in, int out)
{
#pragma omp parallel for collapse(2) schedule(static) if ((double)n * in * out >= DPF_REF_OMP_MIN)
    for (int i = 0; i < n; i++) {
        for (int o = 0; o < out; o++) {
            const dpf_real *xr = x + (size_t)i * in, *wr = w + (size_t)o * in;
            double acc = b ? (double)b[o] : 0.0;
            for (int j = 0; j < in; j++)
                acc += (double)xr[j] * (double)wr[j];
            y[(size_t)i * out + o] = (dpf_real)acc;
        }
    }
}

void dpf_ref_linear_backward(dpf_real *dx, dpf_real *dw, dpf_real *db, const dpf_real *dy,
                             const dpf_real *x, const dpf_real *w, int n, int in, int out)
{
    const int big = (double)n * in * out >= DPF_REF_OMP_MIN;
    if (dx) {
#pragma omp parallel for collapse(2) schedule(static) if (big)
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < in; j++) {
                double acc = 0.0;
                for (int o = 0; o < out; o++)
                    acc += (double)dy[(size_t)i * out + o] * (double)w[(size_t)o * in + j];
                dx[(size_t)i * in + j] = (dpf_real)acc;
            }
        }
    }
    if (dw) {
#pragma omp parallel for collapse(2) schedule(static) if (big)
        for (int o = 0; o < out; o++) {
            for (int j = 0; j < in; j++) {
                double acc = 0.0;
                for (int i = 0; i < n; i++)
                    acc += (double)dy[(size_t)i * out + o] * (double)x[(size_t)i * in + j];
                dw[(size_t)o * in + j] += (dpf_real)acc;
            }
        }
    }
    if (db) {
        for (int o = 0; o < out; o++) {
            double acc = 0.0;
            for (int i = 0; i < n; i++)
                acc += (double)dy[(size_t)i * out + o];
            db[o] += (dpf_real)acc;
        }
    }
}
