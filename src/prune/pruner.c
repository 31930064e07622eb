/* pruner.c — the machinery every pruning method shares (see pruner.h): the mask, selection at a
 * sparsity (global or per layer, unstructured or per filter), forming w~ = m ⊙ w, enforcing a hard
 * mask, statistics, and the generic fine-tuning phase. */
#include "prune/pruner.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

dpf_status dpf_pruner_create(dpf_pruner **out, const dpf_train_config *cfg, dpf_net *net)
{
    *out = NULL;
    const dpf_method_ops *ops = dpf_method_find(cfg->method);
    if (!ops)
        return dpf_error(DPF_ERR_ARG, "--method: unknown method '%s' (known: %s)", cfg->method,
                         dpf_method_list());
    dpf_pruner *p = calloc(1, sizeof *p);
    if (!p)
        return dpf_error(DPF_ERR_NOMEM, "out of memory");
    p->ops = ops;
    p->cfg = cfg;
    p->net = net;
    p->n = dpf_net_size(net);
    for (int i = 0; i < dpf_net_param_count(net); i++)
        if (dpf_net_param(net, i)->prunable)
            p->n_prunable += dpf_net_param(net, i)->count;
    p->mask = malloc(p->n);
    p->prev_mask = malloc(p->n);
    p->keep = malloc(p->n);
    p->scores = malloc(p->n * sizeof *p->scores);
    p->last_flip = malloc(p->n * sizeof *p->last_flip);
    p->updates = json_array();
    p->filter_scratch = dpf_pruner_filter_scratch(net);
    dpf_status st = dpf_selector_init(&p->sel, p->n_prunable);
    if (st == DPF_OK && (!p->mask || !p->prev_mask || !p->keep || !p->scores || !p->last_flip ||
                         !p->filter_scratch))
        st = dpf_error(DPF_ERR_NOMEM, "cannot allocate masks for %zu weights", p->n);
    if (st != DPF_OK) {
        dpf_pruner_free(p);
        return st;
    }
    memset(p->mask, 1, p->n);
    memset(p->prev_mask, 1, p->n);
    for (size_t i = 0; i < p->n; i++)
        p->last_flip[i] = -1;
    dpf_rng_seed(&p->rng, cfg->seed ^ 0x5eed0fd9fULL);
    *out = p;
    return DPF_OK;
}

void dpf_pruner_free(dpf_pruner *p)
{
    if (!p)
        return;
    if (p->ops && p->ops->destroy)
        p->ops->destroy(p);
    dpf_selector_free(&p->sel);
    free(p->mask);
    free(p->prev_mask);
    free(p->keep);
    free(p->scores);
    free(p->last_flip);
    free(p->filter_scratch);
    json_decref(p->updates);
    free(p);
}

int dpf_pruner_phases(dpf_pruner *p, dpf_phase *phases)
{
    int n = 1;
    if (p->ops->phases) {
        n = p->ops->phases(p, phases);
    } else {
        phases[0] = (dpf_phase){.kind = DPF_PHASE_TRAIN, .epochs = p->cfg->epochs,
                                .lr = p->cfg->lr};
        strcpy(phases[0].name, "train");
    }
    if (p->cfg->finetune_epochs > 0 && n < DPF_MAX_PHASES) {
        dpf_phase *ft = &phases[n++];
        *ft = (dpf_phase){.kind = DPF_PHASE_FINETUNE, .epochs = p->cfg->finetune_epochs,
                          .lr = p->cfg->finetune_lr > 0 ? p->cfg->finetune_lr
                                                        : p->cfg->lr * p->cfg->gamma};
        strcpy(ft->name, "finetune");
    }
    return n;
}

double dpf_pruner_scheduled_sparsity(const dpf_pruner *p, const dpf_prune_ctx *c)
{
    const dpf_train_config *cfg = p->cfg;
    double end = cfg->ramp_end;
    if (end < 0)
        end = cfg->n_milestones >= 2 ? cfg->milestones[1]
              : cfg->n_milestones == 1 ? cfg->milestones[0] : 0.75;
    int64_t t0 = (int64_t)floor(cfg->ramp_start * (double)c->phase_steps);
    int64_t t1 = (int64_t)floor(end * (double)c->phase_steps);
    return dpf_sparsity_at(cfg->sparsity, 0, c->step, t0, t1);
}

