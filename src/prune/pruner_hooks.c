/* pruner_hooks.c — the pruner's side of the training loop: dispatch to the method's hooks, the
 * generic fine-tuning phase (final mask fixed and enforced), w~ = m ⊙ w, gradient and weight
 * masking, and the statistics the trainer reports. */
#include <string.h>

#include "prune/method.h"

void dpf_pruner_form_forward(dpf_pruner *p)
{
    const dpf_real *w = dpf_net_weights(p->net);
    dpf_real *wf = dpf_net_forward_weights(p->net);
    const uint8_t *m = p->mask;
    const long n = (long)p->n;
    if (wf == w)
        return;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++)
        wf[i] = m[i] ? w[i] : 0;
}

/* x = m ⊙ x over the flat parameters. */
static void zero_pruned(const dpf_pruner *p, dpf_real *x)
{
    const uint8_t *m = p->mask;
    const long n = (long)p->n;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++)
        if (!m[i])
            x[i] = 0;
}

void dpf_pruner_mask_grads(dpf_pruner *p)
{
    zero_pruned(p, dpf_net_grads(p->net));
}

void dpf_pruner_enforce(dpf_pruner *p, dpf_optimizer *opt)
{
    zero_pruned(p, dpf_net_weights(p->net));
    if (opt)
        dpf_optim_mask_state(opt, p->mask);
}

dpf_status dpf_pruner_begin_phase(dpf_pruner *p, dpf_prune_ctx *c, const dpf_phase *phase)
{
    p->phase_kind = phase->kind;
    /* where the gradient of the pruned weights is discarded right after backward, backward
     * need not compute it (the kernels' rule decides where skipping it pays) */
    const int discards = phase->kind == DPF_PHASE_FINETUNE ||
                         p->ops->after_backward == dpf_hook_mask_grads;
    dpf_net_set_grad_mask(p->net, discards ? p->mask : NULL);
    if (phase->kind == DPF_PHASE_FINETUNE) { /* the final mask becomes hard: w~ = w = m ⊙ w */
        dpf_pruner_enforce(p, NULL);
        return dpf_net_use_forward_weights(p->net, 0);
    }
    dpf_status st = dpf_net_use_forward_weights(p->net, p->ops->masked_forward);
    return st == DPF_OK && p->ops->begin_phase ? p->ops->begin_phase(p, c) : st;
}

void dpf_pruner_before_step(dpf_pruner *p, dpf_prune_ctx *c)
{
    if (p->phase_kind == DPF_PHASE_TRAIN && p->ops->before_step)
        p->ops->before_step(p, c);
}

void dpf_pruner_after_backward(dpf_pruner *p, dpf_prune_ctx *c)
{
    if (p->phase_kind == DPF_PHASE_FINETUNE)
        dpf_pruner_mask_grads(p);
    else if (p->ops->after_backward)
        p->ops->after_backward(p, c);
}

void dpf_pruner_after_step(dpf_pruner *p, dpf_prune_ctx *c)
{
    if (p->phase_kind == DPF_PHASE_FINETUNE)
        dpf_pruner_enforce(p, c->opt);
    else if (p->ops->after_step)
        p->ops->after_step(p, c);
}

int dpf_pruner_masked_forward(const dpf_pruner *p)
{
    return p->ops->masked_forward && p->phase_kind == DPF_PHASE_TRAIN;
}

int dpf_pruner_hard(const dpf_pruner *p)
{
    return p->ops->hard || p->phase_kind == DPF_PHASE_FINETUNE;
}

int dpf_pruner_monotone(const dpf_pruner *p)
{
    return p->ops->monotone;
}

void dpf_pruner_refresh(dpf_pruner *p)
{
    if (dpf_pruner_masked_forward(p) && p->cfg->compressor[0])
        dpf_pruner_compress_forward(p);
    else if (dpf_pruner_masked_forward(p))
        dpf_pruner_form_forward(p);
}

/* Sparsity of each prunable tensor and over all of them: the mask's zeros (what the method
 * decided; a regrown weight that is still exactly 0 counts as kept), or with a compressor the
 * zeros of the forward weights. */
void dpf_pruner_stats(dpf_pruner *p, dpf_mask_stats *out)
{
    const dpf_real *wf = dpf_net_forward_weights(p->net);
    const int by_value = p->cfg->compressor[0] != 0;
    size_t zeros = 0;
    for (int l = 0; l < p->n_layers; l++) {
        const dpf_param_info *pi = p->layers[l];
        size_t z = 0;
        for (size_t i = pi->offset; i < pi->offset + pi->count; i++)
            z += by_value ? wf[i] == 0 : !p->mask[i];
        zeros += z;
        p->layer_sparsity[l] = (double)z / (double)pi->count;
    }
    *out = (dpf_mask_stats){.kind = p->phase_kind, .target = p->target, .n_layers = p->n_layers,
                            .layers = p->layers, .layer_sparsity = p->layer_sparsity,
                            .sparsity = p->n_prunable ? (double)zeros / (double)p->n_prunable : 0};
}

dpf_status dpf_pruner_end_epoch(dpf_pruner *p, dpf_prune_ctx *c, dpf_mask_stats *out)
{
    dpf_status st = DPF_OK;
    if (p->phase_kind == DPF_PHASE_TRAIN && p->ops->end_epoch)
        st = p->ops->end_epoch(p, c);
    dpf_pruner_refresh(p);
    dpf_pruner_stats(p, out);
    out->updates = p->updates;
    out->n_updates = p->n_epoch_updates;
    p->n_epoch_updates = 0; /* the records stay readable until the next one */
    if (st == DPF_OK && p->out_of_memory)
        st = dpf_error(DPF_ERR_NOMEM, "out of memory for the records of mask updates");
    p->out_of_memory = 0;
    return st;
}

dpf_status dpf_pruner_end_phase(dpf_pruner *p, dpf_prune_ctx *c)
{
    if (p->phase_kind == DPF_PHASE_TRAIN && p->ops->end_phase)
        return p->ops->end_phase(p, c);
    return DPF_OK;
}

double dpf_pruner_changed_after(const dpf_pruner *p, int epoch)
{
    size_t later = 0;
    for (int l = 0; l < p->n_layers; l++)
        for (size_t i = p->layers[l]->offset; i < p->layers[l]->offset + p->layers[l]->count; i++)
            later += p->last_flip[i] > epoch;
    return p->n_prunable ? (double)later / (double)p->n_prunable : 0;
}

const uint8_t *dpf_pruner_mask(const dpf_pruner *p)
{
    return p->mask;
}

double dpf_pruner_target(const dpf_pruner *p)
{
    return p->target;
}

size_t dpf_pruner_prunable(const dpf_pruner *p)
{
    return p->n_prunable;
}

int64_t dpf_pruner_update_count(const dpf_pruner *p)
{
    return p->n_updates;
}

int64_t dpf_pruner_scheduled_updates(const dpf_pruner *p)
{
    return p->ops->scheduled && !p->cfg->compressor[0] ? p->n_scheduled : -1;
}

size_t dpf_pruner_kept_dense(const dpf_pruner *p)
{
    return p->n_kept_dense;
}

const dpf_mask_update *dpf_pruner_updates(const dpf_pruner *p, size_t *n)
{
    *n = p->n_epoch_updates;
    return p->updates;
}

void dpf_hook_mask_grads(dpf_pruner *p, dpf_prune_ctx *c)
{
    (void)c;
    dpf_pruner_mask_grads(p);
}

void dpf_hook_enforce(dpf_pruner *p, dpf_prune_ctx *c)
{
    dpf_pruner_enforce(p, c->opt);
}
