/* compress.c — compressors C for DPF beyond masks (paper §4, "Extension to other compression
 * schemes"): w~ = C(w) per prunable tensor, the gradient at w~ applied to the dense w.
 *   sign: binary weights with a per-layer scale, C(w) = mean(|w|) * sign(w)  (BinaryConnect-like)
 *   qK:   K-bit symmetric uniform quantisation per layer: L = 2^(K-1) - 1 levels each side of 0,
 *         step a / L with a = max|w|, round to nearest (q1 is sign). */
#include <math.h>
#include <stdio.h>

#include "prune/method.h"

static void compress_sign(dpf_real *dst, const dpf_real *w, size_t n)
{
    double mean = 0;
    for (size_t i = 0; i < n; i++)
        mean += fabs((double)w[i]);
    mean /= (double)n;
    for (size_t i = 0; i < n; i++)
        dst[i] = (dpf_real)(w[i] > 0 ? mean : w[i] < 0 ? -mean : 0);
}

static void compress_uniform(dpf_real *dst, const dpf_real *w, size_t n, int bits)
{
    double a = 0;
    for (size_t i = 0; i < n; i++)
        a = fmax(a, fabs((double)w[i]));
    double levels = (double)((1 << (bits - 1)) - 1);
    if (a == 0) {
        for (size_t i = 0; i < n; i++)
            dst[i] = 0;
        return;
    }
    double step = a / levels;
    for (size_t i = 0; i < n; i++)
        dst[i] = (dpf_real)(step * nearbyint((double)w[i] / step));
}

int dpf_compressor_bits(const char *name)
{
    int bits = 0;
    if (name[0] == 'q' && sscanf(name + 1, "%d", &bits) == 1 && bits >= 2)
        return bits;
    return 1; /* sign, q1 */
}

void dpf_pruner_compress_forward(dpf_pruner *p)
{
    const dpf_real *w = dpf_net_weights(p->net);
    dpf_real *wf = dpf_net_forward_weights(p->net);
    int bits = dpf_compressor_bits(p->cfg->compressor);
    for (int t = 0; t < dpf_net_param_count(p->net); t++) {
        const dpf_param_info *pi = dpf_net_param(p->net, t);
        const dpf_real *src = w + pi->offset;
        dpf_real *dst = wf + pi->offset;
        if (!pi->prunable) {
            for (size_t i = 0; i < pi->count; i++)
                dst[i] = src[i];
        } else if (bits == 1) {
            compress_sign(dst, src, pi->count);
        } else {
            compress_uniform(dst, src, pi->count, bits);
        }
    }
}
