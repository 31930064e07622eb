/* fast.h — internal: the float32 fast backend (oneDNN convolutions and sgemm, kernels on the
 * activation layout). Same contracts as the matching dpf_k_* in kernels.h, activations in the
 * float build's layout (kernels.h: channels last, blocks of 16 channels where C is a multiple of
 * 16). Never compiled into the float64 build: only kernels/dispatch.c (float build) and the tests
 * call these. */
#ifndef DPF_KERNELS_FAST_H
#define DPF_KERNELS_FAST_H

#include "kernels/kernels.h"

#ifdef DPF_REAL_DOUBLE
#error "kernels/fast is float32 only"
#endif

/* Channels per block of the activation layout for C channels: 16 where C is a multiple of 16
 * (nChw16c), else C (NHWC). */
static inline int dpf_fast_act_block(int c)
{
    return c % 16 == 0 ? 16 : c;
}

void dpf_fast_gemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                   const float *b, int ldb, float beta, float *c, int ldc);

/* oneDNN's side of a dpf_kctx (engine, stream, the primitives of every shape met, the Winograd
 * policy) and of a dpf_conv (the layer's packed weights); contracts as in kernels.h. */
typedef struct dpf_fast_ctx dpf_fast_ctx;
typedef struct dpf_fast_conv dpf_fast_conv;
dpf_status dpf_fast_ctx_create(dpf_fast_ctx **out, int winograd);
void dpf_fast_ctx_free(dpf_fast_ctx *ctx);
dpf_status dpf_fast_conv2d_create(dpf_fast_conv **out, dpf_fast_ctx *ctx,
                                  const dpf_conv_shape *s, int bias, int training, int residual,
                                  int relu);
void dpf_fast_conv2d_free(dpf_fast_conv *cv);
size_t dpf_fast_conv2d_workspace(const dpf_fast_conv *cv);
void dpf_fast_conv2d_set_weights(dpf_fast_conv *cv, const float *w);
int64_t dpf_fast_conv2d_packs(const dpf_fast_conv *cv);
int dpf_fast_conv2d_is_winograd(dpf_fast_conv *cv, int n);
void dpf_fast_conv2d_forward(dpf_fast_conv *cv, float *y, const float *x, const float *b,
                             const float *res, int n, float *ws);
void dpf_fast_conv2d_backward(dpf_fast_conv *cv, float *dx, float *dw, float *db,
                              const float *dy, const float *x, int n, float *ws);

void dpf_fast_bn_forward_train(float *y, float *save_mean, float *save_invstd,
                               float *running_mean, float *running_var, const float *x,
                               const float *res, const float *gamma, const float *beta, int n,
                               int c, int hw, float momentum, float eps, int relu);
void dpf_fast_bn_forward_eval(float *y, const float *x, const float *res, const float *gamma,
                              const float *beta, const float *running_mean,
                              const float *running_var, int n, int c, int hw, float eps, int relu);
void dpf_fast_bn_backward(float *dx, float *dres, float *dgamma, float *dbeta, const float *dy,
                          const float *x, const float *y_relu, const float *save_mean,
                          const float *save_invstd, const float *gamma, int n, int c, int hw);
void dpf_fast_maxpool_forward(float *y, int32_t *argmax, const float *x, int n, int c, int h,
                              int w, int k, int st, int oh, int ow);
void dpf_fast_maxpool_backward(float *dx, const float *dy, const int32_t *argmax, int n, int c,
                               int h, int w, int oh, int ow);
void dpf_fast_gap_forward(float *y, const float *x, int n, int c, int hw);
void dpf_fast_gap_backward(float *dx, const float *dy, int n, int c, int hw);
void dpf_fast_act_from_nchw(float *y, const float *x, int n, int c, int hw);
void dpf_fast_act_to_nchw(float *y, const float *x, int n, int c, int hw);
void dpf_fast_accumulate(float *y, const float *x, size_t count);

void dpf_fast_linear_forward(float *y, const float *x, const float *w, const float *b, int n,
                             int in, int out);
void dpf_fast_linear_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                              const float *w, int n, int in, int out);

#endif
