/* sparse/rule.c — when the sparse kernels beat the dense ones: the calibrated rule of the
 * per-layer choice (dpf_k_sparse_pays, kernels.h). A function of the shape, the batch and the
 * density only, so that the choice, and with it the rounding, never depends on the machine's
 * load. Calibrated with `build/bench_sparse_layers 1 5 cpu` on the 2-core AVX-512 VM (every
 * layer shape of the paper's models at densities 0.25, 0.1, 0.05, 0.01, batch 1 and 256, against
 * oneDNN with prepared weights, in process CPU time so that other processes do not skew it;
 * figures in docs/results/sparse_layers_calibration.txt): the sparse kernel is chosen only in
 * the classes of layers where it measured at least ~1.2x faster, so that no layer runs slower
 * than dense. Batch 1-31 runs the per-image kernel: its fixed costs per image (the padded,
 * phase-split copy of the input and the epilogue, both 16 x 16 transposes) are about one pass
 * over the input and one over the output; its sums cost about 5 cycles per nonzero and 64
 * outputs (four 64-byte loads, mostly split across cache lines). At batch 1 it wins on every 3x3
 * and 5x5 layer from 4 input channels at <= 5% density (<= 10% up to 16k weights, <= 15% for
 * 5x5); 1x1 convolutions stay dense (0.35-0.96x), and so do stride-2 layers but at batch 1 from
 * 32 channels at <= 5%. Batches from 32 images run the lanes kernel (below). */
#include "kernels/sparse/sparse.h"

/* Batches of 32 images and more (the lanes kernel, every load aligned; measured at batch 256,
 * densities 0.25 / 0.2 / 0.15 / 0.1): 3x3 stride 1 with C x K <= 256 (ResNet's 16-channel
 * stage) 1.26-1.55x at 25%; C x K <= 1024 1.16-1.43x at 20% (0.95-1.22x at 25%); larger layers
 * 1.22-1.88x at 10% (0.9-1.44x at 15%); stride 2 1.37x at 25% from 16 channels, 1.46x at 20%
 * from 32; 5x5 2.4x at 25% (LeNet-5's conv2), 1.4x for its one-channel conv1; 1x1 0.36-0.43x
 * (the copy of the whole input for a quarter of it); a 3x3 stem of 1-3 channels: dense. */
static int lanes_pay(const dpf_conv_shape *s, double density)
{
    if (s->kh * s->kw == 1)
        return 0;
    if (s->kh >= 5)
        return density <= 0.25;
    if (s->c < 16)
        return 0;
    const double ck = (double)s->c * s->k;
    if (s->stride != 1)
        return density <= (ck <= 512 ? 0.25 : ck <= 2048 ? 0.2 : 0.1);
    return density <= (ck <= 256 ? 0.25 : ck <= 1024 ? 0.2 : 0.1);
}

int dpf_k_sparse_pays(const dpf_conv_shape *s, double density)
{
    const double weights = (double)s->c * s->k;
    if (s->h == 1 && s->w == 1 && s->kh == 1 && s->kw == 1) /* a linear layer */
        return weights >= 16384 && density <= (s->n < 16 ? 0.05 : s->n < 32 ? 0.03 : 0.1);
    if (s->n >= 32) /* the lanes kernel (16 images per group) */
        return lanes_pay(s, density);
    if (s->kh * s->kw == 1 || s->c < 4)
        return 0;
    if (s->stride != 1) /* 3x3 stride 2: 1.25-1.6x at batch 1 from 32 channels at <= 5% */
        return s->stride == 2 && s->n < 16 && s->c >= 32 && density <= 0.05;
    if (s->n < 16) /* latency: 5x5 (LeNet-5's conv2) 1.9x at 10%, 1.0x at 25% */
        return density <= 0.05 || (density <= 0.1 && weights <= 16384) ||
               (density <= 0.15 && s->kh >= 5);
    if (s->kh >= 5) /* 16-31 images, the per-image kernel: LeNet-5's 5x5 layers */
        return density <= 0.1;
    return density <= 0.02 && s->c >= 16;
}

/* Share of nonzero weights among count. */
double dpf_k_nonzero_share(const float *w, size_t count)
{
    size_t nz = 0;
    for (size_t i = 0; i < count; i++)
        nz += w[i] != 0;
    return count ? (double)nz / (double)count : 1;
}

/* Does the sparse kernel run a layer of shape s (s->n: the largest batch) on n images under
 * the policy? n < 0: on any batch (1 or the largest), which decides whether to build it. */
int dpf_k_policy_pays(dpf_kernel_policy policy, dpf_conv_shape s, int n, double density)
{
    if (policy != DPF_KERNELS_AUTO)
        return policy == DPF_KERNELS_SPARSE;
    if (n >= 0) {
        s.n = n;
        return dpf_k_sparse_pays(&s, density);
    }
    dpf_conv_shape one = s;
    one.n = 1;
    return dpf_k_sparse_pays(&one, density) || dpf_k_sparse_pays(&s, density);
}
