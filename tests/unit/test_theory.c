/* test_theory.c — dpf theory's numerics on a tiny synthetic logistic regression: the gradient
 * against central finite differences, the f* solve (tiny gradient, f* below f elsewhere), DPF at
 * sparsity 0 is plain SGD bit for bit, DPF gets below its initial gap, a larger sparsity gives a
 * larger delta, and the log points / the theorem's weighted mean. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dpf/rng.h"
#include "dpf/theory.h"

enum { N = 300, F = 12, K = 4 };
#define LAMBDA 0.1

/* Features ~ N(0, 1) with a third of them zero; labels from a random linear teacher + noise. */
static void make_problem(dpf_logreg *p, double lambda)
{
    static double x[N * F];
    static int32_t y[N];
    dpf_rng r;
    dpf_rng_seed(&r, 7);
    double teacher[K][F];
    for (int k = 0; k < K; k++)
        for (int j = 0; j < F; j++)
            teacher[k][j] = dpf_rng_normal(&r);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < F; j++)
            x[i * F + j] = dpf_rng_below(&r, 3) == 0 ? 0.0 : dpf_rng_normal(&r);
        double best = -INFINITY;
        for (int k = 0; k < K; k++) {
            double z = 2 * dpf_rng_normal(&r);
            for (int j = 0; j < F; j++)
                z += teacher[k][j] * x[i * F + j];
            if (z > best)
                best = z, y[i] = k;
        }
    }
    assert_int_equal(dpf_logreg_from_dense(p, x, y, N, F, K, lambda), DPF_OK);
    assert_int_equal(dpf_logreg_dim(p), (size_t)K * (F + 1));
}

static void random_w(double *w, size_t d, uint64_t seed, double scale)
{
    dpf_rng r;
    dpf_rng_seed(&r, seed);
    for (size_t i = 0; i < d; i++)
        w[i] = scale * dpf_rng_normal(&r);
}

static void test_gradient_finite_differences(void **state)
{
    (void)state;
    dpf_logreg p;
    make_problem(&p, LAMBDA);
    const size_t d = dpf_logreg_dim(&p);
    double w[K * (F + 1)], g[K * (F + 1)], gb[K * (F + 1)];
    random_w(w, d, 3, 0.5);
    const double f = dpf_logreg_value(&p, w, g);
    assert_true(isfinite(f));
    assert_true(fabs(dpf_logreg_value(&p, w, NULL) - f) <= 1e-14 * fabs(f));
    const double h = 1e-5;
    for (size_t i = 0; i < d; i++) {
        const double wi = w[i];
        w[i] = wi + h;
        const double fp = dpf_logreg_value(&p, w, NULL);
        w[i] = wi - h;
        const double fm = dpf_logreg_value(&p, w, NULL);
        w[i] = wi;
        const double fd = (fp - fm) / (2 * h);
        if (fabs(fd - g[i]) > 1e-7 * (1 + fabs(g[i])))
            fail_msg("coordinate %zu: gradient %.12g, finite differences %.12g", i, g[i], fd);
    }
    /* the mini-batch gradient over every sample once is the full gradient */
    int32_t idx[N];
    for (int i = 0; i < N; i++)
        idx[i] = i;
    dpf_logreg_batch_grad(&p, w, idx, N, gb);
    for (size_t i = 0; i < d; i++)
        assert_true(fabs(gb[i] - g[i]) <= 1e-12 * (1 + fabs(g[i])));
    /* stable log-sum-exp: huge logits stay finite */
    random_w(w, d, 4, 1e4);
    assert_true(isfinite(dpf_logreg_value(&p, w, g)));
    dpf_logreg_free(&p);
}

static void test_fstar_solve(void **state)
{
    (void)state;
    dpf_logreg p;
    make_problem(&p, LAMBDA);
    const size_t d = dpf_logreg_dim(&p);
    double w[K * (F + 1)], v[K * (F + 1)], g[K * (F + 1)];
    dpf_fstar_info info;
    assert_int_equal(dpf_logreg_solve(&p, 1e-10, 10000, w, &info), DPF_OK);
    assert_true(info.converged);
    assert_true(info.grad_norm <= 1e-10 * info.grad_norm0);
    dpf_logreg_value(&p, w, g);
    double gn = 0;
    for (size_t i = 0; i < d; i++)
        gn += g[i] * g[i];
    assert_true(sqrt(gn) <= 1e-10 * info.grad_norm0);
    assert_true(info.fstar == dpf_logreg_value(&p, w, NULL));
    for (int trial = 0; trial < 50; trial++) { /* far points and points next to w* */
        random_w(v, d, 100 + (uint64_t)trial, trial < 25 ? 1.0 : 1e-3);
        for (size_t i = 0; i < d; i++)
            v[i] += trial < 25 ? 0 : w[i];
        assert_true(dpf_logreg_value(&p, v, NULL) >= info.fstar);
    }
    dpf_logreg_free(&p);
}

