/* rigl.c — Rigging the Lottery (Evci et al., ICML 2020), Algorithm 1:
 *
 *   m <- random mask with layer densities ERK (default) or uniform; w <- m ⊙ w
 *   for t = 0..T:
 *     g <- dense gradient at w (= m ⊙ w): backward gives dL/dw for every position
 *     if t mod ΔT = 0 and t < T_end:
 *       in each layer: drop the α_t = α/2 (1 + cos(π t / T_end)) share of its active weights with
 *       the smallest |w|; grow as many among the inactive connections with the largest |g|;
 *       grown weights start at 0 with zero momentum
 *     g <- m ⊙ g;  w <- optimiser step;  w, momentum <- m ⊙ (w, momentum)
 *
 * Defaults (RigL paper, CIFAR-10 / ImageNet): α = 0.3, ΔT = 100 steps of its ~100k-step CIFAR-10
 * run, here scaled to the run's length (at least 16 steps, dpf_sparse_scaled_every), T_end = 75%
 * of training, ERK densities. Difference from the reference code: it skips the optimiser step of an update
 * iteration; here the active weights take their step and the grown ones do not (their gradient is
 * zeroed for that step), so they are exactly 0 after it. The layer densities never change, so
 * sparsity is exact per layer and overall. */
#include "prune/methods/sparse_init.h"

static void rigl_after_backward(dpf_pruner *p, dpf_prune_ctx *c)
{
    double frac = dpf_sparse_update_fraction(p, c);
    if (frac >= 0)
        dpf_sparse_drop_grow(p, c, frac, dpf_net_grads(p->net));
    dpf_pruner_mask_grads(p);
}

/* ERK unless --density-dist uniform (RigL paper's default for both). */
static dpf_status rigl_begin(dpf_pruner *p, dpf_prune_ctx *c)
{
    return dpf_sparse_begin(p, c, p->cfg->density_erk != 0);
}

const dpf_method_ops dpf_method_rigl = {
    .name = "rigl", .hard = 1, .scheduled = 1, .begin_phase = rigl_begin,
    .after_backward = rigl_after_backward, .after_step = dpf_hook_enforce,
    .check = dpf_sparse_check,
};
