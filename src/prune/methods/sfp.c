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
#include <math.h>
#include <string.h>

#include "prune/method.h"

/* Masks the floor(ratio * filters) filters of smallest L2 norm of one tensor. */
static void select_layer_filters(dpf_pruner *p, const dpf_param_info *pi, double ratio)
{
    const dpf_real *w = dpf_net_weights(p->net) + pi->offset;
    const size_t filters = (size_t)pi->filters, len = pi->count / filters;
    for (size_t f = 0; f < filters; f++) {
        double s = 0;
        for (size_t i = f * len; i < (f + 1) * len; i++)
            s += (double)w[i] * (double)w[i];
        p->scores[f] = (float)sqrt(s);
    }
    dpf_select_smallest(&p->sel, p->keep, p->scores, filters, dpf_prune_count(ratio, filters));
    for (size_t f = 0; f < filters; f++)
        memset(p->mask + pi->offset + f * len, p->keep[f], len);
}

static dpf_status sfp_end_epoch(dpf_pruner *p, dpf_prune_ctx *c)
{
    for (int l = 0; l < p->n_layers; l++)
        if (p->layers[l]->filters > 0)
            select_layer_filters(p, p->layers[l], p->cfg->sparsity);
    p->target = p->cfg->sparsity;
    dpf_pruner_record_update(p, c);   /* delta: the share of ||w||^2 the zeroing removes */
    /* zero the selected filters in w itself; momentum is kept (reference code) */
    dpf_real *w = dpf_net_weights(p->net);
    for (size_t i = 0; i < p->n; i++)
        if (!p->mask[i])
            w[i] = 0;
    return DPF_OK;
}

const dpf_method_ops dpf_method_sfp = {
    .name = "sfp", .end_epoch = sfp_end_epoch,
};
