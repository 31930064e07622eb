/* sparse/rule.c — when the sparse kernels beat the dense ones: the calibrated rule of the
 * per-layer choice (dpf_k_sparse_pays, kernels.h). A function of the shape, the batch and the
 * density only, so that the choice, and with it the rounding, never depends on the machine's
 * load. Calibrated with `build/bench_sparse_layers 2 7` on the 2-core AVX-512 VM (every layer
 * shape of the paper's models at densities 0.1, 0.05, 0.01, batch 1 and 256, against oneDNN
 * with prepared weights; figures in docs/results/sparse_layers_calibration.txt): the sparse
 * kernel is chosen only in the classes of layers where it measured at least ~1.2x faster, so
 * that no layer runs slower than dense. Today its fixed costs per image (the padded copy and
 * the epilogue, ~0.6 ns per element) dominate small layers: it wins on wide layers at low
 * density, and never on 1x1 or stride-2 convolutions. */
#include "kernels/kernels.h"

int dpf_k_sparse_pays(const dpf_conv_shape *s, double density)
{
    const double weights = (double)s->c * s->k;
    const int pixels = s->oh * s->ow;
    if (s->h == 1 && s->w == 1 && s->kh == 1 && s->kw == 1) /* a linear layer */
        return weights >= 16384 && density <= (s->n < 16 ? 0.05 : 0.03); /* LeNet-5 fc1 */
    if (s->stride != 1 || s->kh * s->kw == 1)
        return 0; /* 0.13-0.9x at every density measured */
    if (s->n < 16) /* latency: wide layers on planes of 8x8 and more */
        return density <= 0.05 && weights >= 4096 && pixels >= 64;
    if (s->kh >= 5) /* LeNet-5's 5x5 layers: 1.25-1.36x at 5% and 1% */
        return density <= 0.05;
    return density <= 0.01 && s->c >= 32; /* 1.17-2.97x at 1% from 32 channels */
}
