/* dist_batch.h — a batch and a small net with batch norm for the data-parallel tests
 * (tests/unit/test_dist.c, tests/mpi/test_dist_mpi.c): ResNet-20 on 1x8x8 inputs, B images split
 * in two slices. Include after cmocka.h. */
#ifndef DPF_TEST_DIST_BATCH_H
#define DPF_TEST_DIST_BATCH_H

#include <math.h>

#include "dpf/net.h"

enum { B = 8, C = 1, H = 8, W = 8, K = 10 };

/* The net, planned for a slice of B / 2, initialised from seed 7. */
static dpf_net *bn_net(void)
{
    dpf_net *net;
    assert_int_equal(dpf_net_create(&net, "resnet20", C, H, W, K, B / 2), DPF_OK);
    dpf_net_init(net, 7);
    return net;
}

/* x (B, C, H, W): a wave of frequency f, the second half shifted (the slices differ); y (B). */
static void dist_batch(float *x, int32_t *y, double f)
{
    for (int i = 0; i < B * C * H * W; i++)
        x[i] = (float)sin(f * i) + (i < B * C * H * W / 2 ? 0.5f : -0.25f);
    for (int i = 0; i < B; i++)
        y[i] = (i * 3) % K;
}

#endif
