/* dsr.c — Dynamic Sparse Reparameterization (Mostafa & Wang, ICML 2019, Algorithm 1).
 *
 *   start sparse at the target s: random mask, layer densities uniform (ERK with --density-dist
 *   erk); pruned weights are 0 and stay 0 between reallocations (hard mask)
 *   every P steps, until 95% of training:
 *     prune: every active weight with |w| < H, in every layer (a layer keeps at least one)
 *            K = number pruned, R_l = survivors of layer l
 *     adapt: H <- 2H if K < (1 - delta) Np;  H <- H / 2 if K > (1 + delta) Np
 *     regrow: K weights, layer l getting K * R_l / sum R (overflow of a full layer goes to the
 *             others), at random zero positions of the layer other than those just pruned,
 *             starting at w = 0 (and momentum 0)
 *   so the number of zeros of the prunable weights stays floor(s * N) after every cycle.
 *
 * Defaults, from the authors' code for WRN-28-2 on CIFAR-10 (as republished in the
 * sparse_learning repository, imagenet/dynamic-reparameterization):
 *   H(0) = 0.001; delta = 0.1; Np = 20,000 of the ~1.45M reparameterised weights, i.e. 1.38% of
 *   the prunable weights (their SET baseline's rewire fractions 0.138/0.07/0.046/0.034/0.028 at
 *   s = 0.9..0.5 match this Np); P = 100 steps for epochs [0, 25), 200 for [25, 80), 400 for
 *   [80, 140), 800 after, reallocation stopped at epoch 190 of 200 — here as fractions of the
 *   phase: 0.125, 0.4, 0.7, stop at 0.95.
 * --prune-rate F sets Np = F x the active prunable weights; --update-every N a constant P = N.
 *
 * This file also holds the helper DSR shares with Sparse Momentum (sm.c): the proportional
 * allocation of a count to layers under capacities (dpf_dst_allocate, declared in sparse_init.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prune/methods/sparse_init.h"
#include "prune/pruner.h"

#define DSR_H0 1e-3
#define DSR_DELTA 0.1
#define DSR_NP_FRACTION 0.0138
#define DSR_PERIOD 100
#define DSR_STOP 0.95

static const double dsr_period_bounds[3] = {0.125, 0.4, 0.7}; /* the period doubles at each */

typedef struct dsr_state {
    int n_layers;
    int *layer;          /* param index of each prunable tensor */
    size_t *pruned;      /* per layer: pruned at this reallocation */
    size_t *alive;       /* per layer: survivors R_l */
    size_t *cap;         /* per layer: positions free for regrowth */
    size_t *grow;        /* per layer: regrowth */
    double *share, *scratch;
    uint32_t *idx;       /* candidate positions of one layer */
    double h;            /* the adaptive threshold H */
    size_t np;           /* Np: target number pruned per reallocation */
} dsr_state;

/* ---- shared helpers (DSR, SM) ---------------------------------------------------------------- */

static int free_left(const size_t *out, const size_t *cap, int l)
{
    return out[l] < cap[l];
}

/* One round of proportional allocation of `left` to the layers with room; returns the amount
 * given. Layers whose ideal share reaches their free room are filled first (and the round ends:
 * the caller repeats with the rest); otherwise floors plus the largest remainders. */
static size_t allocate_round(size_t *out, const double *share, const size_t *cap, size_t left,
                             int n, int use_room, double *frac)
{
    double total = 0;
    for (int l = 0; l < n; l++)
        if (free_left(out, cap, l))
            total += use_room ? (double)(cap[l] - out[l]) : share[l];
    if (!(total > 0))
        return 0;
    size_t given = 0;
    for (int l = 0; l < n; l++) {
        frac[l] = -1;
        if (!free_left(out, cap, l))
            continue;
        double w = use_room ? (double)(cap[l] - out[l]) : share[l];
        double x = (double)left * w / total;
        if (x >= (double)(cap[l] - out[l])) {
            given += cap[l] - out[l];
            out[l] = cap[l];
        }
        frac[l] = x;
    }
    if (given > 0)
        return given; /* some layers overflowed: re-share the rest among the others */
    for (int l = 0; l < n; l++)
        if (frac[l] >= 0) {
            size_t f = (size_t)floor(frac[l]);
            out[l] += f;
            given += f;
            frac[l] -= (double)f;
        }
    while (given < left) {
        int best = -1;
        for (int l = 0; l < n; l++)
            if (frac[l] > 0 && free_left(out, cap, l) && (best < 0 || frac[l] > frac[best]))
                best = l;
        if (best < 0)
            break;
        out[best]++;
        frac[best] = -1;
        given++;
    }
    return given;
}

