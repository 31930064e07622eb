/* sparse_init.c — the machinery of the sparse-from-scratch methods (SET, RigL): ERK / uniform
 * layer densities, the random initial mask, the ΔT / cosine update schedule, and one
 * drop-and-grow update (see sparse_init.h).
 *
 * ERK follows the RigL paper (§3, Appendix) and its reference code: raw density
 * r_l = (sum of the dims of the weight tensor) / (their product); with eps chosen so that
 * sum_l eps r_l N_l + sum_{dense} N_l = N - floor(s N), every layer with eps r_l > 1 (the largest
 * r_l first) is made dense and eps is solved again over the rest. Densities are turned into whole
 * element counts whose total is exactly N - floor(s N) (largest-remainder rounding).
 *
 * Drop and grow (RigL Algorithm 1): in each layer k = floor(α_t * active) active weights with the
 * smallest |w| are dropped; then k connections are grown among those inactive after the drop
 * (the just-dropped included, as in the paper and code) with the largest grow score. A dropped
 * connection that is grown back keeps its value (RigL code, reinit_when_same = False); a newly
 * grown one starts at 0 with zero moments. Both selections reuse the O(n) exact selector.
 *
 * DSR and Sparse Momentum share the sparse start and the redistribution of a count over the
 * layers under capacities (dpf_dst_allocate, and its scratch dpf_realloc). */
#include "prune/methods/sparse_init.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DROPPED 2   /* transient mask value inside one update: dropped, may be grown back */

static double erk_raw(const dpf_param_info *pi)
{
    double sum = 0;
    for (int d = 0; d < pi->ndim; d++)
        sum += (double)pi->shape[d];
    return sum / (double)pi->count;
}

/* dens[i]: 1 for the layers made dense, eps * r_i for the others. */
static void erk_densities(const dpf_param_info *const *layers, int n, size_t budget, double *dens)
{
    for (int i = 0; i < n; i++)
        dens[i] = -1;   /* -1: still scaled by eps */
    for (;;) {
        double rhs = (double)budget, divisor = 0, max_raw = 0;
        for (int i = 0; i < n; i++) {
            if (dens[i] >= 0) {
                rhs -= (double)layers[i]->count;
                continue;
            }
            double r = erk_raw(layers[i]);
            divisor += r * (double)layers[i]->count;
            max_raw = r > max_raw ? r : max_raw;
        }
        if (divisor <= 0)
            return;     /* every layer is dense */
        double eps = rhs > 0 ? rhs / divisor : 0;
        if (eps * max_raw <= 1) {
            for (int i = 0; i < n; i++)
                if (dens[i] < 0)
                    dens[i] = eps * erk_raw(layers[i]);
            return;
        }
        for (int i = 0; i < n; i++)
            if (dens[i] < 0 && erk_raw(layers[i]) == max_raw)
                dens[i] = 1;
    }
}

/* active[i] = floor(dens[i] N_i), then +-1 on the layers with the largest (smallest) fractional
 * parts until the total is budget. */
static void round_to_budget(const dpf_param_info *const *layers, int n, size_t budget,
                            const double *dens, size_t *active)
{
    long long rem = (long long)budget;
    for (int i = 0; i < n; i++) {
        double x = floor(dens[i] * (double)layers[i]->count);
        active[i] = x <= 0 ? 0 : x >= (double)layers[i]->count ? layers[i]->count : (size_t)x;
        rem -= (long long)active[i];
    }
    while (rem != 0) {
        int best = -1;
        double best_frac = 0;
        for (int i = 0; i < n; i++) {
            double frac = dens[i] * (double)layers[i]->count - (double)active[i];
            int ok = rem > 0 ? active[i] < layers[i]->count : active[i] > 0;
            if (ok && (best < 0 || (rem > 0 ? frac > best_frac : frac < best_frac))) {
                best = i;
                best_frac = frac;
            }
        }
        if (best < 0)
            return;
        if (rem > 0) {
            active[best]++;
            rem--;
        } else {
            active[best]--;
            rem++;
        }
    }
}

dpf_status dpf_sparse_check(const dpf_train_config *cfg)
{
    if (cfg->structured || cfg->layer_scope)
        return dpf_error(DPF_ERR_ARG, "--method %s sets its own per-layer densities and is "
                         "unstructured: --structured and --scope layer do not apply",
                         cfg->method);
    return DPF_OK;
}

