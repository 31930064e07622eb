/* sparse.h — internal: sparse-weight kernels for inference (and, later, the pruned passes of
 * training), on NCHW activations. float32 only.
 *
 * Convolution: direct sparse convolution (Park et al., ICLR 2017), with weights in compressed
 * rows per output channel. Each image is first copied into a zero-padded, phase-split buffer:
 * for stride s, plane (c, py, px) holds the padded input's rows py, py+s, ... and columns px,
 * px+s, ..., each plane hs x ws (only the phases the kernel reads: one for a 1x1 stride 2). A nonzero w[k, c, ky, kx] then becomes one offset into that
 * buffer, and output (oy, ox) reads offset + oy*ws + ox: consecutive outputs read consecutive
 * inputs whatever the stride, so the kernel is a 1-D sparse sum over the "wide" output plane
 * (OH rows of ws columns; the ws - OW extra columns are computed and dropped), 64 outputs at a
 * time: per nonzero one broadcast, four loads and four FMAs (AVX-512; a plain C loop the
 * compiler vectorises otherwise). The epilogue adds the bias, an optional residual and ReLU.
 * Batches of 32 images and more (when every thread gets a group) run the lanes variant
 * (conv_lanes.c): 16 images per group, one per SIMD lane, every load aligned; it computes the
 * same sums in the same order, so its results are the per-image kernel's, bit for bit.
 *
 * Activations are in blocks of cb channels, channels last within a block (kernels.h): element
 * (n, c, h, w) at (((n*C/cb + c/cb)*H + h)*W + w)*cb + c%cb; cb = 1 is NCHW, cb = C is NHWC,
 * cb = 16 oneDNN's nChw16c. Input and output may differ (cb_in, cb_out); the residual is laid
 * out as the output.
 *
 * Linear: y = x W^T + b with W in compressed rows (one per output); the batch is transposed
 * once so that a nonzero multiplies 16 images at a time, or, for a single image, 16 nonzeros
 * are gathered at a time.
 *
 * Column indices / offsets are int32; a layer whose padded image exceeds 2^31 floats is refused
 * by prepare (error recorded). Results are deterministic: every output is one sum in a fixed
 * order (the nonzeros of its row, in storage order), whatever the thread count. */
#ifndef DPF_KERNELS_SPARSE_H
#define DPF_KERNELS_SPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "dpf/status.h"
#include "kernels/kernels.h"

/* The policy and the rule for a prepared layer (rule.c; conv_layer.c, dispatch.c): the share
 * of nonzeros among count weights, and whether the sparse kernel runs a layer of shape s (s->n
 * its largest batch) on n images (n < 0: on batch 1 or the largest, i.e. whether to build it). */
double dpf_k_nonzero_share(const float *w, size_t count);
int dpf_k_policy_pays(dpf_kernel_policy policy, dpf_conv_shape s, int n, double density);

typedef struct dpf_sparse_conv {
    dpf_conv_shape s;     /* geometry; s.n unused */
    int cb_in, cb_out;    /* channel blocks of x and of y / res (1: NCHW) */
    int hs, ws;           /* one phase plane of the padded input */
    int phy, phx;         /* phases a kernel reads: min(stride, KH), min(stride, KW) */
    size_t plane;         /* hs * ws */
    size_t image;         /* floats of one padded, phase-split image, slack included */
    int32_t *row;         /* (K + 1) start of each output channel's nonzeros */
    int32_t *off;         /* (nnz) offset of each nonzero in the padded image */
    int hp, wp;           /* batches (conv_lanes.c): one padded channel of a group of images */
    int32_t *off_lane;    /* (nnz) offset of each nonzero in a group's padded image */
    int32_t *widx;        /* (nnz) index of each nonzero in w (K, C, KH, KW) */
    float *val;           /* (nnz) */
    int64_t nnz;
} dpf_sparse_conv;

/* Compresses w (K, C, KH, KW) for shape s and the layouts of x (cb_in channels per block, a
 * divisor of C) and y (cb_out, a divisor of K), replacing what sc held (zero-initialise sc
 * first). DPF_ERR_NOMEM / DPF_ERR_ARG (recorded) on failure. */
dpf_status dpf_sparse_conv_prepare(dpf_sparse_conv *sc, const dpf_conv_shape *s, int cb_in,
                                   int cb_out, const float *w);
void dpf_sparse_conv_free(dpf_sparse_conv *sc);
/* Floats of scratch the forward needs for n images with `threads` threads (the same for any
 * weights of the shape: dpf_sparse_conv_workspace_for). */
size_t dpf_sparse_conv_workspace(const dpf_sparse_conv *sc, int n, int threads);
size_t dpf_sparse_conv_workspace_for(const dpf_conv_shape *s, int threads);
/* y = [relu](conv(x) + b [+ res]); x (N, C, H, W), y and res (N, K, OH, OW) in the layouts
 * given to prepare; b (K) or NULL; res may be NULL. ws from dpf_sparse_conv_workspace(sc, n,
 * omp_get_max_threads()). */
void dpf_sparse_conv_forward(const dpf_sparse_conv *sc, float *y, const float *x, const float *b,
                             const float *res, int relu, int n, float *ws);
/* The lanes variant (conv_lanes.c), for dpf_sparse_conv_forward: floats of a group's padded
 * input and of one thread's scratch (64-byte aligned by the caller), and the pass itself. */
size_t dpf_sparse_lanes_input(const dpf_sparse_conv *sc);
size_t dpf_sparse_lanes_per_thread(const dpf_sparse_conv *sc);
void dpf_sparse_conv_forward_lanes(const dpf_sparse_conv *sc, float *y, const float *x,
                                   const float *b, const float *res, int relu, int n, float *ws);
/* Images n0 .. n0+ng-1 of x into a group's padded input (lanes past ng zero). */
void dpf_sparse_lanes_pad_group(const dpf_sparse_conv *sc, float *xg, const float *x, int n0,
                                int ng);

/* The weight gradient at the nonzeros of sc only (conv_wgrad.c; sc prepared from the mask of
 * the positions wanted, 1 where wanted): dw[j] += (dL/dw)[j] for those j, nothing elsewhere;
 * dy and x in the layouts given to prepare. ws: dpf_sparse_wgrad_workspace_for floats (any
 * mask of the shape). Sums in a fixed order for a given thread count. */
size_t dpf_sparse_wgrad_per_thread(const dpf_sparse_conv *sc);
size_t dpf_sparse_wgrad_workspace_for(const dpf_conv_shape *s, int threads);
void dpf_sparse_conv_wgrad(const dpf_sparse_conv *sc, float *dw, const float *dy, const float *x,
                           int n, float *ws);

typedef struct dpf_sparse_linear {
    int in, out;
    int32_t *row;         /* (out + 1) */
    int32_t *col;         /* (nnz) input index */
    float *val;           /* (nnz) */
    int64_t nnz;
} dpf_sparse_linear;

/* Compresses w (out, in) (replacing what sl held; zero-initialise sl first). */
dpf_status dpf_sparse_linear_prepare(dpf_sparse_linear *sl, int in, int out, const float *w);
void dpf_sparse_linear_free(dpf_sparse_linear *sl);
size_t dpf_sparse_linear_workspace(const dpf_sparse_linear *sl, int n);
/* y (N, out) = [relu](x (N, in) W^T + b); b (out) or NULL. */
void dpf_sparse_linear_forward(const dpf_sparse_linear *sl, float *y, const float *x,
                               const float *b, int relu, int n, float *ws);

#endif