/* out[l] <= cap[l] with sum out = total (when sum cap >= total), out[l] ~ total * share[l] /
 * sum share; a layer that would exceed its cap is filled and the overflow re-shared among the
 * others in proportion to their shares. Shares of 0 get nothing unless nothing else has room
 * (then the room itself is the share). scratch: n doubles. */
void dpf_dst_allocate(size_t *out, const double *share, const size_t *cap, size_t total, int n,
                      double *scratch)
{
    memset(out, 0, (size_t)n * sizeof *out);
    size_t left = total;
    int use_room = 0;
    for (int round = 0; left > 0 && round < 4 * n + 8; round++) {
        size_t g = allocate_round(out, share, cap, left, n, use_room, scratch);
        if (g == 0 && use_room)
            break;
        if (g == 0)
            use_room = 1;
        left -= g < left ? g : left; /* g <= left always: a capped layer's room <= its ideal */
    }
    for (int l = 0; l < n && left > 0; l++) { /* rounding leftovers, if any: first room found */
        size_t add = cap[l] - out[l] < left ? cap[l] - out[l] : left;
        out[l] += add;
        left -= add;
    }
}

/* ---- DSR ------------------------------------------------------------------------------------- */

static void dsr_destroy(dpf_pruner *p)
{
    dsr_state *st = p->state;
    if (st) {
        free(st->layer), free(st->pruned), free(st->alive), free(st->cap), free(st->grow);
        free(st->share), free(st->scratch), free(st->idx);
    }
    free(st);
    p->state = NULL;
}

static dpf_status dsr_alloc(dpf_pruner *p)
{
    dsr_state *st = calloc(1, sizeof *st);
    p->state = st;
    if (!st)
        return dpf_error(DPF_ERR_NOMEM, "dsr: out of memory");
    size_t n = (size_t)dpf_net_param_count(p->net), largest = 1;
    st->layer = malloc(n * sizeof *st->layer);
    for (int t = 0; st->layer && t < (int)n; t++) {
        const dpf_param_info *pi = dpf_net_param(p->net, t);
        if (pi->prunable) {
            st->layer[st->n_layers++] = t;
            largest = pi->count > largest ? pi->count : largest;
        }
    }
    st->pruned = malloc(n * sizeof *st->pruned);
    st->alive = malloc(n * sizeof *st->alive);
    st->cap = malloc(n * sizeof *st->cap);
    st->grow = malloc(n * sizeof *st->grow);
    st->share = malloc(n * sizeof *st->share);
    st->scratch = malloc(n * sizeof *st->scratch);
    st->idx = malloc(largest * sizeof *st->idx);
    if (!st->layer || !st->pruned || !st->alive || !st->cap || !st->grow || !st->share ||
        !st->scratch || !st->idx)
        return dpf_error(DPF_ERR_NOMEM, "dsr: out of memory");
    return DPF_OK;
}

static dpf_status dsr_begin(dpf_pruner *p, dpf_prune_ctx *c)
{
    if (p->state)
        return DPF_OK;
    dpf_status st = dsr_alloc(p);
    if (st != DPF_OK)
        return st;
    dsr_state *ds = p->state;
    const dpf_train_config *cfg = p->cfg;
    size_t active = p->n_prunable - dpf_prune_count(cfg->sparsity, p->n_prunable);
    double np = cfg->prune_rate >= 0 ? cfg->prune_rate * (double)active
                                     : DSR_NP_FRACTION * (double)p->n_prunable;
    ds->np = (size_t)llround(np);
    ds->h = DSR_H0;
    p->hard = 1;
    p->masked_forward = 0;
    st = dpf_net_use_forward_weights(p->net, 0);
    if (st == DPF_OK)
        st = dpf_sparse_begin(p, c, cfg->density_erk == 1);
    return st;
}

/* Reallocation period at the step: --update-every, or the authors' doubling schedule. */
static int64_t dsr_period(const dpf_pruner *p, const dpf_prune_ctx *c)
{
    if (p->cfg->update_every > 0)
        return p->cfg->update_every;
    double f = c->phase_steps > 0 ? (double)c->step / (double)c->phase_steps : 0;
    int64_t period = DSR_PERIOD;
    for (int i = 0; i < 3; i++)
        if (f >= dsr_period_bounds[i])
            period *= 2;
    return period;
}

