/* test_optim.c — the optimisers follow torch.optim's update rules exactly (values worked by
 * hand), the LR schedule (warm-up, milestones at fractions of training), and the zeroing of the
 * state of masked elements. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dpf/optim.h"

static void test_sgd_nesterov_weight_decay(void **state)
{
    (void)state;
    dpf_optim_config c = dpf_optim_sgd_defaults(); /* momentum 0.9, nesterov, wd 1e-4 */
    c.weight_decay = 0.1;
    dpf_optimizer o;
    assert_int_equal(dpf_optim_init(&o, &c, 1), DPF_OK);
    dpf_real w = 1, g = 0.5;
    /* step 1: d = 0.5 + 0.1*1 = 0.6; buf = 0.6; d = 0.6 + 0.9*0.6 = 1.14; w = 1 - 0.1*1.14 */
    dpf_optim_step(&o, &w, &g, 0.1);
    assert_float_equal(w, 0.886, 1e-6);
    /* step 2: d = 0.5 + 0.0886 = 0.5886; buf = 0.9*0.6 + 0.5886 = 1.1286;
     * d = 0.5886 + 0.9*1.1286 = 1.60434; w = 0.886 - 0.160434 */
    dpf_optim_step(&o, &w, &g, 0.1);
    assert_float_equal(w, 0.725566, 1e-6);
    dpf_optim_free(&o);
}

static void test_sgd_plain_momentum(void **state)
{
    (void)state;
    dpf_optim_config c = {.kind = DPF_OPT_SGD, .momentum = 0.5, .dampening = 0.5};
    dpf_optimizer o;
    assert_int_equal(dpf_optim_init(&o, &c, 1), DPF_OK);
    dpf_real w = 0, g = 1;
    dpf_optim_step(&o, &w, &g, 1); /* buf = 1 (first step: no dampening) */
    assert_float_equal(w, -1, 1e-7);
    dpf_optim_step(&o, &w, &g, 1); /* buf = 0.5 + 0.5 = 1 */
    assert_float_equal(w, -2, 1e-7);
    dpf_optim_free(&o);
    c.nesterov = 1; /* Nesterov with dampening is refused, as in PyTorch */
    assert_int_equal(dpf_optim_init(&o, &c, 1), DPF_ERR_ARG);
}

static void test_adam(void **state)
{
    (void)state;
    dpf_optim_config c = dpf_optim_adam_defaults();
    dpf_optimizer o;
    assert_int_equal(dpf_optim_init(&o, &c, 1), DPF_OK);
    dpf_real w = 1, g = 0.2;
    /* first step: m^ = g, v^ = g^2, so w -= lr * g / (|g| + eps) = lr (up to eps) */
    dpf_optim_step(&o, &w, &g, 0.01);
    assert_float_equal(w, 0.99, 1e-6);
    g = -0.2; /* m = 0.9*0.02 - 0.02 = -0.002, v = 0.04 * (0.999*0.001 + 0.001) */
    dpf_optim_step(&o, &w, &g, 0.01);
    double m = -0.002 / (1 - 0.81), v = 0.04 * (0.000999 + 0.001) / (1 - 0.999 * 0.999);
    assert_float_equal(w, 0.99 - 0.01 * m / (sqrt(v) + 1e-8), 1e-6);
    dpf_optim_free(&o);
}

/* dpf_optim_mask_state zeroes both of Adam's moments where the mask is 0, nothing else. */
static void test_mask_state(void **state)
{
    (void)state;
    dpf_optim_config c = dpf_optim_adam_defaults();
    dpf_optimizer o;
    assert_int_equal(dpf_optim_init(&o, &c, 4), DPF_OK);
    dpf_real w[4] = {1, 2, 3, 4}, g[4] = {0.5, -0.5, 0.25, 1};
    dpf_optim_step(&o, w, g, 0.01);
    const uint8_t mask[4] = {1, 0, 1, 0};
    dpf_optim_mask_state(&o, mask);
    for (int i = 0; i < 4; i++) {
        assert_true((o.m[i] == 0) == !mask[i]);
        assert_true((o.v[i] == 0) == !mask[i]);
    }
    dpf_optim_free(&o);
}

static void test_schedule(void **state)
{
    (void)state;
    dpf_lr_schedule s = {.base_lr = 0.1, .gamma = 0.1, .n_milestones = 2,
                         .milestones = {0.5, 0.75}, .total_steps = 1000};
    assert_float_equal(dpf_lr_at(&s, 0), 0.1, 1e-12);
    assert_float_equal(dpf_lr_at(&s, 499), 0.1, 1e-12);
    assert_float_equal(dpf_lr_at(&s, 500), 0.01, 1e-12);
    assert_float_equal(dpf_lr_at(&s, 749), 0.01, 1e-12);
    assert_float_equal(dpf_lr_at(&s, 750), 0.001, 1e-12);
    s.warmup_steps = 10;
    assert_float_equal(dpf_lr_at(&s, 0), 0.01, 1e-12);
    assert_float_equal(dpf_lr_at(&s, 9), 0.1, 1e-12);
    assert_float_equal(dpf_lr_at(&s, 10), 0.1, 1e-12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd_nesterov_weight_decay), cmocka_unit_test(test_sgd_plain_momentum),
        cmocka_unit_test(test_adam), cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_mask_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
