/* fast.h — internal: the float32 fast backend (im2col + oneDNN sgemm). Same contracts as the
 * matching dpf_k_* in kernels.h. Never compiled into the float64 build: only kernels/dispatch.c
 * (float build) and the tests call these. */
#ifndef DPF_KERNELS_FAST_H
#define DPF_KERNELS_FAST_H

#include "kernels/kernels.h"

#ifdef DPF_REAL_DOUBLE
#error "kernels/fast is float32 only"
#endif

void dpf_fast_gemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                   const float *b, int ldb, float beta, float *c, int ldc);

size_t dpf_fast_conv2d_workspace(const dpf_conv_shape *s);
void dpf_fast_conv2d_forward(float *y, const float *x, const float *w, const float *b,
                             const dpf_conv_shape *s, float *ws);
void dpf_fast_conv2d_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                              const float *w, const dpf_conv_shape *s, float *ws);

void dpf_fast_linear_forward(float *y, const float *x, const float *w, const float *b, int n,
                             int in, int out);
void dpf_fast_linear_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                              const float *w, int n, int in, int out);

#endif