dpf_status dpf_sparse_layer_active(const dpf_param_info *const *layers, int n, double s, int erk,
                                   size_t *active)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += layers[i]->count;
    if (!erk || n <= 0) {
        for (int i = 0; i < n; i++)
            active[i] = layers[i]->count - dpf_prune_count(s, layers[i]->count);
        return DPF_OK;
    }
    double *dens = malloc((size_t)(unsigned)n * sizeof *dens);
    if (!dens)
        return dpf_error(DPF_ERR_NOMEM, "cannot allocate ERK densities for %d layers", n);
    size_t budget = total - dpf_prune_count(s, total);
    erk_densities(layers, n, budget, dens);
    round_to_budget(layers, n, budget, dens, active);
    free(dens);
    return DPF_OK;
}

double dpf_sparse_drop_fraction(double alpha, int64_t t, int64_t t_end)
{
    static const double pi = 3.14159265358979323846;
    if (t_end <= 0 || t >= t_end)
        return 0;
    return alpha * 0.5 * (1 + cos(pi * (double)t / (double)t_end));
}

double dpf_sparse_alpha(const dpf_pruner *p)
{
    return p->cfg->prune_rate < 0 ? DPF_SPARSE_DEFAULT_ALPHA : p->cfg->prune_rate;
}

int64_t dpf_sparse_scaled_every(int64_t paper_every, int64_t phase_steps)
{
    int64_t e = (int64_t)llround((double)paper_every * (double)phase_steps /
                                 (double)DPF_SPARSE_PAPER_STEPS);
    return e < DPF_SPARSE_MIN_EVERY ? DPF_SPARSE_MIN_EVERY : e;
}

int64_t dpf_sparse_every(const dpf_pruner *p, const dpf_prune_ctx *c)
{
    int u = p->cfg->update_every;
    if (u < 0)
        return dpf_sparse_scaled_every(DPF_SPARSE_DEFAULT_EVERY, c->phase_steps);
    if (u == 0)
        return c->steps_per_epoch > 0 ? c->steps_per_epoch : 1;
    return u;
}

int64_t dpf_sparse_end_step(const dpf_prune_ctx *c)
{
    return (int64_t)floor(DPF_SPARSE_END_FRACTION * (double)c->phase_steps);
}

double dpf_sparse_update_fraction(const dpf_pruner *p, const dpf_prune_ctx *c)
{
    int64_t t_end = dpf_sparse_end_step(c);
    if (c->step >= t_end || c->step % dpf_sparse_every(p, c) != 0)
        return -1;
    return dpf_sparse_drop_fraction(dpf_sparse_alpha(p), c->step, t_end);
}

/* Exactly `active` random elements of the tensor kept. */
static void random_layer_mask(dpf_pruner *p, const dpf_param_info *pi, size_t active)
{
    float *sc = p->scores + pi->offset;
    for (size_t i = 0; i < pi->count; i++)
        sc[i] = (float)dpf_rng_uniform(&p->rng);
    dpf_select_smallest(&p->sel, p->mask + pi->offset, sc, pi->count, pi->count - active);
}

dpf_status dpf_sparse_begin(dpf_pruner *p, dpf_prune_ctx *c, int erk)
{
    const int n = p->n_layers;
    size_t *active = malloc((size_t)(n ? n : 1) * sizeof *active);
    const dpf_param_info **sparse = malloc((size_t)(n ? n : 1) * sizeof *sparse);
    int m = 0; /* the tensors the method makes sparse: all but those it leaves dense */
    for (int i = 0; i < n && sparse; i++)
        if (!p->kept_dense[i])
            sparse[m++] = p->layers[i];
    dpf_status st = active && sparse
                        ? dpf_sparse_layer_active(sparse, m, p->cfg->sparsity, erk, active)
                        : dpf_error(DPF_ERR_NOMEM, "cannot allocate layer densities");
    size_t zeros = 0;
    for (int i = 0, j = 0; st == DPF_OK && i < n; i++) {
        if (p->kept_dense[i]) {
            memset(p->mask + p->layers[i]->offset, 1, p->layers[i]->count);
            continue;
        }
        random_layer_mask(p, p->layers[i], active[j]);
        zeros += p->layers[i]->count - active[j++];
    }
    free(active);
    free(sparse);
    if (st != DPF_OK)
        return st;
    p->target = p->n_prunable ? (double)zeros / (double)p->n_prunable : 0;
    dpf_pruner_record_update(p, c);
    dpf_pruner_enforce(p, c->opt);
    return DPF_OK;
}

