/* kernels.h — the compute layer: every numerical kernel the network layers call.
 *
 * One dispatch point (kernels/dispatch.c): callers use the dpf_k_* names below and never see
 * which backend runs. Backends:
 *   ref/   plain C loops — the oracle every fast kernel is tested against (also the float64
 *          build used by the finite-difference gradient checks);
 *   fast/  float32 only: oneDNN convolution primitives (Winograd or direct), batch norm,
 *          pooling and layout kernels on the activation layout, oneDNN sgemm for linear layers.
 * The ref kernels are also callable directly as dpf_ref_* (same signatures) for tests.
 *
 * Activation layout: the dpf_k_* kernels take activations (N, C, H, W) in the build's layout:
 * NCHW in the float64 build; in the float32 build DPF_ACT_BLOCKED, channels last in blocks of
 * cb channels, cb = 16 where C is a multiple of 16 (oneDNN's nChw16c) and cb = C otherwise
 * (plain NHWC): element (n, c, h, w) at (((n*C/cb + c/cb)*H + h)*W + w)*cb + c%cb. The two agree
 * for C = 16, and with NCHW for one channel or one pixel. A convolution may read the net's input
 * in NCHW instead (dpf_conv_shape.src_nchw). The dpf_ref_* kernels are always NCHW. Weights are always
 * PyTorch's (K, C, KH, KW); the net's public input and logits are always NCHW / (N, classes).
 *
 * Conventions: outputs first, then const inputs, then sizes. Backward kernels compute the true
 * dL/dθ (PyTorch's sign and scale), WRITE (=) the input gradient dx and ACCUMULATE (+=) into the
 * parameter gradients dw / db; any of dx, dw, db may be NULL when not wanted. (The net adds the
 * gradients of an activation read by two layers itself.) Kernels never allocate: scratch memory
 * comes in through `ws`, sized by the matching *_workspace() function (in dpf_real elements).
 * Kernels may use OpenMP internally (the one threading runtime of dpf). */
#ifndef DPF_KERNELS_H
#define DPF_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "dpf/real.h"
#include "dpf/status.h"

#ifndef DPF_REAL_DOUBLE
#define DPF_ACT_BLOCKED 1
#endif

typedef struct dpf_conv_shape {
    int n, c, h, w;      /* input (N, C, H, W) */
    int k, kh, kw;       /* output channels, kernel size */
    int stride, pad;     /* same in both dimensions */
    int oh, ow;          /* output size: (h + 2*pad - kh) / stride + 1 */
    int src_nchw;        /* x (and dx) NCHW whatever the build's layout: the net's input,
                            whose gradient is not wanted (a dx costs a slow kernel) */
} dpf_conv_shape;

/* Fills oh/ow from the rest; returns 0 if the shape is valid (oh, ow >= 1), -1 otherwise. */
int dpf_conv_shape_finish(dpf_conv_shape *s);

/* ---- layout: y (N, C, HW) in the activation layout <-> x NCHW (copies in the NCHW build) ---- */
void dpf_k_act_from_nchw(dpf_real *y, const dpf_real *x, int n, int c, int hw);
void dpf_k_act_to_nchw(dpf_real *y, const dpf_real *x, int n, int c, int hw);

/* ---- matrix multiply, row-major: C = alpha * op(A) @ op(B) + beta * C ----
 * op(A) is (M, K), op(B) is (K, N), C is (M, N); ta/tb != 0 means the stored matrix is transposed. */
void dpf_k_gemm(int ta, int tb, int m, int n, int k, dpf_real alpha, const dpf_real *a, int lda,
                const dpf_real *b, int ldb, dpf_real beta, dpf_real *c, int ldc);

/* ---- backend context ----
 * What a net's kernels run with: in the float build oneDNN's engine and stream, the primitives
 * created so far (shared by the layers of equal shape) and the convolution-algorithm policy.
 * A net owns one; two nets with different policies live side by side in one process. Not safe
 * for two threads at once (a net runs one kernel at a time). The float64 build keeps only the
 * policy. winograd: 0 never, 1 in the passes where it is faster (the default), 2 in the same
 * passes however small the batch (tests); the float64 build runs the reference kernels always. */
typedef struct dpf_kctx dpf_kctx;
dpf_status dpf_kctx_create(dpf_kctx **out, int winograd);
void dpf_kctx_free(dpf_kctx *ctx);

