/* schedule.c — the Zhu & Gupta (2017) cubic sparsity ramp and the mask statistics of the paper:
 * delta_t = ||w - w~||^2 / ||w||^2 and the IoU of consecutive masks (their one definition each:
 * the pruner sums them over its prunable tensors). */
#include "prune/method.h"

double dpf_sparsity_at(double s_final, double s_init, int64_t t, int64_t t0, int64_t t_end)
{
    if (t_end <= t0) /* no ramp: the target from t0 on */
        return t >= t0 ? s_final : s_init;
    if (t <= t0)
        return s_init;
    if (t >= t_end)
        return s_final;
    double r = 1.0 - (double)(t - t0) / (double)(t_end - t0);
    return s_final + (s_init - s_final) * r * r * r;
}

void dpf_delta_sums(const dpf_real *w, const dpf_real *wt, const uint8_t *m, size_t n,
                    double *num, double *den)
{
    for (size_t i = 0; i < n; i++) {
        double d = (double)w[i] - (wt ? (double)wt[i] : m[i] ? (double)w[i] : 0);
        *num += d * d;
        *den += (double)w[i] * (double)w[i];
    }
}

void dpf_iou_sums(const uint8_t *a, const uint8_t *b, size_t n, size_t *inter, size_t *uni)
{
    for (size_t i = 0; i < n; i++) {
        *inter += a[i] & b[i];
        *uni += a[i] | b[i];
    }
}

double dpf_mask_delta(const dpf_real *w, const dpf_real *w_tilde, size_t n)
{
    double num = 0, den = 0;
    dpf_delta_sums(w, w_tilde, NULL, n, &num, &den);
    return den > 0 ? num / den : 0;
}

double dpf_mask_iou(const uint8_t *a, const uint8_t *b, size_t n)
{
    size_t inter = 0, uni = 0;
    dpf_iou_sums(a, b, n, &inter, &uni);
    return uni ? (double)inter / (double)uni : 1.0;
}
