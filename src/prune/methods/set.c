/* set.c — Sparse Evolutionary Training (Mocanu et al. 2018), as the RigL paper's SET baseline
 * (Evci et al. 2020, Table 1 / Algorithm 1 with random growth):
 *
 *   m <- random mask with layer densities ERK (default) or uniform; w <- m ⊙ w
 *   for t = 0..T:
 *     g <- m ⊙ gradient;  w <- optimiser step;  w, momentum <- m ⊙ (w, momentum)
 *     if t mod ΔT = 0 and t < T_end:                     (after the step, as the RigL code)
 *       in each layer: drop the α_t = α/2 (1 + cos(π t / T_end)) share of its active weights with
 *       the smallest |w|, regrow as many connections at random among the inactive ones, new
 *       weights and their momentum at 0
 *
 * Defaults (RigL paper): α = 0.3, ΔT = 100 steps of its ~100k-step CIFAR-10 run, here scaled to
 * the run's length (at least 16 steps, dpf_sparse_scaled_every), T_end = 75% of training, ERK
 * densities. SET's own paper updates once per epoch with a constant drop fraction; like the RigL
 * paper's baseline we update every ΔT steps with the cosine decay (--update-every 0 gives once
 * per epoch). The layer densities never change, so sparsity is exact per layer and overall. */
#include "prune/methods/sparse_init.h"

static void set_after_step(dpf_pruner *p, dpf_prune_ctx *c)
{
    dpf_pruner_enforce(p, c->opt);
    double frac = dpf_sparse_update_fraction(p, c);
    if (frac >= 0)
        dpf_sparse_drop_grow(p, c, frac, NULL);
}

/* ERK unless --density-dist uniform (RigL paper's default for both). */
static dpf_status set_begin(dpf_pruner *p, dpf_prune_ctx *c)
{
    return dpf_sparse_begin(p, c, p->cfg->density_erk != 0);
}

const dpf_method_ops dpf_method_set = {
    .name = "set", .hard = 1, .scheduled = 1, .begin_phase = set_begin,
    .after_backward = dpf_hook_mask_grads, .after_step = set_after_step,
    .check = dpf_sparse_check,
};