/* ---- conv2d (no dilation, no groups) ----
 * A dpf_conv is one layer's kernel state: its shape (n = the largest batch), its context, and its
 * weights prepared for the kernels that may run it:
 *   DPF_WEIGHTS_PLAIN  PyTorch's (K, C, KH, KW) as given (the reference kernels, float64 build);
 *   DPF_WEIGHTS_DNNL   oneDNN's blocked layouts for its forward and backward-data primitives,
 *                      packed (reordered) once per weight update, not once per call;
 *   DPF_WEIGHTS_SPARSE compressed rows per output channel (kernels/sparse), rebuilt when the
 *                      weights change (every step in training: DPF's w~ = m * w); the forward
 *                      pass, and in training the backward-data pass of stride-1 layers (the
 *                      forward convolution of dy with the weights transposed and flipped); the
 *                      weight gradient is always dense (DPF's feedback needs every position).
 *                      Float build only.
 * The policy says which may run: DPF_KERNELS_DENSE (oneDNN or the reference), DPF_KERNELS_AUTO
 * (the sparse kernel wherever the calibrated rule dpf_k_sparse_pays says it is faster, for the
 * shape, the batch of the call and the weights' density), DPF_KERNELS_SPARSE (always; tests).
 * dpf_k_conv2d_set_weights says the weights changed (or moved): they are prepared again, once,
 * by the next pass that reads them. training = 0 builds the forward pass only; an inference
 * layer may fuse an epilogue: y = [relu](conv(x) + b [+ res]) (residual, relu). Create returns
 * DPF_ERR_STATE with the error recorded when no kernel can run the shape. */
typedef enum dpf_weights_kind {
    DPF_WEIGHTS_PLAIN,
    DPF_WEIGHTS_DNNL,
    DPF_WEIGHTS_SPARSE
} dpf_weights_kind;
typedef enum dpf_kernel_policy {
    DPF_KERNELS_DENSE,
    DPF_KERNELS_AUTO,
    DPF_KERNELS_SPARSE
} dpf_kernel_policy;
typedef struct dpf_conv_opts {
    int bias;               /* forward with a bias / backward with its gradient */
    int training;           /* backward passes too (then no epilogue) */
    int residual, relu;     /* inference epilogue */
    dpf_kernel_policy policy;
} dpf_conv_opts;
typedef struct dpf_conv dpf_conv;
dpf_status dpf_k_conv2d_create(dpf_conv **out, dpf_kctx *ctx, const dpf_conv_shape *s,
                               const dpf_conv_opts *o);
void dpf_k_conv2d_free(dpf_conv *cv);
/* The kind that runs a forward pass of n images (as prepared by the last pass). */
dpf_weights_kind dpf_k_conv2d_kind(const dpf_conv *cv, int n);
/* The same for backward-data (training): sparse as the forward convolution of dy with the
 * weights transposed and flipped, for stride-1 layers where the rule says so for that shape. */
dpf_weights_kind dpf_k_conv2d_bwd_kind(const dpf_conv *cv, int n);
/* Training: the weight gradient is wanted only where mask (K, C, KH, KW; NULL: everywhere) is
 * nonzero (the methods whose pruned weights never change discard it elsewhere); where the
 * rule says so for the mask's density, backward computes only those positions and adds
 * nothing to the others. Read again at each pass after the call (the mask may change). */
void dpf_k_conv2d_set_grad_mask(dpf_conv *cv, const uint8_t *mask);
dpf_weights_kind dpf_k_conv2d_wgrad_kind(const dpf_conv *cv, int n);
/* Share of nonzero weights as last prepared (1 until a pass prepared them). */
double dpf_k_conv2d_density(const dpf_conv *cv);
/* The calibrated rule: does the sparse kernel beat the dense one for shape s (s->n images) at
 * this density? Deterministic (a function of its arguments only). */
int dpf_k_sparse_pays(const dpf_conv_shape *s, double density);
/* Scratch (dpf_real elements) a pass of the layer needs from the caller. */
size_t dpf_k_conv2d_workspace(const dpf_conv *cv);
void dpf_k_conv2d_set_weights(dpf_conv *cv, const dpf_real *w); /* (K, C, KH, KW) */
/* Times the layer's weights were packed (each layout counts); for tests. */
int64_t dpf_k_conv2d_packs(const dpf_conv *cv);
/* Which passes at batch n run as Winograd: bit 0 forward, 1 backward-data, 2 backward-weights;
 * -1 on error (recorded). Always 0 in the float64 build. */
int dpf_k_conv2d_is_winograd(dpf_conv *cv, int n);
/* 1 <= n <= the layer's n; weights as last set; res (the layer's epilogue) like y or NULL. */
void dpf_k_conv2d_forward(dpf_conv *cv,
                          dpf_real *y,        /* (N, K, OH, OW) */
                          const dpf_real *x,  /* (N, C, H, W) */
                          const dpf_real *b,  /* (K) or NULL */
                          const dpf_real *res, /* (N, K, OH, OW) or NULL */
                          int n, dpf_real *ws);
