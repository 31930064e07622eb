/* test_dist_mpi.c — the data-parallel layer over real MPI processes (run by CTest under
 * `mpirun -np 2`): agreement on a flag, on a status (the first rank that failed prints) and on
 * a hash; the gradient summed over MPI equal, bit for bit, to the emulation of the same ranks in
 * one process; and a trainer whose ranks hold different weights stops at the next mask update
 * with an error naming the step. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dist_batch.h"

#include "dist/dist.h"
#include "dpf/net.h"
#include "dpf/trainer.h"

static dpf_dist *d;

static void test_agreement(void **state)
{
    (void)state;
    int rank = dpf_dist_rank(d);
    assert_int_equal(dpf_dist_size(d), 2);
    int flag = rank == 1;
    assert_int_equal(dpf_dist_any(d, &flag), DPF_OK);
    assert_int_equal(flag, 1);
    flag = 0;
    assert_int_equal(dpf_dist_any(d, &flag), DPF_OK);
    assert_int_equal(flag, 0);
    assert_int_equal(dpf_dist_check_same(d, 42, "x"), DPF_OK);
    assert_int_equal(dpf_dist_check_same(d, 42 + (uint64_t)rank, "the weights at step 7"),
                     DPF_ERR_STATE);
    assert_non_null(strstr(dpf_last_error(), "the weights at step 7"));
    assert_non_null(strstr(dpf_last_error(), "rank 1"));
    dpf_status mine = rank == 1 ? dpf_error(DPF_ERR_IO, "rank 1's disk is full") : DPF_OK;
    dpf_status st = dpf_dist_agree_status(d, mine);
    assert_int_not_equal(st, DPF_OK);
    assert_int_equal(dpf_dist_quiet(d), rank == 0); /* rank 1 prints its error */
    assert_non_null(strstr(dpf_last_error(), rank == 0 ? "rank 1 stopped" : "disk is full"));
}

static void test_gradient_equals_emulation(void **state)
{
    (void)state;
    float x[B * C * H * W];
    int32_t y[B];
    dist_batch(x, y, 0.21);
    dpf_net *a = bn_net(), *e = bn_net();
    dpf_dist *emu;
    assert_int_equal(dpf_dist_emulate(&emu, 2), DPF_OK);
    assert_int_equal(dpf_dist_prepare(d, a), DPF_OK);
    assert_int_equal(dpf_dist_prepare(emu, e), DPF_OK);
    for (int step = 0; step < 2; step++) { /* the second with each rank's own statistics */
        int ca, ce;
        double la = dpf_dist_backprop(d, a, x, y, B, &ca);
        double le = dpf_dist_backprop(emu, e, x, y, B, &ce);
        assert_true(la == le);
        assert_int_equal(ca, ce);
        assert_memory_equal(dpf_net_grads(a), dpf_net_grads(e), dpf_net_size(a) * sizeof(dpf_real));
    }
    size_t nbn = dpf_net_buffers_size(a);
    dpf_real *ga = malloc(2 * nbn * sizeof *ga), *ge = malloc(2 * nbn * sizeof *ge);
    assert_int_equal(dpf_dist_bn_gather(d, a, ga), DPF_OK);
    assert_int_equal(dpf_dist_bn_gather(emu, e, ge), DPF_OK);
    assert_memory_equal(ga, ge, 2 * nbn * sizeof *ga);
    free(ga), free(ge);
    dpf_dist_free(emu);
    dpf_net_free(a);
    dpf_net_free(e);
}

static void test_disagreement_names_the_step(void **state)
{
    (void)state;
    dpf_train_config c;
    dpf_train_config_defaults(&c);
    snprintf(c.model, sizeof c.model, "mlp");
    c.batch = 8, c.period = 1, c.sparsity = 0.5, c.ramp_end = 0.01, c.progress = 0;
    dpf_net *net;
    assert_int_equal(dpf_net_create(&net, "mlp", 1, 4, 4, 10, 4), DPF_OK);
    dpf_net_init(net, 1);
    dpf_trainer *t;
    assert_int_equal(dpf_trainer_create_dist(&t, &c, net, d), DPF_OK);
    assert_int_equal(dpf_trainer_begin_phase(t, 0, 10), DPF_OK);
    float x[8 * 16];
    int32_t y[8];
    for (int i = 0; i < 8 * 16; i++)
        x[i] = (float)sin(i);
    for (int i = 0; i < 8; i++)
        y[i] = i;
    for (int s = 0; s < 3; s++) {
        assert_true(isfinite(dpf_trainer_step(t, x, y, 8, 0.1, NULL)));
        assert_int_equal(dpf_trainer_sync(t), DPF_OK); /* the same everywhere */
    }
    if (dpf_dist_rank(d) == 1)
        dpf_net_weights(net)[3] += 1.0f; /* rank 1 goes its own way */
    dpf_trainer_step(t, x, y, 8, 0.1, NULL);
    assert_int_equal(dpf_trainer_sync(t), DPF_ERR_STATE);
    assert_non_null(strstr(dpf_last_error(), "after a mask update (phase train, epoch 1, step 4)"));
    dpf_trainer_free(t);
    dpf_net_free(net);
}

int main(int argc, char **argv)
{
    if (dpf_dist_launch(&d, &argc, &argv) != DPF_OK || dpf_dist_size(d) != 2) {
        fprintf(stderr, "run me under mpirun -np 2: %s\n", dpf_last_error());
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agreement),
        cmocka_unit_test(test_gradient_equals_emulation),
        cmocka_unit_test(test_disagreement_names_the_step),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    dpf_dist_free(d);
    return rc;
}
