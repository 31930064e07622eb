/* dpf/prune.h — the pruning core's building blocks: exact O(N) selection of the smallest scores,
 * the Zhu & Gupta sparsity schedule, and mask statistics (paper §3-§6).
 *
 * A mask is one byte per element: 1 keeps the weight, 0 prunes it. */
#ifndef DPF_PRUNE_H
#define DPF_PRUNE_H

#include <stddef.h>
#include <stdint.h>

#include "dpf/real.h"
#include "dpf/status.h"

/* Scratch for selection, sized once for the largest n (no allocation per mask update). */
typedef struct dpf_selector {
    uint64_t *keys;
    uint32_t *hist;
    size_t cap;
} dpf_selector;

dpf_status dpf_selector_init(dpf_selector *s, size_t max_n);
void dpf_selector_free(dpf_selector *s);

/* keep[i] = 0 for exactly k of the n scores — the smallest; among equal scores the lower index is
 * pruned first — and keep[i] = 1 for the others. Scores must be >= 0 (magnitudes, norms).
 * O(n): one histogram pass over the top 16 bits, then a selection inside the boundary bucket. */
void dpf_select_smallest(dpf_selector *s, uint8_t *keep, const float *scores, size_t n, size_t k);

/* Number of elements to prune for sparsity s of n: floor(s * n), computed without rounding up. */
size_t dpf_prune_count(double s, size_t n);

/* Zhu & Gupta (2017) cubic schedule: s_i before t0, s_f from t_end on, and in between
 * s_t = s_f + (s_i - s_f) * (1 - (t - t0) / (t_end - t0))^3. */
double dpf_sparsity_at(double s_final, double s_init, int64_t t, int64_t t0, int64_t t_end);

/* delta = ||w - w~||^2 / ||w||^2 over n elements (paper eq. 1); 0 when w = 0. */
double dpf_mask_delta(const dpf_real *w, const dpf_real *w_tilde, size_t n);
/* Intersection over union of the kept sets of two masks (1 when both keep nothing). */
double dpf_mask_iou(const uint8_t *a, const uint8_t *b, size_t n);

#endif
