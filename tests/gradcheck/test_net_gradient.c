/* test_net_gradient.c — the whole network's backward against central finite differences, in
 * float64 (this file links the dpf_f64 build): a small ResNet (resnet20 on 3x8x8, batch 3), a
 * Wide ResNet block structure (wrn-10-1), LeNet-5 and the MLP. For every parameter tensor a few
 * coordinates are perturbed; BN runs in training mode. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "dpf/net.h"
#include "dpf/rng.h"

static double loss_at(dpf_net *net, const dpf_real *x, const int32_t *y, int batch)
{
    dpf_net_forward(net, x, batch, 1);
    return dpf_net_loss(net, y, NULL);
}

/* Returns the worst relative error over the sampled coordinates; fails on an all-zero gradient. */
static double check_model(const char *model, int c, int h, int w, int batch, int samples)
{
    dpf_net *net;
    assert_int_equal(dpf_net_create(&net, model, c, h, w, 5, batch), DPF_OK);
    dpf_net_init(net, 7);
    dpf_rng rng;
    dpf_rng_seed(&rng, 11);
    size_t nx = (size_t)batch * c * h * w;
    dpf_real *x = malloc(nx * sizeof *x);
    int32_t y[16];
    for (size_t i = 0; i < nx; i++)
        x[i] = (dpf_real)dpf_rng_normal(&rng);
    for (int i = 0; i < batch; i++)
        y[i] = (int32_t)dpf_rng_below(&rng, 5);
    loss_at(net, x, y, batch);
    dpf_net_backward(net);
    size_t n = dpf_net_size(net);
    dpf_real *g = malloc(n * sizeof *g);
    for (size_t i = 0; i < n; i++)
        g[i] = dpf_net_grads(net)[i];
    dpf_real *wt = dpf_net_weights(net);
    double worst = 0, gnorm = 0;
    const double eps = 1e-6;
    for (int p = 0; p < dpf_net_param_count(net); p++) {
        const dpf_param_info *pi = dpf_net_param(net, p);
        for (int s = 0; s < samples; s++) {
            size_t i = pi->offset + dpf_rng_below(&rng, (uint32_t)pi->count);
            dpf_real saved = wt[i];
            wt[i] = saved + eps;
            double lp = loss_at(net, x, y, batch);
            wt[i] = saved - eps;
            double lm = loss_at(net, x, y, batch);
            wt[i] = saved;
            double fd = (lp - lm) / (2 * eps);
            /* floor 1e-4: central differences of a loss ~1 at eps 1e-6 carry ~1e-10 round-off */
            double err = fabs(fd - g[i]) / fmax(1e-4, fmax(fabs(fd), fabs(g[i])));
            if (err > worst) {
                worst = err;
                if (err > 1e-5)
                    print_message("%s %s[%zu]: analytic %.9g numeric %.9g\n", model, pi->name,
                                  i - pi->offset, (double)g[i], fd);
            }
            gnorm += fabs(g[i]);
        }
    }
    assert_true(gnorm > 1e-6); /* an all-zero gradient must not pass */
    free(g);
    free(x);
    dpf_net_free(net);
    return worst;
}

static void test_resnet20(void **state)
{
    (void)state;
    assert_true(check_model("resnet20", 3, 8, 8, 3, 4) < 1e-5);
}

static void test_wrn(void **state)
{
    (void)state;
    assert_true(check_model("wrn-10-1", 3, 8, 8, 3, 4) < 1e-5);
}

static void test_lenet5(void **state)
{
    (void)state;
    assert_true(check_model("lenet5", 1, 16, 16, 3, 6) < 1e-5);
}

static void test_mlp(void **state)
{
    (void)state;
    assert_true(check_model("mlp", 1, 6, 6, 4, 6) < 1e-5);
}

/* The checker itself must be able to fail: a wrong gradient is caught. */
static void test_checker_detects_error(void **state)
{
    (void)state;
    dpf_net *net;
    assert_int_equal(dpf_net_create(&net, "mlp", 1, 4, 4, 5, 2), DPF_OK);
    dpf_real x[32];
    int32_t y[2] = {1, 3};
    for (int i = 0; i < 32; i++)
        x[i] = (dpf_real)((i * 7) % 11) / 11;
    loss_at(net, x, y, 2);
    dpf_net_backward(net);
    size_t i = dpf_net_param(net, 0)->offset + 3;
    double g = dpf_net_grads(net)[i] * 1.01 + 1e-3; /* deliberately wrong */
    dpf_real *wt = dpf_net_weights(net), saved = wt[i];
    wt[i] = saved + 1e-6;
    double lp = loss_at(net, x, y, 2);
    wt[i] = saved - 1e-6;
    double lm = loss_at(net, x, y, 2);
    wt[i] = saved;
    double fd = (lp - lm) / 2e-6;
    assert_true(fabs(fd - g) / fmax(1e-4, fmax(fabs(fd), fabs(g))) > 1e-5);
    dpf_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resnet20), cmocka_unit_test(test_wrn),
        cmocka_unit_test(test_lenet5), cmocka_unit_test(test_mlp),
        cmocka_unit_test(test_checker_detects_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