typedef struct trajectory {
    int64_t t[64];
    int n;
    double gap[64], wnorm2[64], gap_pruned[64], delta[64];
    dpf_theory_log log;
} trajectory;

static void trajectory_init(trajectory *tr, int64_t T, const double *prune)
{
    memset(tr, 0, sizeof *tr);
    tr->n = dpf_theory_log_points(T, 64, tr->t);
    tr->log = (dpf_theory_log){tr->n, tr->t, 1, prune, tr->gap, tr->wnorm2, tr->gap_pruned,
                               tr->delta};
}

static void test_sparsity_zero_is_sgd(void **state)
{
    (void)state;
    dpf_logreg p;
    make_problem(&p, LAMBDA);
    const size_t d = dpf_logreg_dim(&p);
    double w[K * (F + 1)] = {0}, ref[K * (F + 1)] = {0}, g[K * (F + 1)];
    const dpf_theory_run_config c = {.iterations = 500, .batch = 5, .lr_shift = 2, .seed = 11,
                                     .sparsity = 0};
    static const double zero = 0;
    trajectory tr;
    trajectory_init(&tr, c.iterations, &zero);
    assert_int_equal(dpf_theory_run(&p, &c, 0.0, &tr.log, w), DPF_OK);
    /* plain SGD written out: same draws, gamma_t = 4 / (lambda (t + 2)) */
    dpf_rng r;
    dpf_rng_seed(&r, 11);
    int32_t idx[5];
    for (int64_t t = 0; t < c.iterations; t++) {
        for (int b = 0; b < 5; b++)
            idx[b] = (int32_t)dpf_rng_below(&r, N);
        dpf_logreg_batch_grad(&p, ref, idx, 5, g);
        const double gamma = 4.0 / (LAMBDA * ((double)t + 2));
        for (size_t i = 0; i < d; i++)
            ref[i] -= gamma * g[i];
    }
    assert_memory_equal(w, ref, sizeof w);
    assert_true(tr.gap[tr.n - 1] == dpf_logreg_value(&p, ref, NULL));
    for (int i = 0; i < tr.n; i++) {
        assert_true(tr.gap_pruned[i] == tr.gap[i]);
        assert_true(tr.delta[i] == 0);
    }
    /* the l2-at-dense variant is the same update when nothing is pruned */
    double w2[K * (F + 1)] = {0};
    dpf_theory_run_config c2 = c;
    c2.l2_dense = 1;
    assert_int_equal(dpf_theory_run(&p, &c2, 0.0, &tr.log, w2), DPF_OK);
    assert_memory_equal(w2, ref, sizeof w2);
    dpf_logreg_free(&p);
}

static int by_magnitude(const void *a, const void *b)
{
    const double x = fabs(**(const double *const *)a), y = fabs(**(const double *const *)b);
    return (x > y) - (x < y);
}

/* prune_s(w) written out: zero the floor(s d) smallest magnitudes (no ties in these tests) */
static void reference_prune(const double *w, double *wt, size_t d, double s)
{
    const double *order[K * (F + 1)];
    for (size_t i = 0; i < d; i++)
        order[i] = &w[i];
    qsort(order, d, sizeof order[0], by_magnitude);
    memcpy(wt, w, d * sizeof *wt);
    for (size_t i = 0; i < (size_t)floor(s * (double)d); i++)
        wt[order[i] - w] = 0;
}