/* Scores of one prunable tensor into dst: |src| or |g ⊙ src|. */
static void tensor_scores(float *dst, const dpf_real *src, const dpf_real *g, size_t count)
{
    for (size_t i = 0; i < count; i++)
        dst[i] = (float)fabs(g ? (double)g[i] * (double)src[i] : (double)src[i]);
}

static void select_unstructured(dpf_pruner *p, double s, const dpf_real *src, const dpf_real *g)
{
    dpf_net *net = p->net;
    size_t m = 0;
    for (int t = 0; t < dpf_net_param_count(net); t++) {
        const dpf_param_info *pi = dpf_net_param(net, t);
        if (!pi->prunable)
            continue;
        tensor_scores(p->scores + m, src + pi->offset, g ? g + pi->offset : NULL, pi->count);
        if (p->cfg->layer_scope)
            dpf_select_smallest(&p->sel, p->keep + m, p->scores + m, pi->count,
                                dpf_prune_count(s, pi->count));
        m += pi->count;
    }
    if (!p->cfg->layer_scope)
        dpf_select_smallest(&p->sel, p->keep, p->scores, m, dpf_prune_count(s, m));
    m = 0;
    for (int t = 0; t < dpf_net_param_count(net); t++) {
        const dpf_param_info *pi = dpf_net_param(net, t);
        if (pi->prunable) {
            memcpy(p->mask + pi->offset, p->keep + m, pi->count);
            m += pi->count;
        }
    }
}

void dpf_pruner_select(dpf_pruner *p, const dpf_prune_ctx *c, double s, const dpf_real *src,
                       dpf_score_kind kind)
{
    const dpf_real *g = kind == DPF_SCORE_GRAD_TIMES_WEIGHT ? dpf_net_grads(p->net) : NULL;
    if (p->cfg->structured)
        dpf_pruner_select_filters(p, s, src, g);
    else
        select_unstructured(p, s, src, g);
    if (p->monotone)
        for (size_t i = 0; i < p->n; i++)
            p->mask[i] &= p->prev_mask[i];
    p->target = s;
    dpf_pruner_record_update(p, c);
}

/* IoU of the kept sets of prev_mask and mask over the prunable weights. */
static double prunable_iou(const dpf_pruner *p)
{
    size_t inter = 0, uni = 0;
    for (int t = 0; t < dpf_net_param_count(p->net); t++) {
        const dpf_param_info *pi = dpf_net_param(p->net, t);
        if (!pi->prunable)
            continue;
        const uint8_t *a = p->prev_mask + pi->offset, *b = p->mask + pi->offset;
        for (size_t i = 0; i < pi->count; i++) {
            inter += a[i] & b[i];
            uni += a[i] | b[i];
        }
    }
    return uni ? (double)inter / (double)uni : 1.0;
}

/* delta = ||w - m ⊙ w||^2 / ||w||^2 over the prunable weights. */
static double prunable_delta(const dpf_pruner *p)
{
    const dpf_real *w = dpf_net_weights(p->net);
    double num = 0, den = 0;
    for (int t = 0; t < dpf_net_param_count(p->net); t++) {
        const dpf_param_info *pi = dpf_net_param(p->net, t);
        if (!pi->prunable)
            continue;
        for (size_t i = pi->offset; i < pi->offset + pi->count; i++) {
            double v = (double)w[i] * (double)w[i];
            den += v;
            num += p->mask[i] ? 0 : v;
        }
    }
    return den > 0 ? num / den : 0;
}

void dpf_pruner_record_update(dpf_pruner *p, const dpf_prune_ctx *c)
{
    size_t flips = 0;
    for (size_t i = 0; i < p->n; i++)
        if (p->mask[i] != p->prev_mask[i]) {
            p->last_flip[i] = (int16_t)c->global_epoch;
            flips++;
        }
    p->n_updates++;
    json_array_append_new(p->updates,
                          json_pack("{s:I, s:f, s:f, s:f, s:I}", "step", (json_int_t)c->step,
                                    "sparsity", p->target, "delta", prunable_delta(p), "iou",
                                    prunable_iou(p), "flips", (json_int_t)flips));
    memcpy(p->prev_mask, p->mask, p->n);
}
