/* incremental.c — gradual magnitude pruning of Zhu & Gupta (2017): the same cubic schedule and
 * period as DPF, but pruning is final: pruned weights are zeroed, their gradient and momentum
 * masked, and the mask only grows (a pruned weight never comes back). */
#include "prune/method.h"

static void incremental_before_step(dpf_pruner *p, dpf_prune_ctx *c)
{
    if (c->step % p->cfg->period != 0)
        return;
    /* pruned weights are 0 and rank lowest; .monotone makes "never come back" exact */
    dpf_pruner_select(p, c, dpf_pruner_scheduled_sparsity(p, c), dpf_net_weights(p->net),
                      DPF_SCORE_MAGNITUDE);
    dpf_pruner_enforce(p, c->opt);
}

const dpf_method_ops dpf_method_incremental = {
    .name = "incremental", .hard = 1, .monotone = 1, .scheduled = 1,
    .before_step = incremental_before_step, .after_backward = dpf_hook_mask_grads,
    .after_step = dpf_hook_enforce,
};
