/* ref/loss.c — softmax cross-entropy, mean over the batch (also the production implementation).
 * Each row is stabilised by its maximum; the log-sum-exp and the loss are computed in double.
 * A label outside [0, classes) cannot be reported from a kernel, so it makes the loss NaN
 * (callers check the loss for NaN) and contributes no one-hot term to the gradient. */
#include <math.h>

#include "kernels/ref/ref.h"

double dpf_ref_softmax_ce_forward(dpf_real *probs, const dpf_real *logits, const int32_t *labels,
                                  int n, int classes)
{
    if (n <= 0)
        return 0.0;
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        const dpf_real *z = logits + (size_t)i * classes;
        dpf_real *p = probs + (size_t)i * classes;
        double zmax = -INFINITY;
        for (int j = 0; j < classes; j++)
            if ((double)z[j] > zmax || isnan(z[j]))
                zmax = (double)z[j];
        double sum = 0.0;
        for (int j = 0; j < classes; j++)
            sum += exp((double)z[j] - zmax);
        const double lse = zmax + log(sum);
        for (int j = 0; j < classes; j++)
            p[j] = (dpf_real)exp((double)z[j] - lse);
        const int32_t t = labels[i];
        total += (t >= 0 && t < classes) ? lse - (double)z[t] : NAN;
    }
    return total / n;
}

void dpf_ref_softmax_ce_backward(dpf_real *dlogits, const dpf_real *probs, const int32_t *labels,
                                 int n, int classes, dpf_real scale)
{
    if (n <= 0 || !dlogits)
        return;
    const double f = (double)scale / n;
    for (int i = 0; i < n; i++) {
        const dpf_real *p = probs + (size_t)i * classes;
        dpf_real *d = dlogits + (size_t)i * classes;
        const int32_t t = labels[i];
        for (int j = 0; j < classes; j++)
            d[j] = (dpf_real)(f * ((double)p[j] - (j == t ? 1.0 : 0.0)));
    }
}