/* Prunes the active weights of layer t below H (keeping at least one); marks them in p->keep. */
static size_t dsr_prune_layer(dpf_pruner *p, const dpf_param_info *pi, double h, size_t *alive)
{
    const dpf_real *w = dpf_net_weights(p->net);
    uint8_t *m = p->mask + pi->offset, *just = p->keep + pi->offset;
    size_t pruned = 0, kept = 0, last = 0;
    for (size_t i = 0; i < pi->count; i++) {
        just[i] = 0;
        if (!m[i])
            continue;
        if (fabs((double)w[pi->offset + i]) < h) {
            m[i] = 0;
            just[i] = 1;
            pruned++;
            last = i;
        } else {
            kept++;
        }
    }
    if (kept == 0 && pruned > 0) { /* never empty a layer: keep the last one seen */
        m[last] = 1;
        just[last] = 0;
        pruned--;
        kept++;
    }
    *alive = kept;
    return pruned;
}

/* Turns on `k` random positions of layer pi among the zeros (not just pruned unless
 * `any_zero`), at w = 0 with zero optimiser state. */
static void dsr_grow_layer(dpf_pruner *p, dsr_state *ds, const dpf_param_info *pi, size_t k,
                           int any_zero, dpf_optimizer *opt)
{
    uint8_t *m = p->mask + pi->offset;
    const uint8_t *just = p->keep + pi->offset;
    uint32_t n = 0;
    for (size_t i = 0; i < pi->count; i++)
        if (!m[i] && (any_zero || !just[i]))
            ds->idx[n++] = (uint32_t)i;
    dpf_real *w = dpf_net_weights(p->net);
    for (size_t j = 0; j < k && j < n; j++) { /* partial Fisher-Yates */
        uint32_t r = (uint32_t)j + dpf_rng_below(&p->rng, n - (uint32_t)j);
        uint32_t pick = ds->idx[r];
        ds->idx[r] = ds->idx[j];
        ds->idx[j] = pick;
        size_t e = pi->offset + pick;
        m[pick] = 1;
        w[e] = 0;
        if (opt && opt->m)
            opt->m[e] = 0;
        if (opt && opt->v)
            opt->v[e] = 0;
    }
}

/* One prune-redistribute-regrow cycle of Algorithm 1. */
static void dsr_reallocate(dpf_pruner *p, dpf_prune_ctx *c)
{
    dsr_state *ds = p->state;
    size_t k = 0, room = 0;
    for (int l = 0; l < ds->n_layers; l++) {
        const dpf_param_info *pi = dpf_net_param(p->net, ds->layer[l]);
        ds->pruned[l] = dsr_prune_layer(p, pi, ds->h, &ds->alive[l]);
        ds->share[l] = (double)ds->alive[l];
        ds->cap[l] = pi->count - ds->alive[l] - ds->pruned[l];
        k += ds->pruned[l];
        room += ds->cap[l];
    }
    double h_used = ds->h;
    if ((double)k < (1 - DSR_DELTA) * (double)ds->np)
        ds->h *= 2;
    else if ((double)k > (1 + DSR_DELTA) * (double)ds->np)
        ds->h /= 2;
    int any_zero = room < k; /* only below 50% sparsity: just-pruned positions become eligible */
    if (any_zero)
        for (int l = 0; l < ds->n_layers; l++)
            ds->cap[l] += ds->pruned[l];
    dpf_dst_allocate(ds->grow, ds->share, ds->cap, k, ds->n_layers, ds->scratch);
    dpf_pruner_enforce(p, c->opt); /* the pruned weights and their momentum become 0 */
    for (int l = 0; l < ds->n_layers; l++)
        dsr_grow_layer(p, ds, dpf_net_param(p->net, ds->layer[l]), ds->grow[l], any_zero,
                       c->opt);
    p->target = p->cfg->sparsity;
    dpf_pruner_record_update(p, c);
    json_t *u = json_array_get(p->updates, json_array_size(p->updates) - 1);
    if (u) {
        json_object_set_new(u, "threshold", json_real(h_used));
        json_object_set_new(u, "reallocated", json_integer((json_int_t)k));
    }
}

static void dsr_after_step(dpf_pruner *p, dpf_prune_ctx *c)
{
    dpf_pruner_enforce(p, c->opt);
    double f = c->phase_steps > 0 ? (double)c->step / (double)c->phase_steps : 0;
    if (c->step > 0 && f < DSR_STOP && c->step % dsr_period(p, c) == 0)
        dsr_reallocate(p, c);
}

/* Only the adaptive threshold H outlives a reallocation; the rest is scratch. */
static int dsr_state_items(dpf_pruner *p, dpf_state_item *items, int max)
{
    dsr_state *ds = p->state;
    if (!ds || max < 1)
        return 0;
    items[0] = (dpf_state_item){"dsr_h", &ds->h, sizeof ds->h};
    return 1;
}

const dpf_method_ops dpf_method_dsr = {
    .name = "dsr", .begin_phase = dsr_begin,
    .after_backward = dpf_hook_mask_grads, .after_step = dsr_after_step, .destroy = dsr_destroy,
    .state_items = dsr_state_items,
};
