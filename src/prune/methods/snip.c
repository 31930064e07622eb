/* snip.c — SNIP (Lee et al. 2019): before training, one mini-batch gives the connection
 * sensitivity |g ⊙ w| at the initial weights; the weights with the lowest sensitivity are pruned
 * globally to the target, and the mask stays fixed for the whole training (hard). */
#include "dist/dist.h"
#include "prune/method.h"

static void snip_before_step(dpf_pruner *p, dpf_prune_ctx *c)
{
    if (c->step != 0)
        return;
    /* sensitivity on the first batch, at the dense initialisation */
    dpf_dist_backprop(c->dist, p->net, c->x, c->y, c->batch, NULL); /* over every rank */
    dpf_pruner_select(p, c, p->cfg->sparsity, dpf_net_weights(p->net),
                      DPF_SCORE_GRAD_TIMES_WEIGHT);
    dpf_pruner_enforce(p, c->opt);
}

const dpf_method_ops dpf_method_snip = {
    .name = "snip", .hard = 1, .before_step = snip_before_step,
    .after_backward = dpf_hook_mask_grads, .after_step = dpf_hook_enforce,
};
