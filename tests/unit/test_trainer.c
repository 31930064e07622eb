/* test_trainer.c — the trainer object (dpf/trainer.h): a stop request belongs to one trainer
 * (two runs in one process, one asked to stop; needs the Fashion-MNIST files in
 * /usr/share/datasets/fashion-mnist, skipped without them), and a trainer on a caller's net
 * steps, counts its steps and leaves the net to the caller, but does not run. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dpf/net.h"
#include "dpf/trainer.h"
#include "dpf/util.h"

static void small_run(dpf_train_config *c)
{
    dpf_train_config_defaults(c);
    snprintf(c->model, sizeof c->model, "mlp");
    c->limit_train = 128;
    c->batch = 32;
    c->epochs = 1;
    c->progress = 0;
}

static void test_stop_is_per_trainer(void **state)
{
    (void)state;
    if (!dpf_file_exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"))
        skip();
    dpf_train_config c;
    small_run(&c);
    dpf_trainer *a, *b;
    assert_int_equal(dpf_trainer_create(&a, &c, NULL), DPF_OK);
    assert_int_equal(dpf_trainer_create(&b, &c, NULL), DPF_OK);
    dpf_trainer_request_stop(a);
    dpf_train_result ra, rb;
    assert_int_equal(dpf_trainer_run(a, &ra), DPF_ERR_INTERRUPTED);
    assert_int_equal(dpf_trainer_run(b, &rb), DPF_OK); /* not stopped by a's request */
    assert_true(rb.test_acc_sparse > 0);
    dpf_trainer_free(a);
    dpf_trainer_free(b);
}

static void test_caller_net(void **state)
{
    (void)state;
    dpf_train_config c;
    small_run(&c);
    dpf_net *net;
    assert_int_equal(dpf_net_create(&net, "mlp", 1, 4, 4, 10, 4), DPF_OK);
    dpf_net_init(net, 1);
    dpf_trainer *t;
    assert_int_equal(dpf_trainer_create(&t, &c, net), DPF_OK);
    assert_int_equal(dpf_trainer_phase_count(t), 1);
    assert_string_equal(dpf_trainer_phase(t, 0)->name, "train");
    assert_int_equal(dpf_trainer_begin_phase(t, 1, 3), DPF_ERR_ARG);
    assert_int_equal(dpf_trainer_begin_phase(t, 0, 3), DPF_OK);
    float x[4 * 16];
    int32_t y[4] = {1, 2, 3, 4};
    for (int i = 0; i < 4 * 16; i++)
        x[i] = (float)sin(i);
    for (int s = 0; s < 3; s++)
        assert_true(isfinite(dpf_trainer_step(t, x, y, 4, 0.1, NULL)));
    assert_int_equal(dpf_trainer_steps(t), 3);
    assert_int_equal(dpf_trainer_end_epoch(t), DPF_OK);
    dpf_train_result r;
    assert_int_equal(dpf_trainer_run(t, &r), DPF_ERR_STATE);
    dpf_trainer_free(t);
    dpf_net_free(net); /* the caller's: the trainer left it */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_is_per_trainer),
        cmocka_unit_test(test_caller_net),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
