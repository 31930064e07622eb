/* random_bn.h — a test net's weights made less tame: batch-norm weights and biases moved by
 * N(0, 0.3), running statistics away from the identity (means N(0, 0.2), variances in
 * [0.5, 1.5)), and optionally a share of the prunable weights zeroed at random. */
#ifndef DPF_TEST_RANDOM_BN_H
#define DPF_TEST_RANDOM_BN_H

#include <string.h>

#include "dpf/net.h"
#include "dpf/rng.h"

static inline void randomise_net(dpf_net *net, dpf_rng *r, double zero_share)
{
    dpf_real *w = dpf_net_weights(net), *buf = dpf_net_buffers(net);
    for (int p = 0; p < dpf_net_param_count(net); p++) {
        const dpf_param_info *pi = dpf_net_param(net, p);
        for (size_t i = 0; i < pi->count; i++) {
            if (pi->prunable && zero_share > 0 && dpf_rng_uniform(r) < zero_share)
                w[pi->offset + i] = 0;
            if (pi->kind == DPF_PARAM_BN_WEIGHT || pi->kind == DPF_PARAM_BN_BIAS)
                w[pi->offset + i] += (dpf_real)(0.3 * dpf_rng_normal(r));
        }
    }
    for (int b = 0; b < dpf_net_buffer_count(net); b++) {
        const dpf_buffer_info *bi = dpf_net_buffer(net, b);
        for (size_t i = 0; i < bi->count && !bi->is_counter; i++)
            buf[bi->offset + i] = strstr(bi->name, "var") ? (dpf_real)(0.5 + dpf_rng_uniform(r))
                                                          : (dpf_real)(0.2 * dpf_rng_normal(r));
    }
}

#endif
