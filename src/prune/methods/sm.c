/* sm.c — Sparse Momentum (Dettmers & Zettlemoyer 2019, "Sparse Networks from Scratch: Faster
 * Training without Losing Performance", Algorithm 1).
 *
 *   start sparse at the target s: random mask, layer densities uniform (ERK with --density-dist
 *   erk); pruned weights stay 0 between updates (hard mask on w)
 *   at the end of every epoch (or every --update-every N steps), with prune rate p_t:
 *     m_l  <- mean |momentum| of the active weights of layer l;  share_l = m_l / sum m
 *     prune: in each layer the ceil(p_t * active_l) active weights of smallest |w|; K = total
 *     regrow: K weights, layer l getting K * share_l (a layer with fewer zeros than its share is
 *             filled and the overflow re-shared among the others), at the zero positions of the
 *             layer with the largest |momentum|, starting at w = 0
 *     momentum of the positions left at zero is reset to 0
 *   p_t = p_0 (1 + cos(pi t / T)) / 2 over the T steps of training (cosine decay to 0).
 * The number of zeros of the prunable weights stays floor(s * N) after every cycle.
 *
 * Momentum: opt->m, what torch.optim.SGD keeps as momentum_buffer (Nesterov included); with Adam
 * m / (sqrt(v) + 1e-8), as in the authors' code. The gradient of a pruned weight is NOT masked:
 * it feeds that weight's momentum (while the weight itself is reset to 0 after every step), which
 * is the signal regrowth ranks zero weights by — zeroing it every step would leave nothing to
 * rank. Defaults from the authors' code (sparse_learning): p_0 = 0.5, one update per epoch,
 * uniform initial densities ("enforce_density_per_layer"). --prune-rate sets p_0. */
#include <math.h>

#include "prune/methods/sparse_init.h"

#define SM_RATE 0.5
#define SM_ADAM_EPS 1e-8
#define SM_PI 3.14159265358979323846

typedef struct sm_state {
    dpf_realloc r;       /* per layer: pruned (removed), cap (zeros after pruning), grow, ... */
    double rate0;
} sm_state;

static dpf_status sm_begin(dpf_pruner *p, dpf_prune_ctx *c)
{
    if (p->state)
        return DPF_OK;
    if (!c->opt || !c->opt->m ||
        (c->opt->cfg.kind == DPF_OPT_SGD && c->opt->cfg.momentum <= 0))
        return dpf_error(DPF_ERR_ARG, "--method sm needs momentum (SGD with --momentum > 0, or "
                         "--optimizer adam)");
    dpf_status st = dpf_realloc_create(p, sizeof(sm_state), "sm");
    if (st != DPF_OK)
        return st;
    ((sm_state *)p->state)->rate0 = p->cfg->prune_rate >= 0 ? p->cfg->prune_rate : SM_RATE;
    return dpf_sparse_begin(p, c, p->cfg->density_erk == 1);
}

/* |momentum| of element e. */
static float sm_momentum(const dpf_optimizer *o, size_t e)
{
    double m = fabs((double)o->m[e]);
    if (o->v)
        m /= sqrt((double)o->v[e]) + SM_ADAM_EPS;
    return (float)m;
}

/* Mean |momentum| of the active weights of a layer (0 when none is active); *active gets their
 * number. */
static double sm_layer_momentum(const dpf_pruner *p, const dpf_optimizer *o,
                                const dpf_param_info *pi, size_t *active)
{
    double sum = 0;
    size_t n = 0;
    for (size_t i = pi->offset; i < pi->offset + pi->count; i++)
        if (p->mask[i]) {
            sum += sm_momentum(o, i);
            n++;
        }
    *active = n;
    return n ? sum / (double)n : 0;
}

