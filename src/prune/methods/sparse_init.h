/* sparse_init.h — what the sparse-from-scratch methods share: SET (Mocanu et al. 2018) and RigL
 * (Evci et al. 2020) all of it, DSR and SM the sparse start (dpf_sparse_begin) and the
 * proportional allocation (dpf_dst_allocate, defined in dsr.c):
 *   - layer densities: ERK (Erdős–Rényi-Kernel, RigL §3: density of a layer ∝ (sum of its kernel
 *     dimensions incl. in/out channels) / (their product), scaled to the target, layers that
 *     would exceed 1 made dense and the rest rescaled) or uniform (every layer at the target);
 *   - the random initial mask at those densities (pruned weights zeroed, mask hard from step 0);
 *   - the update schedule: every ΔT steps (the paper's 100 scaled to the run) while t < T_end =
 *     75% of the phase, drop fraction α_t = α/2 (1 + cos(π t / T_end)) (RigL eq. 1, "cosine
 *     annealing");
 *   - one drop-and-grow update of every prunable layer: drop the α_t share of its active weights
 *     with the smallest |w|, regrow as many among the connections inactive after the drop (RigL
 *     Algorithm 1), by the largest |g| (RigL) or at random (SET); newly grown connections start
 *     at 0 with zero optimiser moments. Per-layer active counts never change. */
#ifndef DPF_SPARSE_INIT_H
#define DPF_SPARSE_INIT_H

#include <stddef.h>
#include <stdint.h>

#include "prune/method.h"

#define DPF_SPARSE_DEFAULT_ALPHA 0.3   /* RigL paper: α = 0.3 (CIFAR / ImageNet) */
#define DPF_SPARSE_DEFAULT_EVERY 100   /* RigL paper: ΔT = 100 */
#define DPF_SPARSE_END_FRACTION 0.75   /* RigL paper: T_end = 75% of training */
#define DPF_SPARSE_PAPER_STEPS 100000  /* the papers' runs: RigL CIFAR-10 250 epochs x 391 steps,
                                          DSR 200 epochs x 500 steps (~100k steps each) */
#define DPF_SPARSE_MIN_EVERY 16        /* the shortest scaled period: DPF's p (paper Table 9) */

/* A period of `paper_every` steps in the papers' ~100k-step runs, scaled to a phase of
 * phase_steps: as many updates as the paper made, but never more often than every
 * DPF_SPARSE_MIN_EVERY steps (new connections need steps to grow before they are judged). */
int64_t dpf_sparse_scaled_every(int64_t paper_every, int64_t phase_steps);

/* The check of DSR, SM, SET and RigL: they set their own per-layer densities and are
 * unstructured, so --structured and --scope layer do not apply. */
dpf_status dpf_sparse_check(const dpf_train_config *cfg);

/* Active (kept) element counts of the n prunable tensors at overall sparsity s: ERK (erk != 0)
 * or uniform. ERK: the total of active elements is exactly N - floor(s N) (N = sum of counts;
 * the per-layer rounding remainder goes to the layers with the largest fractional parts).
 * Uniform: count - floor(s count) per layer. Allocates only a small scratch (n doubles). */
dpf_status dpf_sparse_layer_active(const dpf_param_info *const *layers, int n, double s, int erk,
                                   size_t *active);

/* α_t = α/2 (1 + cos(π t / t_end)); 0 from t_end on. */
double dpf_sparse_drop_fraction(double alpha, int64_t t, int64_t t_end);

/* The resolved hyperparameters: α (--prune-rate, default 0.3), ΔT (--update-every; default the
 * paper's 100 steps scaled to the phase, dpf_sparse_scaled_every; 0 = once per epoch, SET's
 * original schedule), T_end = floor(0.75 * phase steps). */
double dpf_sparse_alpha(const dpf_pruner *p);
int64_t dpf_sparse_every(const dpf_pruner *p, const dpf_prune_ctx *c);
int64_t dpf_sparse_end_step(const dpf_prune_ctx *c);

/* α_t when c->step is an update step (t mod ΔT = 0 and t < T_end), else -1. */
double dpf_sparse_update_fraction(const dpf_pruner *p, const dpf_prune_ctx *c);

/* Start of a sparse-from-scratch training phase (SET, RigL, DSR, SM): random mask per layer at its
 * ERK (erk != 0) or uniform density, exactly floor(s N) pruned of the N weights of the tensors the
 * method makes sparse (those it leaves dense, p->kept_dense, stay whole), pruned weights and
 * moments zeroed, hard mask, forward reads w; the initial mask is recorded as an update. */
dpf_status dpf_sparse_begin(dpf_pruner *p, dpf_prune_ctx *c, int erk);

/* DSR / SM redistribution: splits `total` among n layers in proportion to share[], never
 * beyond cap[]; a full layer's overflow goes to the others. scratch: n doubles. */
void dpf_dst_allocate(size_t *out, const double *share, const size_t *cap, size_t total, int n,
                      double *scratch);

/* The per-layer scratch of a DSR / SM update (one entry per prunable tensor); the methods'
 * state begins with it. */
typedef struct dpf_realloc {
    size_t *pruned;      /* pruned at this update */
    size_t *alive;       /* survivors (DSR's R_l) */
    size_t *cap;         /* positions free for regrowth */
    size_t *grow;        /* regrowth */
    double *share, *scratch;
    uint32_t *idx;       /* (largest tensor) candidate positions of one layer */
} dpf_realloc;
/* p->state = a zeroed state of `bytes` (>= sizeof(dpf_realloc)) with its scratch allocated;
 * errors name `who`. */
dpf_status dpf_realloc_create(dpf_pruner *p, size_t bytes, const char *who);
void dpf_realloc_destroy(dpf_pruner *p);   /* the methods' destroy hook */

/* One update at drop fraction frac. g == NULL: growth at random (SET, from p->rng); otherwise
 * growth by the largest |g| (RigL) and g is zeroed at the newly grown connections (they start at
 * 0 and take no step in this iteration). Dropped weights and moments are zeroed; the update is
 * recorded. Grown connections are 0 with zero moments already (the mask is enforced after every
 * step). No allocation. */
void dpf_sparse_drop_grow(dpf_pruner *p, const dpf_prune_ctx *c, double frac, dpf_real *g);

#endif
