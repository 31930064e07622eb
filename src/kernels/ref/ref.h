/* ref.h — internal: the reference (plain C) implementations of the kernels that kernels.h does
 * not already declare as dpf_ref_*. Same contracts as the matching dpf_k_* in kernels.h.
 * Compiled for float and for double (DPF_REAL_DOUBLE); only kernels/dispatch.c and the tests
 * call these. */
#ifndef DPF_KERNELS_REF_H
#define DPF_KERNELS_REF_H

#include "kernels/kernels.h"

/* Loops with less work than this run on one thread: a parallel region costs microseconds. */
#define DPF_REF_OMP_MIN 32768

/* Reductions in double over DPF_REF_LANES interleaved partial sums: vectorisable without
 * -ffast-math (several independent FMA chains), deterministic (the order depends on len only),
 * and more accurate than one running sum. */
#define DPF_REF_LANES 32

static inline double dpf_ref_lanes_sum(const double *acc)
{
    double s = 0.0;
    for (int j = 0; j < DPF_REF_LANES; j++)
        s += acc[j];
    return s;
}

static inline double dpf_ref_sum(const dpf_real *v, size_t len)
{
    double acc[DPF_REF_LANES] = {0};
    size_t i = 0;
    for (; i + DPF_REF_LANES <= len; i += DPF_REF_LANES)
        for (int j = 0; j < DPF_REF_LANES; j++)
            acc[j] += (double)v[i + j];
    double s = dpf_ref_lanes_sum(acc);
    for (; i < len; i++)
        s += (double)v[i];
    return s;
}

/* sum((v - mu)^2) */
static inline double dpf_ref_sumsq_dev(const dpf_real *v, size_t len, double mu)
{
    double acc[DPF_REF_LANES] = {0};
    size_t i = 0;
    for (; i + DPF_REF_LANES <= len; i += DPF_REF_LANES)
        for (int j = 0; j < DPF_REF_LANES; j++) {
            const double d = (double)v[i + j] - mu;
            acc[j] += d * d;
        }
    double s = dpf_ref_lanes_sum(acc);
    for (; i < len; i++) {
        const double d = (double)v[i] - mu;
        s += d * d;
    }
    return s;
}

/* *sa += sum(a), *sab += sum(a * (b - mu)), in one pass */
static inline void dpf_ref_sum_dot_dev(const dpf_real *a, const dpf_real *b, size_t len,
                                       double mu, double *sa, double *sab)
{
    double acc1[DPF_REF_LANES] = {0}, acc2[DPF_REF_LANES] = {0};
    size_t i = 0;
    for (; i + DPF_REF_LANES <= len; i += DPF_REF_LANES) {
        for (int j = 0; j < DPF_REF_LANES; j++)
            acc1[j] += (double)a[i + j];
        for (int j = 0; j < DPF_REF_LANES; j++)
            acc2[j] += (double)a[i + j] * ((double)b[i + j] - mu);
    }
    double s1 = dpf_ref_lanes_sum(acc1), s2 = dpf_ref_lanes_sum(acc2);
    for (; i < len; i++) {
        s1 += (double)a[i];
        s2 += (double)a[i] * ((double)b[i] - mu);
    }
    *sa += s1;
    *sab += s2;
}

/* (bn, maxpool and gap are declared in kernels.h: the tests compare them with the fast ones) */
void dpf_ref_relu_forward(dpf_real *y, const dpf_real *x, size_t count);
void dpf_ref_relu_backward(dpf_real *dx, const dpf_real *dy, const dpf_real *y, size_t count);
void dpf_ref_add_forward(dpf_real *y, const dpf_real *a, const dpf_real *b, size_t count, int relu);
void dpf_ref_add_backward(dpf_real *da, dpf_real *db, const dpf_real *dy, const dpf_real *y_relu,
                          size_t count);

double dpf_ref_softmax_ce_forward(dpf_real *probs, const dpf_real *logits, const int32_t *labels,
                                  int n, int classes);
void dpf_ref_softmax_ce_backward(dpf_real *dlogits, const dpf_real *probs, const int32_t *labels,
                                 int n, int classes, dpf_real scale);

#endif