/* Final DPF results at sparsities lo < hi (the theorem's gradient, then l2 at the dense w). */
static void test_dpf_converges_and_delta_grows(void **state)
{
    (void)state;
    dpf_logreg p;
    make_problem(&p, LAMBDA);
    const size_t d = dpf_logreg_dim(&p);
    double w[K * (F + 1)];
    dpf_fstar_info info;
    assert_int_equal(dpf_logreg_solve(&p, 1e-10, 10000, w, &info), DPF_OK);
    static const double sparsity[2] = {0.2, 0.6};
    for (int l2_dense = 0; l2_dense < 2; l2_dense++) {
        double final_delta[2];
        for (int s = 0; s < 2; s++) {
            const dpf_theory_run_config c = {.iterations = 4000, .batch = 10, .lr_shift = 2,
                                             .seed = 5, .sparsity = sparsity[s],
                                             .l2_dense = l2_dense};
            trajectory tr;
            trajectory_init(&tr, c.iterations, &sparsity[s]);
            memset(w, 0, d * sizeof *w);
            assert_int_equal(dpf_theory_run(&p, &c, info.fstar, &tr.log, w), DPF_OK);
            const int last = tr.n - 1;
            if (!(tr.gap_pruned[last] < tr.gap_pruned[0]))
                fail_msg("l2 %s, sparsity %g: final gap %g not below the initial %g",
                         l2_dense ? "dense" : "pruned", sparsity[s], tr.gap_pruned[last],
                         tr.gap_pruned[0]);
            assert_true(tr.gap_pruned[last] >= 0 && tr.gap[last] >= 0);
            assert_true(tr.delta[last] > 0 && tr.delta[last] < 1);
            final_delta[s] = tr.delta[last];
            /* the logged w~_T is the top-k magnitude mask of w_T */
            double wt[K * (F + 1)], err = 0, n2 = 0;
            reference_prune(w, wt, d, sparsity[s]);
            assert_true(tr.gap_pruned[last] == dpf_logreg_value(&p, wt, NULL) - info.fstar);
            for (size_t i = 0; i < d; i++) {
                err += (w[i] - wt[i]) * (w[i] - wt[i]);
                n2 += w[i] * w[i];
            }
            assert_true(fabs(tr.delta[last] - err / n2) <= 1e-12);
            assert_true(tr.wnorm2[last] == n2);
        }
        if (!(final_delta[1] > final_delta[0]))
            fail_msg("l2 %s: delta %g at sparsity 0.6 not above %g at 0.2",
                     l2_dense ? "dense" : "pruned", final_delta[1], final_delta[0]);
    }
    dpf_logreg_free(&p);
}

static void test_log_points_and_weighted_mean(void **state)
{
    (void)state;
    int64_t t[100];
    const int n = dpf_theory_log_points(20000, 100, t);
    assert_true(n > 50 && n <= 100);
    assert_int_equal(t[0], 0);
    assert_int_equal(t[1], 1);
    assert_int_equal(t[n - 1], 20000);
    for (int i = 1; i < n; i++)
        assert_true(t[i] > t[i - 1]);
    /* gap(s) = 3 s + 1 is linear, so interpolation is exact: sum (s+1)(3s+1) / sum (s+1) */
    double gap[100], out[100];
    for (int i = 0; i < n; i++)
        gap[i] = 3.0 * (double)t[i] + 1;
    dpf_theory_weighted_mean(t, gap, n, 2.0, out);
    for (int i = 0; i < n; i += 7) {
        double num = 0, den = 0;
        for (int64_t s = 0; s <= t[i]; s++) {
            num += (double)(s + 1) * (3.0 * (double)s + 1);
            den += (double)(s + 1);
        }
        assert_true(fabs(out[i] - num / den) <= 1e-9 * (num / den));
    }
    assert_int_equal(dpf_theory_log_points(0, 10, t), 1);
}

static void test_bad_input(void **state)
{
    (void)state;
    dpf_logreg p;
    const double x[4] = {1, 0, 0, 1};
    const int32_t bad_label[2] = {0, 3};
    assert_int_equal(dpf_logreg_from_dense(&p, x, bad_label, 2, 2, 3, 0.1), DPF_ERR_ARG);
    const int32_t y[2] = {0, 1};
    assert_int_equal(dpf_logreg_from_dense(&p, x, y, 2, 2, 2, 0.0), DPF_ERR_ARG);
    assert_int_equal(dpf_logreg_from_dense(&p, x, y, 2, 2, 2, 0.1), DPF_OK);
    double w[6] = {0};
    const dpf_theory_run_config c = {.iterations = 10, .batch = 1, .lr_shift = 0.5};
    trajectory tr;
    trajectory_init(&tr, 10, &c.sparsity);
    assert_int_equal(dpf_theory_run(&p, &c, 0.0, &tr.log, w), DPF_ERR_ARG);
    dpf_logreg_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradient_finite_differences),
        cmocka_unit_test(test_fstar_solve),
        cmocka_unit_test(test_sparsity_zero_is_sgd),
        cmocka_unit_test(test_dpf_converges_and_delta_grows),
        cmocka_unit_test(test_log_points_and_weighted_mean),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
