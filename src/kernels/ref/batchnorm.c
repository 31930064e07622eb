/* ref/batchnorm.c — BatchNorm2d over (N, C, HW) with PyTorch semantics (also the production
 * float32 implementation). Per-channel statistics are accumulated in double with two passes
 * (mean, then centred squares), so the variance does not suffer from cancellation.
 * gamma / beta / running stats / save buffers may be NULL (gamma = 1, beta = 0, not updated).
 * `res` (may be NULL) is a residual added after the normalisation, `relu` a ReLU after that;
 * backward then takes the output y for its mask, and writes the residual's gradient to dres. */
#include <math.h>

#include "kernels/ref/ref.h"

/* Mean and biased variance of channel ci. */
static void channel_stats(const dpf_real *x, int n, int c, int hw, int ci, double *mean,
                          double *var)
{
    const double m = (double)n * hw;
    double sum = 0.0;
    for (int ni = 0; ni < n; ni++)
        sum += dpf_ref_sum(x + ((size_t)ni * c + ci) * hw, (size_t)hw);
    const double mu = sum / m;
    double sq = 0.0;
    for (int ni = 0; ni < n; ni++)
        sq += dpf_ref_sumsq_dev(x + ((size_t)ni * c + ci) * hw, (size_t)hw, mu);
    *mean = mu;
    *var = sq / m;
}

/* y = (x - mean) * (invstd * gamma) + beta [+ res] over channel ci [then max(y, 0)]. */
static void channel_apply(dpf_real *y, const dpf_real *x, const dpf_real *res, int n, int c,
                          int hw, int ci, dpf_real mean, dpf_real scale, dpf_real shift, int relu)
{
    for (int ni = 0; ni < n; ni++) {
        const size_t off = ((size_t)ni * c + ci) * hw;
        const dpf_real *xp = x + off;
        dpf_real *yp = y + off;
        for (int i = 0; i < hw; i++)
            yp[i] = (xp[i] - mean) * scale + shift;
        if (res)
            for (int i = 0; i < hw; i++)
                yp[i] += res[off + i];
        if (relu)
            for (int i = 0; i < hw; i++)
                yp[i] = yp[i] < 0 ? (dpf_real)0 : yp[i];
    }
}

void dpf_ref_bn_forward_train(dpf_real *y, dpf_real *save_mean, dpf_real *save_invstd,
                              dpf_real *running_mean, dpf_real *running_var, const dpf_real *x,
                              const dpf_real *res, const dpf_real *gamma, const dpf_real *beta,
                              int n, int c, int hw, dpf_real momentum, dpf_real eps, int relu)
{
    const double m = (double)n * hw;
    const double unbias = m > 1.0 ? m / (m - 1.0) : 1.0;
    const double mom = (double)momentum;
#pragma omp parallel for schedule(static) if ((size_t)n * c * hw >= DPF_REF_OMP_MIN)
    for (int ci = 0; ci < c; ci++) {
        double mean, var;
        channel_stats(x, n, c, hw, ci, &mean, &var);
        const double invstd = 1.0 / sqrt(var + (double)eps);
        const double g = gamma ? (double)gamma[ci] : 1.0;
        channel_apply(y, x, res, n, c, hw, ci, (dpf_real)mean, (dpf_real)(invstd * g),
                      beta ? beta[ci] : (dpf_real)0, relu);
        if (save_mean)
            save_mean[ci] = (dpf_real)mean;
        if (save_invstd)
            save_invstd[ci] = (dpf_real)invstd;
        if (running_mean)
            running_mean[ci] = (dpf_real)((1.0 - mom) * (double)running_mean[ci] + mom * mean);
        if (running_var)
            running_var[ci] =
                (dpf_real)((1.0 - mom) * (double)running_var[ci] + mom * var * unbias);
    }
}

void dpf_ref_bn_forward_eval(dpf_real *y, const dpf_real *x, const dpf_real *res,
                             const dpf_real *gamma, const dpf_real *beta,
                             const dpf_real *running_mean, const dpf_real *running_var, int n,
                             int c, int hw, dpf_real eps, int relu)
{
#pragma omp parallel for schedule(static) if ((size_t)n * c * hw >= DPF_REF_OMP_MIN)
    for (int ci = 0; ci < c; ci++) {
        const double mean = running_mean ? (double)running_mean[ci] : 0.0;
        const double var = running_var ? (double)running_var[ci] : 1.0;
        const double invstd = 1.0 / sqrt(var + (double)eps);
        const double g = gamma ? (double)gamma[ci] : 1.0;
        channel_apply(y, x, res, n, c, hw, ci, (dpf_real)mean, (dpf_real)(invstd * g),
                      beta ? beta[ci] : (dpf_real)0, relu);
    }
}

/* g = dy [* (y > 0) when the ReLU is fused], xhat = (x - mean) * invstd:
 * dx = gamma * invstd * (g - mean(g) - xhat * mean(g * xhat)), dres = g,
 * dgamma += sum(g * xhat), dbeta += sum(g). */
void dpf_ref_bn_backward(dpf_real *dx, dpf_real *dres, dpf_real *dgamma, dpf_real *dbeta,
                         const dpf_real *dy, const dpf_real *x, const dpf_real *y_relu,
                         const dpf_real *save_mean, const dpf_real *save_invstd,
                         const dpf_real *gamma, int n, int c, int hw)
{
    const double m = (double)n * hw;
#pragma omp parallel for schedule(static) if ((size_t)n * c * hw >= DPF_REF_OMP_MIN)
    for (int ci = 0; ci < c; ci++) {
        const dpf_real mean = save_mean[ci];
        const double invstd = (double)save_invstd[ci];
        double sdy = 0.0, sdyx = 0.0;
        for (int ni = 0; ni < n; ni++) {
            const size_t off = ((size_t)ni * c + ci) * hw;
            if (dres)
                for (int i = 0; i < hw; i++)
                    dres[off + i] = y_relu && !(y_relu[off + i] > 0) ? (dpf_real)0 : dy[off + i];
            if (!y_relu) {
                dpf_ref_sum_dot_dev(dy + off, x + off, (size_t)hw, (double)mean, &sdy, &sdyx);
                continue;
            }
            for (int i = 0; i < hw; i++) {
                const double g = y_relu[off + i] > 0 ? (double)dy[off + i] : 0.0;
                sdy += g;
                sdyx += g * ((double)x[off + i] - (double)mean);
            }
        }
        sdyx *= invstd; /* sum(g * xhat) */
        if (dgamma)
            dgamma[ci] += (dpf_real)sdyx;
        if (dbeta)
            dbeta[ci] += (dpf_real)sdy;
        if (!dx)
            continue;
        const double gm = gamma ? (double)gamma[ci] : 1.0;
        const dpf_real k = (dpf_real)(gm * invstd);
        const dpf_real mdy = (dpf_real)(sdy / m);
        /* (x - mean) * cx == xhat * mean(g * xhat) */
        const dpf_real cx = (dpf_real)(sdyx / m * invstd);
        for (int ni = 0; ni < n; ni++) {
            const size_t off = ((size_t)ni * c + ci) * hw;
            for (int i = 0; i < hw; i++) {
                const dpf_real g = y_relu && !(y_relu[off + i] > 0) ? (dpf_real)0 : dy[off + i];
                dx[off + i] = k * (g - mdy - (x[off + i] - mean) * cx);
            }
        }
    }
}