static float grow_score(dpf_pruner *p, const dpf_real *g, size_t i)
{
    float s = g ? (float)fabs((double)g[i]) : (float)dpf_rng_uniform(&p->rng);
    return s >= FLT_MIN ? s : FLT_MIN;   /* candidates always outrank the kept (score 0) */
}

static void update_layer(dpf_pruner *p, const dpf_param_info *pi, double frac, dpf_real *g)
{
    const size_t off = pi->offset, n = pi->count;
    uint8_t *m = p->mask + off, *sel = p->keep + off;
    float *sc = p->scores + off;
    dpf_real *w = dpf_net_weights(p->net) + off;
    size_t active = 0;
    for (size_t i = 0; i < n; i++)
        active += m[i];
    size_t k = dpf_prune_count(frac, active);
    if (k == 0)
        return;
    /* drop: the k smallest |w| among the active (the inactive rank last) */
    for (size_t i = 0; i < n; i++)
        sc[i] = m[i] ? (float)fabs((double)w[i]) : FLT_MAX;
    dpf_select_smallest(&p->sel, sel, sc, n, k);
    for (size_t i = 0; i < n; i++)
        if (m[i] && !sel[i])
            m[i] = DROPPED;
    /* grow: the k largest scores among the inactive (the still active score 0: never chosen) */
    for (size_t i = 0; i < n; i++)
        sc[i] = m[i] == 1 ? 0.0f : grow_score(p, g ? g + off : NULL, i);
    dpf_select_smallest(&p->sel, sel, sc, n, n - k);
    for (size_t i = 0; i < n; i++) {
        if (sel[i] && m[i] == 0 && g) /* a new connection: no step now (w and its moments */
            g[off + i] = 0;           /* are 0 already: the mask was enforced after each step) */
        m[i] = sel[i] ? 1 : m[i] == DROPPED ? 0 : m[i];
    }
}

void dpf_sparse_drop_grow(dpf_pruner *p, const dpf_prune_ctx *c, double frac, dpf_real *g)
{
    for (int l = 0; l < p->n_layers; l++)
        update_layer(p, p->layers[l], frac, g);
    dpf_pruner_enforce(p, c->opt);
    dpf_pruner_record_update(p, c);
}

/* ---- DSR / SM: redistribution of a count over the layers ---- */

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

dpf_status dpf_realloc_create(dpf_pruner *p, size_t bytes, const char *who)
{
    dpf_realloc *r = calloc(1, bytes);
    p->state = r;
    if (!r)
        return dpf_error(DPF_ERR_NOMEM, "%s: out of memory", who);
    size_t n = (size_t)(p->n_layers ? p->n_layers : 1), largest = 1;
    for (int l = 0; l < p->n_layers; l++)
        largest = p->layers[l]->count > largest ? p->layers[l]->count : largest;
    r->pruned = malloc(n * sizeof *r->pruned);
    r->alive = malloc(n * sizeof *r->alive);
    r->cap = malloc(n * sizeof *r->cap);
    r->grow = malloc(n * sizeof *r->grow);
    r->share = malloc(n * sizeof *r->share);
    r->scratch = malloc(n * sizeof *r->scratch);
    r->idx = malloc(largest * sizeof *r->idx);
    if (!r->pruned || !r->alive || !r->cap || !r->grow || !r->share || !r->scratch || !r->idx)
        return dpf_error(DPF_ERR_NOMEM, "%s: out of memory", who);
    return DPF_OK;
}

void dpf_realloc_destroy(dpf_pruner *p)
{
    dpf_realloc *r = p->state;
    if (r) {
        free(r->pruned), free(r->alive), free(r->cap), free(r->grow);
        free(r->share), free(r->scratch), free(r->idx);
    }
    free(r);
    p->state = NULL;
}
