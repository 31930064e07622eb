/* dpf/theory.h — the convex case of the paper's §4 (Theorem 4.1): DPF and one-shot pruning on
 * l2-regularised multinomial logistic regression, in double precision.
 *
 *   f(w) = (1/N) sum_i CE(softmax(W x_i), y_i) + lambda/2 ||w||^2
 *
 * W is K x D with x_i's last feature a constant 1 (the bias column); every coordinate is
 * prunable. f is mu-strongly convex with mu = lambda exactly (the softmax is invariant to adding
 * one vector to every class, so the loss alone has a flat direction) and L-smooth with
 * L <= lambda + 1/2 lambda_max(X^T X / N).
 *
 * The flat vector w is feature-major: w[j * K + k] = W[k][j] (j < D, k < K), so that one sparse
 * feature updates K contiguous weights. Everything here is deterministic: full-batch sums are cut
 * into fixed pieces added in order, so results do not depend on the thread count. */
#ifndef DPF_THEORY_H
#define DPF_THEORY_H

#include <stddef.h>
#include <stdint.h>

#include "dpf/data.h"
#include "dpf/status.h"

/* The problem: features in compressed sparse rows (zeros are skipped), labels, lambda. */
typedef struct dpf_logreg {
    int n;              /* samples */
    int features;       /* D, the constant-1 bias feature included (the last one) */
    int classes;        /* K */
    double lambda;      /* l2 coefficient = the strong convexity mu */
    int64_t *row;       /* (n + 1) start of each sample's nonzeros */
    int32_t *col;       /* feature index of each nonzero */
    double *val;        /* its value */
    int32_t *label;     /* (n) in [0, classes) */
} dpf_logreg;

/* From images: features are pixel / 255 in [0, 1] (C*H*W of them) and the bias. */
dpf_status dpf_logreg_from_dataset(dpf_logreg *p, const dpf_dataset *ds, double lambda);
/* From a dense row-major n x f matrix (the bias feature is appended). */
dpf_status dpf_logreg_from_dense(dpf_logreg *p, const double *x, const int32_t *y, int n, int f,
                                 int classes, double lambda);
void dpf_logreg_free(dpf_logreg *p);
size_t dpf_logreg_dim(const dpf_logreg *p); /* K * D */

/* f(w) over all samples; with grad != NULL also writes grad f(w) (dim doubles). */
double dpf_logreg_value(const dpf_logreg *p, const double *w, double *grad);
/* Mini-batch: returns the mean cross-entropy of samples idx[0..b) at w and writes
 * grad = (1/b) sum grad CE_i(w) + lambda w, an unbiased estimate of grad f(w) when the idx are
 * drawn uniformly. */
double dpf_logreg_batch_grad(const dpf_logreg *p, const double *w, const int32_t *idx, int b,
                             double *grad);
/* Estimate of the smoothness constant, lambda + 1/2 lambda_max(X^T X / N), by power iteration. */
double dpf_logreg_smoothness(const dpf_logreg *p);

/* f* = min f, by L-BFGS (memory 20, Armijo backtracking) from w = 0, deterministic. Stops when
 * ||grad f(w)|| <= rel_tol * ||grad f(0)|| or after max_iter iterations (converged = 0; f* is
 * then the best value found). w (dim doubles) receives the minimiser. */
typedef struct dpf_fstar_info {
    double fstar;
    double grad_norm;       /* ||grad f|| at the returned w */
    double grad_norm0;      /* ||grad f(0)|| */
    double gap_bound;       /* f(w) - f* <= ||grad f(w)||^2 / (2 mu), certifies the accuracy */
    int iterations;
    int evaluations;        /* function + gradient evaluations */
    int converged;
} dpf_fstar_info;

dpf_status dpf_logreg_solve(const dpf_logreg *p, double rel_tol, int max_iter, double *w,
                            dpf_fstar_info *info);

/* One stochastic trajectory from w_0 (the caller's w; normally 0):
 *   w~_t = m_t ⊙ w_t, m_t the global top-k magnitude mask keeping (1 - sparsity) of all
 *          coordinates (dpf_select_smallest on float(|w_t|); sparsity 0: w~_t = w_t, plain SGD)
 *   w_{t+1} = w_t - gamma_t g(w~_t),  gamma_t = 4 / (mu (t + a)),  t = 0 .. T-1
 * g is dpf_logreg_batch_grad on `batch` indices drawn uniformly with replacement from a dpf_rng
 * seeded with `seed` (the same sequence for every sparsity), so E g(w~_t) = grad f(w~_t) as the
 * theorem assumes. With l2_dense the l2 part is taken at the dense w_t instead:
 *   w_{t+1} = w_t - gamma_t (grad CE_B(w~_t) + lambda w_t)
 * which is weight decay on w as dpf train and the paper's code do; outside the theorem, it keeps
 * the pruned coordinates of w from drifting (they get no l2 pull otherwise). */
typedef struct dpf_theory_run_config {
    int64_t iterations;     /* T */
    int batch;
    double lr_shift;        /* a >= 1 (the theorem: 2) */
    uint64_t seed;
    double sparsity;        /* in [0, 1) */
    int l2_dense;           /* 0: the theorem's g(w~_t); 1: l2 gradient at w_t (see above) */
} dpf_theory_run_config;

/* What is recorded at the logged iterations t[0] < ... < t[n_points - 1] (within [0, T]): for
 * each of the n_prune sparsities s_j, prune_{s_j}(w_t) by the same mask rule. For a DPF run
 * with prune = {its sparsity}, prune_s(w_t) is exactly its w~_t. Output arrays are the caller's. */
typedef struct dpf_theory_log {
    int n_points;
    const int64_t *t;
    int n_prune;
    const double *prune;    /* (n_prune) */
    double *gap;            /* (n_points) f(w_t) - f* */
    double *wnorm2;         /* (n_points) ||w_t||^2 */
    double *gap_pruned;     /* (n_points * n_prune) f(prune_s(w_t)) - f*, point-major */
    double *delta;          /* (n_points * n_prune) ||w_t - prune_s(w_t)||^2 / ||w_t||^2 */
} dpf_theory_log;

dpf_status dpf_theory_run(const dpf_logreg *p, const dpf_theory_run_config *c, double fstar,
                          dpf_theory_log *log, double *w);

/* Runs n independent trajectories (each from w = 0) on the OpenMP threads; done(ctx, i, seconds)
 * is called (from a worker thread, may be NULL) as each finishes. w_final: n * dim doubles or
 * NULL. The first failing run's error is returned, its message naming the run. */
dpf_status dpf_theory_run_all(const dpf_logreg *p, const dpf_theory_run_config *c,
                              dpf_theory_log *logs, int n, double fstar, double *w_final,
                              void (*done)(void *ctx, int i, double seconds), void *ctx);

/* About `requested` log-spaced iterations in [0, T]: 0, then round(T^(i/(requested-2))),
 * duplicates dropped, T last. Writes at most `requested` values; returns how many. */
int dpf_theory_log_points(int64_t T, int requested, int64_t *t);

/* Theorem 4.1's E f(u~) - f* for the horizon t[i], for every i: sum_{s<=t[i]} p_s gap(s) with
 * p_s proportional to s + a - 1 (a = 2: the theorem's s + 1), gap(s) interpolated linearly
 * between the logged points. out[i] for each logged point. */
void dpf_theory_weighted_mean(const int64_t *t, const double *gap, int n, double a, double *out);

#endif
