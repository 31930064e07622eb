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
#include <stdlib.h>
#include "prune/methods/sparse_init.h"
#include "prune/pruner.h"

#define SM_RATE 0.5
#define SM_ADAM_EPS 1e-8
#define SM_PI 3.14159265358979323846

typedef struct sm_state {
    int n_layers;
    int *layer;          /* param index of each prunable tensor */
    size_t *removed;     /* per layer: pruned at this update */
    size_t *cap;         /* per layer: zeros after pruning (room for regrowth) */
    size_t *grow;        /* per layer: regrowth */
    double *share, *scratch;
    uint32_t *idx;       /* candidate positions of one layer */
    double rate0;
} sm_state;

static void sm_destroy(dpf_pruner *p)
{
    sm_state *st = p->state;
    if (st) {
        free(st->layer), free(st->removed), free(st->cap), free(st->grow);
        free(st->share), free(st->scratch), free(st->idx);
    }
    free(st);
    p->state = NULL;
}

static dpf_status sm_alloc(dpf_pruner *p)
{
    sm_state *st = calloc(1, sizeof *st);
    p->state = st;
    if (!st)
        return dpf_error(DPF_ERR_NOMEM, "sm: out of memory");
    size_t n = (size_t)dpf_net_param_count(p->net), largest = 1;
    st->layer = malloc(n * sizeof *st->layer);
    for (int t = 0; st->layer && t < (int)n; t++) {
        const dpf_param_info *pi = dpf_net_param(p->net, t);
        if (pi->prunable) {
            st->layer[st->n_layers++] = t;
            largest = pi->count > largest ? pi->count : largest;
        }
    }
    st->removed = malloc(n * sizeof *st->removed);
    st->cap = malloc(n * sizeof *st->cap);
    st->grow = malloc(n * sizeof *st->grow);
    st->share = malloc(n * sizeof *st->share);
    st->scratch = malloc(n * sizeof *st->scratch);
    st->idx = malloc(largest * sizeof *st->idx);
    if (!st->layer || !st->removed || !st->cap || !st->grow || !st->share || !st->scratch ||
        !st->idx)
        return dpf_error(DPF_ERR_NOMEM, "sm: out of memory");
    return DPF_OK;
}

static dpf_status sm_begin(dpf_pruner *p, dpf_prune_ctx *c)
{
    if (p->state)
        return DPF_OK;
    if (!c->opt || !c->opt->m ||
        (c->opt->cfg.kind == DPF_OPT_SGD && c->opt->cfg.momentum <= 0))
        return dpf_error(DPF_ERR_ARG, "--method sm needs momentum (SGD with --momentum > 0, or "
                         "--optimizer adam)");
    dpf_status st = sm_alloc(p);
    if (st != DPF_OK)
        return st;
    ((sm_state *)p->state)->rate0 = p->cfg->prune_rate >= 0 ? p->cfg->prune_rate : SM_RATE;
    p->hard = 1;
    p->masked_forward = 0;
    st = dpf_net_use_forward_weights(p->net, 0);
    if (st == DPF_OK)
        st = dpf_sparse_begin(p, c, p->cfg->density_erk == 1);
    return st;
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
static size_t sm_prune_layer(dpf_pruner *p, sm_state *st, const dpf_param_info *pi, size_t k)
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
static void sm_grow_layer(dpf_pruner *p, sm_state *st, const dpf_param_info *pi, size_t g,
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

/* Zeros every pruned weight; with `state` also its optimiser state. */
static void sm_zero_pruned(dpf_pruner *p, dpf_optimizer *o, int state)
{
    dpf_real *w = dpf_net_weights(p->net);
    dpf_real *mom = state && o ? o->m : NULL, *v = state && o ? o->v : NULL;
    const uint8_t *mask = p->mask;
    const long n = (long)p->n;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++)
        if (!mask[i]) {
            w[i] = 0;
            if (mom)
                mom[i] = 0;
            if (v)
                v[i] = 0;
        }
}

/* One prune-redistribute-regrow update after `t` steps of the phase. */
static void sm_update(dpf_pruner *p, dpf_prune_ctx *c, int64_t t)
{
    sm_state *st = p->state;
    double T = (double)(c->phase_steps > 0 ? c->phase_steps : 1);
    double f = (double)t / T < 1 ? (double)t / T : 1;
    double rate = st->rate0 * 0.5 * (1 + cos(SM_PI * f));
    size_t k = 0;
    for (int l = 0; l < st->n_layers; l++) {
        const dpf_param_info *pi = dpf_net_param(p->net, st->layer[l]);
        size_t active;
        st->share[l] = sm_layer_momentum(p, c->opt, pi, &active);
        size_t r = (size_t)ceil(rate * (double)active - 1e-9);
        st->removed[l] = r < active ? r : active;
        k += st->removed[l];
    }
    if (k == 0)
        return;
    for (int l = 0; l < st->n_layers; l++)
        st->cap[l] = sm_prune_layer(p, st, dpf_net_param(p->net, st->layer[l]), st->removed[l]);
    dpf_dst_allocate(st->grow, st->share, st->cap, k, st->n_layers, st->scratch);
    for (int l = 0; l < st->n_layers; l++)
        sm_grow_layer(p, st, dpf_net_param(p->net, st->layer[l]), st->grow[l], c->opt);
    sm_zero_pruned(p, c->opt, 1); /* pruned weights 0; momentum of every zero weight reset */
    p->target = p->cfg->sparsity;
    dpf_pruner_record_update(p, c);
    json_t *u = json_array_get(p->updates, json_array_size(p->updates) - 1);
    if (u) {
        json_object_set_new(u, "prune_rate", json_real(rate));
        json_object_set_new(u, "reallocated", json_integer((json_int_t)k));
    }
}

static void sm_after_step(dpf_pruner *p, dpf_prune_ctx *c)
{
    sm_zero_pruned(p, c->opt, 0); /* w = m ⊙ w; the momentum of zeros keeps accumulating */
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
    .name = "sm", .begin_phase = sm_begin, .after_step = sm_after_step,
    .end_epoch = sm_end_epoch, .destroy = sm_destroy,
};
