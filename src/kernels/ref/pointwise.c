/* ref/pointwise.c — elementwise kernels: ReLU and the residual add with an optional fused ReLU
 * (also the production implementation: they do not depend on the activation layout). ReLU
 * propagates NaN like PyTorch (NaN < 0 is false, so NaN passes through). Backward kernels write
 * (=) their input gradients. */
#include "kernels/ref/ref.h"

void dpf_ref_relu_forward(dpf_real *y, const dpf_real *x, size_t count)
{
#pragma omp parallel for schedule(static) if (count >= DPF_REF_OMP_MIN)
    for (size_t i = 0; i < count; i++)
        y[i] = x[i] < 0 ? (dpf_real)0 : x[i];
}

void dpf_ref_relu_backward(dpf_real *dx, const dpf_real *dy, const dpf_real *y, size_t count)
{
    if (!dx)
        return;
#pragma omp parallel for schedule(static) if (count >= DPF_REF_OMP_MIN)
    for (size_t i = 0; i < count; i++)
        dx[i] = y[i] > 0 ? dy[i] : (dpf_real)0;
}

void dpf_ref_add_forward(dpf_real *y, const dpf_real *a, const dpf_real *b, size_t count, int relu)
{
    if (relu) {
#pragma omp parallel for schedule(static) if (count >= DPF_REF_OMP_MIN)
        for (size_t i = 0; i < count; i++) {
            const dpf_real v = a[i] + b[i];
            y[i] = v < 0 ? (dpf_real)0 : v;
        }
        return;
    }
#pragma omp parallel for schedule(static) if (count >= DPF_REF_OMP_MIN)
    for (size_t i = 0; i < count; i++)
        y[i] = a[i] + b[i];
}

/* da and db may be the same buffer (y = a + a): it then gets 2 dy. */
void dpf_ref_add_backward(dpf_real *da, dpf_real *db, const dpf_real *dy, const dpf_real *y_relu,
                          size_t count)
{
    const dpf_real k = da == db ? 2 : 1;
    if (da == db)
        db = NULL;
#pragma omp parallel for schedule(static) if (count >= DPF_REF_OMP_MIN)
    for (size_t i = 0; i < count; i++) {
        const dpf_real g = y_relu && !(y_relu[i] > 0) ? (dpf_real)0 : dy[i];
        if (da)
            da[i] = k * g;
        if (db)
            db[i] = g;
    }
}
