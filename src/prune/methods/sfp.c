/* sfp.c — Soft Filter Pruning (He et al., IJCAI 2018), Algorithm 1:
 *
 *   for epoch = 1..E:
 *     train one epoch on the dense w               (forward reads w: nothing is masked)
 *     in each prunable layer l: zero the floor(P * F_l) output filters with the smallest L2 norm
 *   output: the weights after the last zeroing
 *
 * P is --sparsity (the same pruning ratio in every layer, whatever --scope says: SFP is per
 * layer). Zeroed filters are not masked during the next epoch: they keep receiving gradient (and
 * momentum, as in the reference code, which only multiplies the weights by the mask) and may grow
 * back ("soft"). p->mask records the last zeroing; the final one defines the sparse model (a
 * --finetune phase then enforces it). Linear hidden layers count their output neurons as filters.
 * The paper's Algorithm 1 prunes at the end of every epoch only (not at initialisation). */
#include "prune/method.h"

static dpf_status sfp_end_epoch(dpf_pruner *p, dpf_prune_ctx *c)
{
    dpf_pruner_select_filters(p, p->cfg->sparsity, dpf_net_weights(p->net), NULL, 1);
    p->target = p->cfg->sparsity;
    dpf_pruner_record_update(p, c);   /* delta: the share of ||w||^2 the zeroing removes */
    /* zero the selected filters in w itself; momentum is kept (reference code) */
    dpf_pruner_enforce(p, NULL);
    return DPF_OK;
}

const dpf_method_ops dpf_method_sfp = {
    .name = "sfp", .end_epoch = sfp_end_epoch,
};
