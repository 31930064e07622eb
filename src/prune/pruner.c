/* pruner.c — the machinery every pruning method shares (see method.h): the mask and the list of
 * prunable tensors, selection at a sparsity (global or per layer, unstructured or per filter),
 * and the records of mask updates (delta, IoU, flips). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prune/method.h"

/* Whether the method leaves prunable tensor l dense (its table's dense_layers). */
static int left_dense(const dpf_pruner *p, int l)
{
    const dpf_param_info *pi = p->layers[l];
    unsigned d = p->ops->dense_layers;
    int conv = pi->ndim == 4;
    return ((d & DPF_DENSE_FIRST_CONV) && conv && l == 0) ||
           ((d & DPF_DENSE_1X1_CONV) && conv && pi->shape[2] == 1 && pi->shape[3] == 1);
}

/* The prunable tensors, in parameter order (the one list every loop over them uses), and those
 * the method leaves dense. */
static dpf_status list_layers(dpf_pruner *p)
{
    int count = dpf_net_param_count(p->net);
    p->layers = malloc((size_t)(count ? count : 1) * sizeof *p->layers);
    p->layer_sparsity = malloc((size_t)(count ? count : 1) * sizeof *p->layer_sparsity);
    p->kept_dense = calloc((size_t)(count ? count : 1), 1);
    if (!p->layers || !p->layer_sparsity || !p->kept_dense)
        return dpf_error(DPF_ERR_NOMEM, "cannot allocate the list of prunable tensors");
    for (int t = 0; t < count; t++)
        if (dpf_net_param(p->net, t)->prunable) {
            p->layers[p->n_layers++] = dpf_net_param(p->net, t);
            p->n_prunable += dpf_net_param(p->net, t)->count;
        }
    for (int l = 0; l < p->n_layers; l++)
        if (left_dense(p, l)) {
            p->kept_dense[l] = 1;
            p->n_kept_dense += p->layers[l]->count;
        }
    return DPF_OK;
}

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
    dpf_status st = list_layers(p);
    p->mask = malloc(p->n);
    p->prev_mask = malloc(p->n);
    p->keep = malloc(p->n);
    p->scores = malloc(p->n * sizeof *p->scores);
    p->last_flip = malloc(p->n * sizeof *p->last_flip);
    p->filter_scratch = dpf_pruner_filter_scratch(p);
    if (st == DPF_OK)
        st = dpf_selector_init(&p->sel, p->n_prunable);
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
    if (p->net) /* the net (which outlives its pruner) must not keep reading the mask */
        dpf_net_set_grad_mask(p->net, NULL);
    dpf_selector_free(&p->sel);
    free(p->layers);
    free(p->layer_sparsity);
    free(p->kept_dense);
    free(p->mask);
    free(p->prev_mask);
    free(p->keep);
    free(p->scores);
    free(p->last_flip);
    free(p->filter_scratch);
    free(p->updates);
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

/* The collapse guard (--keep-per-filter K): the K best scores of every output filter (a conv's
 * output channel, a linear layer's output neuron) are raised above all others, so the selection
 * keeps them whenever the budget allows and no filter loses its whole input (a channel with no
 * weight gives its batch norm zero variance and a backward pass scaled by 1/sqrt(eps)). Where
 * every filter keeps K weights anyway the selection is unchanged. Among equal scores the first
 * is taken. */
static void guard_filters(const dpf_param_info *pi, float *sc, int k)
{
    const size_t len = pi->count / (size_t)pi->filters;
    for (int f = 0; f < pi->filters; f++) {
        float *x = sc + (size_t)f * len;
        for (int j = 0; j < k && (size_t)j < len; j++) {
            size_t best = len;
            for (size_t i = 0; i < len; i++)
                if (x[i] < FLT_MAX && (best == len || x[i] > x[best]))
                    best = i;
            if (best == len)
                break;
            x[best] = FLT_MAX;
        }
    }
}

