/* oneshot.c — One-shot pruning + fine-tuning (Han et al. 2015): dense training for the whole
 * budget, global magnitude pruning of the trained w_T to the target sparsity, then --finetune
 * epochs with the mask fixed (the generic fine-tuning phase). */
#include "prune/method.h"

static dpf_status oneshot_end_phase(dpf_pruner *p, dpf_prune_ctx *c)
{
    dpf_pruner_select(p, c, p->cfg->sparsity, dpf_net_weights(p->net), DPF_SCORE_MAGNITUDE);
    dpf_pruner_enforce(p, c->opt);
    return DPF_OK;
}

const dpf_method_ops dpf_method_oneshot = {
    .name = "oneshot", .hard = 1, .end_phase = oneshot_end_phase,
};
