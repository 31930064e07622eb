/* test_dist.c — the data-parallel arithmetic without MPI (src/dist): slices of a batch, the
 * ordered combination, and an emulation of two ranks equal, bit for bit, to two half-batches
 * done by hand (each with its own batch-norm statistics, gradients summed 1/2 g0 + 1/2 g1 in
 * that order). A trainer refuses a batch that does not split. The same over real processes:
 * tests/mpi/test_dist_mpi.c and tests/cli/test_mpi.sh. */
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

static void test_slices(void **state)
{
    (void)state;
    for (int size = 1; size <= 5; size++)
        for (int n = 0; n <= 13; n++) {
            int next = 0;
            for (int r = 0; r < size; r++) {
                int first, count = dpf_dist_slice(n, r, size, &first);
                assert_int_equal(first, next); /* contiguous, in rank order */
                assert_true(count == n / size || count == n / size + 1);
                next = first + count;
            }
            assert_int_equal(next, n);
        }
}

static void test_combine_in_rank_order(void **state)
{
    (void)state;
    /* in float, (1e8 + 1) - 1e8 != 1e8 + (1 - 1e8); in double rank order it is exact */
    dpf_real a[2] = {1e8f, 3}, b[2] = {1, 5}, c[2] = {-1e8f, 7}, out[2];
    const dpf_real *in[3] = {a, b, c};
    double w[3] = {1, 1, 1};
    dpf_dist_combine(out, in, w, 3, 2);
    assert_true(out[0] == 1.0f);
    assert_true(out[1] == 15.0f);
    double half[2] = {0.5, 0.5};
    dpf_dist_combine(out, in, half, 2, 2);
    assert_true(out[1] == 4.0f);
}

static void test_emulation_is_two_half_batches(void **state)
{
    (void)state;
    float x[B * C * H * W];
    int32_t y[B];
    dist_batch(x, y, 0.37);
    /* the emulation */
    dpf_net *a = bn_net();
    dpf_dist *d;
    assert_int_equal(dpf_dist_emulate(&d, 2), DPF_OK);
    assert_int_equal(dpf_dist_prepare(d, a), DPF_OK);
    int correct = -1;
    double loss = dpf_dist_backprop(d, a, x, y, B, &correct);
    /* by hand: two halves, each from the initial statistics */
    dpf_net *h = bn_net();
    size_t p = dpf_net_size(h), nbn = dpf_net_buffers_size(h);
    assert_true(nbn > 0);
    dpf_real *g0 = malloc(p * sizeof *g0), *bn0 = malloc(nbn * sizeof *bn0);
    dpf_real *init = malloc(nbn * sizeof *init), *all = malloc(2 * nbn * sizeof *all);
    memcpy(init, dpf_net_buffers(h), nbn * sizeof *init);
    int c0, c1;
    dpf_net_forward(h, x, B / 2, 1);
    double l0 = dpf_net_loss(h, y, &c0);
    dpf_net_backward(h);
    memcpy(g0, dpf_net_grads(h), p * sizeof *g0);
    memcpy(bn0, dpf_net_buffers(h), nbn * sizeof *bn0);
    memcpy(dpf_net_buffers(h), init, nbn * sizeof *init); /* rank 1's own statistics */
    dpf_net_forward(h, x + B / 2 * C * H * W, B / 2, 1);
    double l1 = dpf_net_loss(h, y + B / 2, &c1);
    dpf_net_backward(h);
    const dpf_real *g1 = dpf_net_grads(h), *ga = dpf_net_grads(a);
    size_t differ = 0;
    for (size_t i = 0; i < p; i++)
        differ += ga[i] != (dpf_real)(0.5 * (double)g0[i] + 0.5 * (double)g1[i]);
    assert_int_equal(differ, 0);
    assert_true(loss == (l0 * (B / 2) + l1 * (B / 2)) / B);
    assert_int_equal(correct, c0 + c1);
    /* each rank its own statistics; one step counted */
    assert_int_equal(dpf_dist_bn_gather(d, a, all), DPF_OK);
    assert_memory_equal(all, bn0, nbn * sizeof *all);
    assert_memory_equal(all + nbn, dpf_net_buffers(h), nbn * sizeof *all);
    assert_true(memcmp(all, all + nbn, nbn * sizeof *all) != 0);
    assert_int_equal(dpf_net_batches_tracked(a), 1);
    free(g0), free(bn0), free(init), free(all);
    dpf_dist_free(d);
    dpf_net_free(a);
    dpf_net_free(h);
}

static void test_batch_must_split(void **state)
{
    (void)state;
    dpf_train_config c;
    dpf_train_config_defaults(&c);
    snprintf(c.model, sizeof c.model, "mlp");
    c.batch = 10;
    dpf_net *net;
    assert_int_equal(dpf_net_create(&net, "mlp", 1, 4, 4, 10, 10), DPF_OK);
    dpf_dist *d;
    assert_int_equal(dpf_dist_emulate(&d, 3), DPF_OK);
    dpf_trainer *t;
    assert_int_equal(dpf_trainer_create_dist(&t, &c, net, d), DPF_ERR_ARG);
    assert_non_null(strstr(dpf_last_error(), "--batch 10 does not split across 3 processes"));
    c.batch = 9;
    assert_int_equal(dpf_trainer_create_dist(&t, &c, net, d), DPF_OK);
    dpf_trainer_free(t);
    dpf_dist_free(d);
    dpf_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slices),
        cmocka_unit_test(test_combine_in_rank_order),
        cmocka_unit_test(test_emulation_is_two_half_batches),
        cmocka_unit_test(test_batch_must_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