/* Prunes the k active weights of smallest |w| of a layer; returns the zeros left in it. */
static size_t sm_prune_layer(dpf_pruner *p, dpf_realloc *st, const dpf_param_info *pi, size_t k)
{
    const dpf_real *w = dpf_net_weights(p->net);
    uint8_t *m = p->mask + pi->offset;
    size_t n = 0;
    for (size_t i = 0; i < pi->count; i++)
        if (m[i]) {
            st->idx[n] = (uint32_t)i;
            p->scores[n++] = (float)fabs((double)w[pi->offset + i]);
        }
    dpf_select_smallest(&p->sel, p->keep, p->scores, n, k);
    for (size_t j = 0; j < n; j++)
        if (!p->keep[j])
            m[st->idx[j]] = 0;
    return pi->count - (n - (k < n ? k : n));
}

/* Turns on the g zero positions of a layer with the largest |momentum|, at w = 0. */
static void sm_grow_layer(dpf_pruner *p, dpf_realloc *st, const dpf_param_info *pi, size_t g,
                          const dpf_optimizer *o)
{
    uint8_t *m = p->mask + pi->offset;
    dpf_real *w = dpf_net_weights(p->net);
    size_t n = 0;
    for (size_t i = 0; i < pi->count; i++)
        if (!m[i]) {
            st->idx[n] = (uint32_t)i;
            p->scores[n++] = sm_momentum(o, pi->offset + i);
        }
    if (g > n)
        g = n;
    /* the n - g smallest stay zero; the g largest grow */
    dpf_select_smallest(&p->sel, p->keep, p->scores, n, n - g);
    for (size_t j = 0; j < n; j++)
        if (p->keep[j]) {
            m[st->idx[j]] = 1;
            w[pi->offset + st->idx[j]] = 0;
        }
}

/* One prune-redistribute-regrow update after `t` steps of the phase. */
static void sm_update(dpf_pruner *p, dpf_prune_ctx *c, int64_t t)
{
    sm_state *sm = p->state;
    dpf_realloc *st = &sm->r;
    double T = (double)(c->phase_steps > 0 ? c->phase_steps : 1);
    double f = (double)t / T < 1 ? (double)t / T : 1;
    double rate = sm->rate0 * 0.5 * (1 + cos(SM_PI * f));
    size_t k = 0;
    for (int l = 0; l < p->n_layers; l++) {
        size_t active;
        st->share[l] = sm_layer_momentum(p, c->opt, p->layers[l], &active);
        size_t r = (size_t)ceil(rate * (double)active - 1e-9);
        st->pruned[l] = r < active ? r : active;
        k += st->pruned[l];
    }
    if (k == 0)
        return;
    for (int l = 0; l < p->n_layers; l++)
        st->cap[l] = sm_prune_layer(p, st, p->layers[l], st->pruned[l]);
    dpf_dst_allocate(st->grow, st->share, st->cap, k, p->n_layers, st->scratch);
    for (int l = 0; l < p->n_layers; l++)
        sm_grow_layer(p, st, p->layers[l], st->grow[l], c->opt);
    dpf_pruner_enforce(p, c->opt); /* pruned weights 0; momentum of every zero weight reset */
    p->target = p->cfg->sparsity;
    dpf_mask_update *u = dpf_pruner_record_update(p, c);
    u->prune_rate = rate;
    u->reallocated = (int64_t)k;
}

static void sm_after_step(dpf_pruner *p, dpf_prune_ctx *c)
{
    dpf_pruner_enforce(p, NULL); /* w = m ⊙ w; the momentum of zeros keeps accumulating */
    int every = p->cfg->update_every;
    if (every > 0 && (c->step + 1) % every == 0)
        sm_update(p, c, c->step + 1);
}

static dpf_status sm_end_epoch(dpf_pruner *p, dpf_prune_ctx *c)
{
    if (p->cfg->update_every <= 0)
        sm_update(p, c, c->step);
    return DPF_OK;
}

const dpf_method_ops dpf_method_sm = {
    .name = "sm", .hard = 1, .scheduled = 1, .begin_phase = sm_begin, .after_step = sm_after_step,
    .end_epoch = sm_end_epoch, .destroy = dpf_realloc_destroy, .check = dpf_sparse_check,
};
