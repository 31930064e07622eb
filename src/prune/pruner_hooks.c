/* pruner_hooks.c — the pruner's side of the training loop: dispatch to the method's hooks, the
 * generic fine-tuning phase (final mask fixed and enforced), w~ = m ⊙ w, gradient and momentum
 * masking, and the per-epoch / end-of-run statistics. */
#include <string.h>

#include "prune/pruner.h"

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

void dpf_pruner_mask_grads(dpf_pruner *p)
{
    dpf_real *g = dpf_net_grads(p->net);
    const uint8_t *m = p->mask;
    const long n = (long)p->n;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++)
        if (!m[i])
            g[i] = 0;
}

void dpf_pruner_enforce(dpf_pruner *p, dpf_optimizer *opt)
{
    dpf_real *w = dpf_net_weights(p->net);
    dpf_real *mom = opt ? opt->m : NULL, *v = opt ? opt->v : NULL;
    const uint8_t *m = p->mask;
    const long n = (long)p->n;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++)
        if (!m[i]) {
            w[i] = 0;
            if (mom)
                mom[i] = 0;
            if (v)
                v[i] = 0;
        }
}

dpf_status dpf_pruner_begin_phase(dpf_pruner *p, dpf_prune_ctx *c, const dpf_phase *phase)
{
    p->phase_kind = phase->kind;
    if (phase->kind == DPF_PHASE_FINETUNE) {
        /* the final mask becomes hard: w~ = w = m ⊙ w from here on */
        p->hard = 1;
        p->masked_forward = 0;
        dpf_pruner_enforce(p, NULL);
        return dpf_net_use_forward_weights(p->net, 0);
    }
    return p->ops->begin_phase ? p->ops->begin_phase(p, c) : DPF_OK;
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

void dpf_pruner_refresh(dpf_pruner *p)
{
    if (p->masked_forward && p->cfg->compressor[0])
        dpf_pruner_compress_forward(p);
    else if (p->masked_forward)
        dpf_pruner_form_forward(p);
}

/* Sparsity of each prunable tensor and over all of them: the mask's zeros (what the method
 * decided; a regrown weight that is still exactly 0 counts as kept), or with a compressor the
 * zeros of the forward weights. */
static json_t *layer_sparsity(dpf_pruner *p, double *overall)
{
    const dpf_real *wf = dpf_net_forward_weights(p->net);
    const int by_value = p->cfg->compressor[0] != 0;
    json_t *layers = json_object();
    size_t zeros = 0;
    for (int t = 0; t < dpf_net_param_count(p->net); t++) {
        const dpf_param_info *pi = dpf_net_param(p->net, t);
        if (!pi->prunable)
            continue;
        size_t z = 0;
        for (size_t i = pi->offset; i < pi->offset + pi->count; i++)
            z += by_value ? wf[i] == 0 : !p->mask[i];
        zeros += z;
        json_object_set_new(layers, pi->name, json_real((double)z / (double)pi->count));
    }
    *overall = p->n_prunable ? (double)zeros / (double)p->n_prunable : 0;
    return layers;
}

dpf_status dpf_pruner_end_epoch(dpf_pruner *p, dpf_prune_ctx *c, json_t *m)
{
    dpf_status st = DPF_OK;
    if (p->phase_kind == DPF_PHASE_TRAIN && p->ops->end_epoch)
        st = p->ops->end_epoch(p, c);
    dpf_pruner_refresh(p);
    double overall;
    json_t *layers = layer_sparsity(p, &overall);
    json_object_set_new(m, "phase_kind", json_string(p->phase_kind == DPF_PHASE_TRAIN ? "train"
                                                                                     : "finetune"));
    json_object_set_new(m, "sparsity", json_real(overall));
    json_object_set_new(m, "target_sparsity", json_real(p->target));
    json_object_set_new(m, "layer_sparsity", layers);
    json_object_set_new(m, "mask_updates", p->updates);
    p->updates = json_array();
    return st;
}

dpf_status dpf_pruner_end_phase(dpf_pruner *p, dpf_prune_ctx *c)
{
    if (p->phase_kind == DPF_PHASE_TRAIN && p->ops->end_phase)
        return p->ops->end_phase(p, c);
    return DPF_OK;
}

json_t *dpf_pruner_report(dpf_pruner *p, int epochs_total)
{
    /* share of the final mask's prunable elements that still flipped after epoch e (Fig. 4) */
    json_t *still = json_array();
    for (int e = 0; e < epochs_total; e++) {
        size_t later = 0;
        for (int t = 0; t < dpf_net_param_count(p->net); t++) {
            const dpf_param_info *pi = dpf_net_param(p->net, t);
            if (!pi->prunable)
                continue;
            for (size_t i = pi->offset; i < pi->offset + pi->count; i++)
                later += p->last_flip[i] > e;
        }
        json_array_append_new(still, json_real(p->n_prunable ? (double)later / p->n_prunable : 0));
    }
    double overall;
    json_t *layers = layer_sparsity(p, &overall);
    return json_pack("{s:o, s:o, s:I, s:I}", "mask_changing_after_epoch", still,
                     "layer_sparsity", layers, "mask_updates", (json_int_t)p->n_updates,
                     "params_prunable", (json_int_t)p->n_prunable);
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
