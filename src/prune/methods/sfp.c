/* sfp.c — Soft Filter Pruning (He et al., IJCAI 2018), Algorithm 1:
 *
 *   for epoch = 1..E:
 *     train one epoch on the dense w               (forward reads w: nothing is masked)
 *     in each channel group l: zero the floor(P_e * C_l) channels whose filters have the
 *       smallest L2 norm (their filters and the input channels that read them)
 *   output: the weights after the last zeroing
 *
 * P_e is the Zhu & Gupta ramp's sparsity at the end of epoch e, from 0 to --sparsity at
 * --ramp-end (the second LR milestone by default), as the DPF paper's comparison ran SFP (A.2);
 * with --sfp-ramp off, P_e = --sparsity from the first epoch on (SFP's paper). The same ratio in
 * every group, whatever --scope says: SFP is per layer, and a layer here is a channel group (the
 * convolutions one residual stream couples prune the same channels; src/prune/structured.c).
 * Zeroed channels are not masked during the next epoch: they keep receiving gradient (and
 * momentum, as in the reference code, which only multiplies the weights by the mask) and may grow
 * back ("soft"). p->mask records the last zeroing; the final one defines the sparse model (a
 * --finetune phase then enforces it). Linear hidden layers count their output neurons as filters.
 * The paper's Algorithm 1 prunes at the end of every epoch only (not at initialisation). */
#include "prune/method.h"

static dpf_status sfp_end_epoch(dpf_pruner *p, dpf_prune_ctx *c)
{
    double s = p->cfg->sfp_ramp ? dpf_pruner_scheduled_sparsity(p, c) : p->cfg->sparsity;
    dpf_pruner_select_filters(p, s, dpf_net_weights(p->net), NULL, 1);
    p->target = s;
    dpf_pruner_record_update(p, c);   /* delta: the share of ||w||^2 the zeroing removes */
    /* zero the selected filters in w itself; momentum is kept (reference code) */
    dpf_pruner_enforce(p, NULL);
    return DPF_OK;
}

const dpf_method_ops dpf_method_sfp = {
    .name = "sfp", .end_epoch = sfp_end_epoch,
};
