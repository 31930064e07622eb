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
 * Layers: like the authors' models, the first convolution and the 1x1 projection shortcuts stay
 * dense (plain nn.Conv2d there; the DPF paper §5.1 notes it); the target s is the sparsity of the
 * other prunable tensors, so the reached sparsity over all of them is a little lower (at 99% on
 * ResNet-20 about 98%, as the DPF paper's Table 3 shows for DSR on ResNet-50).
 *
 * Defaults, from the authors' code for WRN-28-2 on CIFAR-10 (as republished in the
 * sparse_learning repository, imagenet/dynamic-reparameterization):
 *   H(0) = 0.001; delta = 0.1; Np = 20,000 of the ~1.45M reparameterised weights at every
 *   sparsity 0.5..0.9, i.e. 1.38% of them, which is 13.8% of the active ones at 90% (their SET
 *   baseline's rewire fractions 0.138/0.07/0.046/0.034/0.028 at s = 0.9..0.5 match this Np; the
 *   ResNet-50 runs use the same 14% of the active weights at 90%). Here Np = 1.38% of the
 *   reparameterised weights but at most 13.8% of the active ones: the paper's value where it ran,
 *   and beyond 90% a share of what is there to prune (1.38% of all weights exceeds the active
 *   ones above 98.6% sparsity, and the threshold then empties layers).
 *   P = 100 steps for epochs [0, 25), 200 for [25, 80), 400 for [80, 140), 800 after, stopped at
 *   epoch 190 of 200 (fractions of the phase 0.125, 0.4, 0.7, stop at 0.95) in a run of 200 x 500
 *   = 100,000 steps: each period is scaled to the run's length (dpf_sparse_scaled_every: about
 *   the paper's 370 reallocations, never more often than every 16 steps), so a short run
 *   reallocates too instead of keeping its random initial mask.
 * --prune-rate F sets Np = F x the active weights; --update-every N a constant P = N. */
#include <math.h>

#include "prune/methods/sparse_init.h"

#define DSR_H0 1e-3
#define DSR_DELTA 0.1
#define DSR_NP_FRACTION 0.0138        /* of the reparameterised weights */
#define DSR_NP_ACTIVE_MAX 0.138       /* of the active ones */
#define DSR_PERIOD 100
#define DSR_STOP 0.95

static const double dsr_period_bounds[3] = {0.125, 0.4, 0.7}; /* the period doubles at each */

typedef struct dsr_state {
    dpf_realloc r;       /* per layer: pruned, alive (survivors R_l), cap, grow, ... */
    double h;            /* the adaptive threshold H */
    size_t np;           /* Np: target number pruned per reallocation */
} dsr_state;

static dpf_status dsr_begin(dpf_pruner *p, dpf_prune_ctx *c)
{
    if (p->state)
        return DPF_OK;
    dpf_status st = dpf_realloc_create(p, sizeof(dsr_state), "dsr");
    if (st != DPF_OK)
        return st;
    dsr_state *ds = p->state;
    const dpf_train_config *cfg = p->cfg;
    size_t n = p->n_prunable - p->n_kept_dense; /* the reparameterised weights */
    double active = (double)(n - dpf_prune_count(cfg->sparsity, n));
    double np = cfg->prune_rate >= 0 ? cfg->prune_rate * active
                                     : fmin(DSR_NP_FRACTION * (double)n, DSR_NP_ACTIVE_MAX * active);
    ds->np = (size_t)llround(np);
    ds->h = DSR_H0;
    return dpf_sparse_begin(p, c, cfg->density_erk == 1);
}

/* Reallocation period at the step: --update-every, or the authors' doubling schedule scaled to
 * the run. */
static int64_t dsr_period(const dpf_pruner *p, const dpf_prune_ctx *c)
{
    if (p->cfg->update_every > 0)
        return p->cfg->update_every;
    double f = c->phase_steps > 0 ? (double)c->step / (double)c->phase_steps : 0;
    int64_t period = DSR_PERIOD;
    for (int i = 0; i < 3; i++)
        if (f >= dsr_period_bounds[i])
            period *= 2;
    return dpf_sparse_scaled_every(period, c->phase_steps);
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
 * `any_zero`); they are 0 with zero optimiser state already (the mask was just enforced). */
static void dsr_grow_layer(dpf_pruner *p, dpf_realloc *ws, const dpf_param_info *pi, size_t k,
                           int any_zero)
{
    uint8_t *m = p->mask + pi->offset;
    const uint8_t *just = p->keep + pi->offset;
    uint32_t n = 0;
    for (size_t i = 0; i < pi->count; i++)
        if (!m[i] && (any_zero || !just[i]))
            ws->idx[n++] = (uint32_t)i;
    for (size_t j = 0; j < k && j < n; j++) { /* partial Fisher-Yates */
        uint32_t r = (uint32_t)j + dpf_rng_below(&p->rng, n - (uint32_t)j);
        uint32_t pick = ws->idx[r];
        ws->idx[r] = ws->idx[j];
        ws->idx[j] = pick;
        m[pick] = 1;
    }
}

/* One prune-redistribute-regrow cycle of Algorithm 1. */
static void dsr_reallocate(dpf_pruner *p, dpf_prune_ctx *c)
{
    dsr_state *ds = p->state;
    dpf_realloc *ws = &ds->r;
    size_t k = 0, room = 0;
    for (int l = 0; l < p->n_layers; l++) {
        const dpf_param_info *pi = p->layers[l];
        if (p->kept_dense[l]) { /* not reparameterised: neither pruned nor grown */
            ws->pruned[l] = ws->alive[l] = ws->cap[l] = 0;
            ws->share[l] = 0;
            continue;
        }
        ws->pruned[l] = dsr_prune_layer(p, pi, ds->h, &ws->alive[l]);
        ws->share[l] = (double)ws->alive[l];
        ws->cap[l] = pi->count - ws->alive[l] - ws->pruned[l];
        k += ws->pruned[l];
        room += ws->cap[l];
    }
    double h_used = ds->h;
    if ((double)k < (1 - DSR_DELTA) * (double)ds->np)
        ds->h *= 2;
    else if ((double)k > (1 + DSR_DELTA) * (double)ds->np)
        ds->h /= 2;
    int any_zero = room < k; /* only below 50% sparsity: just-pruned positions become eligible */
    if (any_zero) /* a dense layer has nothing pruned: its cap stays 0 */
        for (int l = 0; l < p->n_layers; l++)
            ws->cap[l] += ws->pruned[l];
    dpf_dst_allocate(ws->grow, ws->share, ws->cap, k, p->n_layers, ws->scratch);
    dpf_pruner_enforce(p, c->opt); /* the pruned weights and their momentum become 0 */
    for (int l = 0; l < p->n_layers; l++)
        if (!p->kept_dense[l])
            dsr_grow_layer(p, ws, p->layers[l], ws->grow[l], any_zero);
    dpf_mask_update *u = dpf_pruner_record_update(p, c);
    u->threshold = h_used;
    u->reallocated = (int64_t)k;
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
    .name = "dsr", .hard = 1, .scheduled = 1,
    .dense_layers = DPF_DENSE_FIRST_CONV | DPF_DENSE_1X1_CONV, .begin_phase = dsr_begin,
    .after_backward = dpf_hook_mask_grads, .after_step = dsr_after_step,
    .destroy = dpf_realloc_destroy,
    .state_items = dsr_state_items,
    .check = dpf_sparse_check,
};