static void select_unstructured(dpf_pruner *p, double s, const dpf_real *src, const dpf_real *g)
{
    const int guard = p->cfg->keep_per_filter >= 0 ? p->cfg->keep_per_filter
                                                   : p->ops->keep_per_filter;
    size_t m = 0;
    for (int l = 0; l < p->n_layers; l++) {
        const dpf_param_info *pi = p->layers[l];
        for (size_t i = 0; i < pi->count; i++) { /* |src| or |g ⊙ src| */
            size_t e = pi->offset + i;
            p->scores[m + i] =
                (float)fabs(g ? (double)g[e] * (double)src[e] : (double)src[e]);
        }
        if (guard > 0 && pi->filters > 0)
            guard_filters(pi, p->scores + m, guard);
        if (p->cfg->layer_scope)
            dpf_select_smallest(&p->sel, p->keep + m, p->scores + m, pi->count,
                                dpf_prune_count(s, pi->count));
        m += pi->count;
    }
    if (!p->cfg->layer_scope)
        dpf_select_smallest(&p->sel, p->keep, p->scores, m, dpf_prune_count(s, m));
    m = 0;
    for (int l = 0; l < p->n_layers; l++) {
        memcpy(p->mask + p->layers[l]->offset, p->keep + m, p->layers[l]->count);
        m += p->layers[l]->count;
    }
}

void dpf_pruner_select(dpf_pruner *p, const dpf_prune_ctx *c, double s, const dpf_real *src,
                       dpf_score_kind kind)
{
    const dpf_real *g = kind == DPF_SCORE_GRAD_TIMES_WEIGHT ? dpf_net_grads(p->net) : NULL;
    if (p->cfg->structured)
        dpf_pruner_select_filters(p, s, src, g, p->cfg->layer_scope);
    else
        select_unstructured(p, s, src, g);
    if (p->ops->monotone)
        for (size_t i = 0; i < p->n; i++)
            p->mask[i] &= p->prev_mask[i];
    p->target = s;
    dpf_pruner_record_update(p, c);
}

dpf_mask_update *dpf_pruner_new_record(dpf_pruner *p, int64_t step)
{
    if (p->n_epoch_updates == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 16;
        dpf_mask_update *u = realloc(p->updates, cap * sizeof *u);
        if (!u) {
            p->out_of_memory = 1;
            return &p->lost;
        }
        p->updates = u, p->cap = cap;
    }
    dpf_mask_update *u = &p->updates[p->n_epoch_updates++];
    *u = (dpf_mask_update){.step = step, .sparsity = NAN, .iou = NAN, .flips = -1,
                           .threshold = NAN, .prune_rate = NAN, .reallocated = -1};
    return u;
}

/* delta over the prunable weights: of w~ = wt, or of m ⊙ w when wt is NULL. */
static double prunable_delta(const dpf_pruner *p, const dpf_real *wt)
{
    const dpf_real *w = dpf_net_weights(p->net);
    double num = 0, den = 0;
    for (int l = 0; l < p->n_layers; l++) {
        size_t off = p->layers[l]->offset;
        dpf_delta_sums(w + off, wt ? wt + off : NULL, p->mask + off, p->layers[l]->count, &num,
                       &den);
    }
    return den > 0 ? num / den : 0;
}

void dpf_pruner_record_delta(dpf_pruner *p, const dpf_prune_ctx *c)
{
    dpf_pruner_new_record(p, c->step)->delta = prunable_delta(p, dpf_net_forward_weights(p->net));
}

dpf_mask_update *dpf_pruner_record_update(dpf_pruner *p, const dpf_prune_ctx *c)
{
    size_t flips = 0, inter = 0, uni = 0;
    for (size_t i = 0; i < p->n; i++)
        if (p->mask[i] != p->prev_mask[i]) {
            p->last_flip[i] = (int16_t)c->global_epoch;
            flips++;
        }
    for (int l = 0; l < p->n_layers; l++) {
        size_t off = p->layers[l]->offset;
        dpf_iou_sums(p->prev_mask + off, p->mask + off, p->layers[l]->count, &inter, &uni);
    }
    p->n_updates++;
    p->n_scheduled += c->step > 0 && p->phase_kind == DPF_PHASE_TRAIN;
    dpf_mask_update *u = dpf_pruner_new_record(p, c->step);
    u->sparsity = p->target;
    u->delta = prunable_delta(p, NULL);
    u->iou = uni ? (double)inter / (double)uni : 1.0;
    u->flips = (int64_t)flips;
    memcpy(p->prev_mask, p->mask, p->n);
    return u;
}
