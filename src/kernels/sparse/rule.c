/* sparse/rule.c — when the sparse kernels beat the dense ones: the calibrated rule of the
 * per-layer choice (dpf_k_sparse_pays, kernels.h). A function of the shape, the batch and the
 * density only, so that the choice, and with it the rounding, never depends on the machine's
 * load. Calibrated with build/bench_sparse_layers (docs/sparse_inference.md has the figures). */
#include "kernels/kernels.h"

int dpf_k_sparse_pays(const dpf_conv_shape *s, double density)
{
    (void)s;
    return density <= 0.2;
}