void dpf_k_conv2d_backward(dpf_conv *cv,
                           dpf_real *dx,       /* (N, C, H, W) or NULL, = */
                           dpf_real *dw,       /* (K, C, KH, KW) or NULL, += */
                           dpf_real *db,       /* (K) or NULL, += */
                           const dpf_real *dy, /* (N, K, OH, OW) */
                           const dpf_real *x,  /* (N, C, H, W) */
                           int n, dpf_real *ws);

/* ---- batchnorm2d over (N, C, HW), PyTorch semantics ----
 * Training: normalise with the batch mean and the biased batch variance; update running stats
 *   running = (1 - momentum) * running + momentum * batch, with the UNBIASED variance (n*hw/(n*hw-1)).
 *   Saves mean and invstd = 1/sqrt(var_biased + eps) per channel for backward.
 * Eval: normalise with the running statistics.
 * res (NULL: none) fuses a residual addition after the normalisation, y = bn(x) + res, and
 * relu != 0 then y = max(y, 0); the backward takes that output as y_relu (NULL: no ReLU) and
 * writes the residual's gradient (dy past the ReLU) to dres (NULL: not wanted).
 * dx and dres must not overlap dy, x or y_relu. */
void dpf_k_bn_forward_train(dpf_real *y, dpf_real *save_mean, dpf_real *save_invstd,
                            dpf_real *running_mean, dpf_real *running_var,
                            const dpf_real *x, const dpf_real *res, const dpf_real *gamma,
                            const dpf_real *beta, int n, int c, int hw, dpf_real momentum,
                            dpf_real eps, int relu);
void dpf_k_bn_forward_eval(dpf_real *y, const dpf_real *x, const dpf_real *res,
                           const dpf_real *gamma, const dpf_real *beta,
                           const dpf_real *running_mean, const dpf_real *running_var, int n, int c,
                           int hw, dpf_real eps, int relu);
/* Backward of the training-mode forward. */
void dpf_k_bn_backward(dpf_real *dx, dpf_real *dres, dpf_real *dgamma, dpf_real *dbeta,
                       const dpf_real *dy, const dpf_real *x, const dpf_real *y_relu,
                       const dpf_real *save_mean, const dpf_real *save_invstd,
                       const dpf_real *gamma, int n, int c, int hw);

/* ---- relu: y = max(x, 0); backward uses the output: dx = dy * (y > 0) ---- */
void dpf_k_relu_forward(dpf_real *y, const dpf_real *x, size_t count);
void dpf_k_relu_backward(dpf_real *dx, const dpf_real *dy, const dpf_real *y, size_t count);

/* ---- max-pool, kernel k, stride st, no padding, floor mode (PyTorch MaxPool2d(k, st)) ----
 * argmax holds, per output element, the flat index within its (h*w) input plane of the first
 * maximum in row-major scan order (PyTorch's tie rule); NULL when no backward follows. */
void dpf_k_maxpool_forward(dpf_real *y, int32_t *argmax, const dpf_real *x, int n, int c, int h,
                           int w, int k, int st, int oh, int ow);
void dpf_k_maxpool_backward(dpf_real *dx, const dpf_real *dy, const int32_t *argmax, int n, int c,
                            int h, int w, int oh, int ow);

/* ---- global average pool: (N, C, H, W) -> (N, C) ---- */
void dpf_k_gap_forward(dpf_real *y, const dpf_real *x, int n, int c, int hw);
void dpf_k_gap_backward(dpf_real *dx, const dpf_real *dy, int n, int c, int hw);

/* ---- linear: y = x @ W^T + b, W is (OUT, IN) as in PyTorch ---- */
void dpf_k_linear_forward(dpf_real *y,       /* (N, OUT) */
                          const dpf_real *x, /* (N, IN) */
                          const dpf_real *w, /* (OUT, IN) */
                          const dpf_real *b, /* (OUT) or NULL */
                          int n, int in, int out);
void dpf_k_linear_backward(dpf_real *dx, dpf_real *dw, dpf_real *db, const dpf_real *dy,
                           const dpf_real *x, const dpf_real *w, int n, int in, int out);

/* A linear layer of an inference net with its weights prepared: dense (oneDNN sgemm on the
 * plain weights) or compressed rows (kernels/sparse), chosen per call by the policy and, for
 * DPF_KERNELS_AUTO, dpf_k_sparse_pays on the 1x1 "convolution" of n images of 1x1 pixels. */
typedef struct dpf_linear dpf_linear;
dpf_status dpf_k_linear_layer_create(dpf_linear **out, int in, int out_features, int max_batch,
                                     dpf_kernel_policy policy);
void dpf_k_linear_layer_free(dpf_linear *l);
size_t dpf_k_linear_layer_workspace(const dpf_linear *l);
void dpf_k_linear_layer_set_weights(dpf_linear *l, const dpf_real *w); /* (OUT, IN) */
dpf_weights_kind dpf_k_linear_layer_kind(dpf_linear *l, int n);
double dpf_k_linear_layer_density(const dpf_linear *l);
void dpf_k_linear_layer_forward(dpf_linear *l, dpf_real *y, const dpf_real *x, const dpf_real *b,
                                int n, dpf_real *ws);

/* ---- residual add: y = a + b [then max(y, 0)]; backward: da = db = dy [* (y_relu > 0)] ---- */
void dpf_k_add_forward(dpf_real *y, const dpf_real *a, const dpf_real *b, size_t count, int relu);
void dpf_k_add_backward(dpf_real *da, dpf_real *db, const dpf_real *dy, const dpf_real *y_relu,
                        size_t count);
/* y += x (the net's sum of the gradients of an activation read twice) */
void dpf_k_accumulate(dpf_real *y, const dpf_real *x, size_t count);

/* ---- softmax cross-entropy, mean over the batch ----
 * Forward writes the softmax probabilities (N, CLASSES) and returns the mean loss (computed in
 * double, log-sum-exp stabilised). Backward: dlogits = scale * (probs - onehot(labels)) / n,
 * scale = dL/dloss (1 for the loss itself). Labels must be in [0, classes). */
double dpf_k_softmax_ce_forward(dpf_real *probs, const dpf_real *logits, const int32_t *labels,
                                int n, int classes);
void dpf_k_softmax_ce_backward(dpf_real *dlogits, const dpf_real *probs, const int32_t *labels,
                               int n, int classes, dpf_real scale);

/* ---- reference backend: same contracts ---- */
void dpf_ref_gemm(int ta, int tb, int m, int n, int k, dpf_real alpha, const dpf_real *a, int lda,
                  const dpf_real *b, int ldb, dpf_real beta, dpf_real *c, int ldc);
size_t dpf_ref_conv2d_workspace(const dpf_conv_shape *s);
void dpf_ref_conv2d_forward(dpf_real *y, const dpf_real *x, const dpf_real *w, const dpf_real *b,
                            const dpf_conv_shape *s, dpf_real *ws);
void dpf_ref_conv2d_backward(dpf_real *dx, dpf_real *dw, dpf_real *db, const dpf_real *dy,
                             const dpf_real *x, const dpf_real *w, const dpf_conv_shape *s,
                             dpf_real *ws);
void dpf_ref_linear_forward(dpf_real *y, const dpf_real *x, const dpf_real *w, const dpf_real *b,
                            int n, int in, int out);
void dpf_ref_linear_backward(dpf_real *dx, dpf_real *dw, dpf_real *db, const dpf_real *dy,
                             const dpf_real *x, const dpf_real *w, int n, int in, int out);
void dpf_ref_bn_forward_train(dpf_real *y, dpf_real *save_mean, dpf_real *save_invstd,
                              dpf_real *running_mean, dpf_real *running_var, const dpf_real *x,
                              const dpf_real *res, const dpf_real *gamma, const dpf_real *beta,
                              int n, int c, int hw, dpf_real momentum, dpf_real eps, int relu);
void dpf_ref_bn_forward_eval(dpf_real *y, const dpf_real *x, const dpf_real *res,
                             const dpf_real *gamma, const dpf_real *beta,
                             const dpf_real *running_mean, const dpf_real *running_var, int n,
                             int c, int hw, dpf_real eps, int relu);
void dpf_ref_bn_backward(dpf_real *dx, dpf_real *dres, dpf_real *dgamma, dpf_real *dbeta,
                         const dpf_real *dy, const dpf_real *x, const dpf_real *y_relu,
                         const dpf_real *save_mean, const dpf_real *save_invstd,
                         const dpf_real *gamma, int n, int c, int hw);
void dpf_ref_maxpool_forward(dpf_real *y, int32_t *argmax, const dpf_real *x, int n, int c, int h,
                             int w, int k, int st, int oh, int ow);
void dpf_ref_maxpool_backward(dpf_real *dx, const dpf_real *dy, const int32_t *argmax, int n,
                              int c, int h, int w, int oh, int ow);
void dpf_ref_gap_forward(dpf_real *y, const dpf_real *x, int n, int c, int hw);
void dpf_ref_gap_backward(dpf_real *dx, const dpf_real *dy, int n, int c, int hw);

#endif
