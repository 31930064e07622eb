/* test_method_sfp_set_rigl.c — the defining properties of SFP, SET and RigL, driving the pruner's
 * hooks by hand as src/train/trainer.c does, on LeNet-5 over 1x16x16 inputs:
 *   SFP: at each epoch end exactly floor(P * filters) whole filters of EACH prunable layer are
 *        zeroed, the ones of smallest L2 norm; they are not masked and are nonzero again after the
 *        next step (soft); forward reads w.
 *   ERK: hand-computed counts on known shapes (dense-layer rescaling included), exact total.
 *   drop fraction: the cosine formula.
 *   SET / RigL: exact per-layer and overall sparsity, constant over the updates; masked weights
 *        zero; RigL's update is exactly "drop the k smallest |w| among the active, grow the k
 *        largest |g| among those inactive after the drop" with k = floor(α_t * active); SET
 *        drops by magnitude and grows at random among the inactive; new connections are 0 with
 *        zero momentum. A grown filter is kept by SFP's next zeroing (the mask is not sticky). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dpf/net.h"
#include "dpf/optim.h"
#include "dpf/rng.h"
#include "dpf/train.h"
#include "prune/methods/sparse_init.h"
#include "prune/pruner.h"
#include "group_check.h"

#define BATCH 8
#define IMG 256 /* 1x16x16 */
#define MAX_LAYERS 8

typedef struct rig {
    dpf_train_config cfg;
    dpf_net *net;
    dpf_optimizer opt;
    dpf_pruner *p;
    dpf_phase ph[DPF_MAX_PHASES];
    dpf_prune_ctx c;
    dpf_real x[BATCH * IMG];
    int32_t y[BATCH];
} rig;

typedef void (*rig_hook)(rig *r, void *arg);

/* sfp_ramp: SFP's ratio from the Zhu & Gupta ramp (1) or the target from the start (0). */
static rig *rig_new_ramp(const char *method, double s, int every, int erk, int epochs, int spe,
                         int sfp_ramp)
{
    rig *r = calloc(1, sizeof *r);
    assert_non_null(r);
    dpf_train_config_defaults(&r->cfg);
    snprintf(r->cfg.method, sizeof r->cfg.method, "%s", method);
    r->cfg.sparsity = s;
    r->cfg.update_every = every;
    r->cfg.density_erk = erk;
    r->cfg.epochs = epochs;
    r->cfg.sfp_ramp = sfp_ramp;
    assert_int_equal(dpf_net_create(&r->net, "lenet5", 1, 16, 16, 10, BATCH), DPF_OK);
    dpf_net_init(r->net, 7);
    dpf_optim_config oc = dpf_optim_sgd_defaults();
    assert_int_equal(dpf_optim_init(&r->opt, &oc, dpf_net_size(r->net)), DPF_OK);
    assert_int_equal(dpf_pruner_create(&r->p, &r->cfg, r->net), DPF_OK);
    assert_int_equal(dpf_pruner_phases(r->p, r->ph), 1);
    dpf_rng rng;
    dpf_rng_seed(&rng, 11);
    for (int i = 0; i < BATCH * IMG; i++)
        r->x[i] = (dpf_real)dpf_rng_normal(&rng);
    for (int i = 0; i < BATCH; i++)
        r->y[i] = (int32_t)dpf_rng_below(&rng, 10);
    r->c = (dpf_prune_ctx){.net = r->net, .opt = &r->opt, .phase_steps = (int64_t)epochs * spe,
                           .steps_per_epoch = spe, .x = r->x, .y = r->y, .batch = BATCH};
    dpf_optim_reset(&r->opt);
    assert_int_equal(dpf_pruner_begin_phase(r->p, &r->c, &r->ph[0]), DPF_OK);
    return r;
}

/* SFP's paper schedule (the ramp has its own test); SET and RigL do not read it. */
static rig *rig_new(const char *method, double s, int every, int erk, int epochs, int spe)
{
    return rig_new_ramp(method, s, every, erk, epochs, spe, 0);
}

static void rig_free(rig *r)
{
    dpf_pruner_free(r->p);
    dpf_optim_free(&r->opt);
    dpf_net_free(r->net);
    free(r);
}

/* One training step; after_bw runs between backward and the method's after_backward, before_as
 * between the optimiser step and the method's after_step. */
static void rig_step(rig *r, rig_hook after_bw, rig_hook before_as, void *arg)
{
    dpf_pruner_before_step(r->p, &r->c);
    dpf_net_forward(r->net, r->x, BATCH, 1);
    assert_true(isfinite(dpf_net_loss(r->net, r->y, NULL)));
    dpf_net_backward(r->net);
    if (after_bw)
        after_bw(r, arg);
    dpf_pruner_after_backward(r->p, &r->c);
    dpf_optim_step(&r->opt, dpf_net_weights(r->net), dpf_net_grads(r->net), 0.05);
    if (before_as)
        before_as(r, arg);
    dpf_pruner_after_step(r->p, &r->c);
    r->c.step++;
}

static void rig_end_epoch(rig *r)
{
    dpf_mask_stats m;
    assert_int_equal(dpf_pruner_end_epoch(r->p, &r->c, &m), DPF_OK);
    r->c.epoch++;
    r->c.global_epoch++;
}

static int prunable_layers(const dpf_net *net, const dpf_param_info **out)
{
    int n = 0;
    for (int t = 0; t < dpf_net_param_count(net); t++)
        if (dpf_net_param(net, t)->prunable)
            out[n++] = dpf_net_param(net, t);
    return n;
}

static size_t count_active(const uint8_t *mask, const dpf_param_info *pi)
{
    size_t a = 0;
    for (size_t i = pi->offset; i < pi->offset + pi->count; i++)
        a += mask[i];
    return a;
}

/* ---------------------------------------------------------------- SFP */

static double filter_norm(const dpf_real *w, const dpf_param_info *pi, int f)
{
    size_t len = pi->count / (size_t)pi->filters;
    double s = 0;
    for (size_t i = pi->offset + (size_t)f * len; i < pi->offset + (size_t)(f + 1) * len; i++)
        s += (double)w[i] * (double)w[i];
    return sqrt(s);
}

/* A whole filter masked: the channel was zeroed (a kept filter of conv2 or fc1 loses only the
 * input channels of the previous group's zeroed channels). */
static int filter_masked(const uint8_t *mask, const dpf_param_info *pi, int f)
{
    size_t len = pi->count / (size_t)pi->filters;
    for (size_t i = pi->offset + (size_t)f * len; i < pi->offset + (size_t)(f + 1) * len; i++)
        if (mask[i])
            return 0;
    return 1;
}

/* Checks the zeroing that just happened against the weights snapshot w0 taken before it: in
 * each group (LeNet-5: each layer) exactly floor(ratio * channels) channels of smallest filter
 * norm, with their readers' input channels; the mask records it and w is w0 but there. */
static void check_sfp_zeroing(rig *r, const dpf_real *w0, double ratio)
{
    size_t per_group[8];
    assert_true(dpf_net_group_count(r->net) <= 8);
    gc_check(r->net, dpf_pruner_mask(r->p), w0, ratio, 1, per_group);
    for (int g = 0; g < dpf_net_group_count(r->net); g++)
        if (dpf_net_group(r->net, g)->prunable)
            assert_int_equal(per_group[g],
                             (size_t)floor(ratio * dpf_net_group(r->net, g)->channels));
    const dpf_real *w = dpf_net_weights(r->net);
    for (size_t i = 0; i < dpf_net_size(r->net); i++)
        assert_true(w[i] == (dpf_pruner_mask(r->p)[i] ? w0[i] : 0));
}

static void test_sfp_soft_filter_pruning(void **state)
{
    (void)state;
    const double ratio = 0.35;   /* conv1 20 -> 7, conv2 50 -> 17, fc1 500 -> 175 */
    rig *r = rig_new("sfp", ratio, -1, -1, 2, 4);
    assert_false(dpf_pruner_masked_forward(r->p));
    assert_false(dpf_pruner_hard(r->p));
    assert_ptr_equal(dpf_net_forward_weights(r->net), dpf_net_weights(r->net));
    size_t n = dpf_net_size(r->net);
    dpf_real *w0 = malloc(n * sizeof *w0);
    int big[MAX_LAYERS] = {0};
    for (int epoch = 0; epoch < 2; epoch++) {
        for (int s = 0; s < 4; s++)
            rig_step(r, NULL, NULL, NULL);
        memcpy(w0, dpf_net_weights(r->net), n * sizeof *w0);
        rig_end_epoch(r);
        check_sfp_zeroing(r, w0, ratio);
        if (epoch == 1) {  /* the last zeroing defines the model; the grown filters are back */
            const dpf_param_info *L[MAX_LAYERS];
            int nl = prunable_layers(r->net, L);
            for (int l = 0; l < nl; l++) {
                assert_false(filter_masked(dpf_pruner_mask(r->p), L[l], big[l]));
            }
            break;
        }
        /* soft: the zeroed filters keep learning; after one step they are nonzero again */
        rig_step(r, NULL, NULL, NULL);
        const dpf_param_info *L[MAX_LAYERS];
        int nl = prunable_layers(r->net, L);
        for (int l = 0; l < nl; l++) {
            size_t len = L[l]->count / (size_t)L[l]->filters;
            int zeroed = 0, revived = 0;
            for (int f = 0; f < L[l]->filters; f++)
                if (filter_masked(dpf_pruner_mask(r->p), L[l], f)) {
                    zeroed++;
                    revived += filter_norm(dpf_net_weights(r->net), L[l], f) > 0;
                }
            print_message("sfp %s: %d of %d zeroed filters nonzero after one step\n", L[l]->name,
                          revived, zeroed);
            assert_true(zeroed > 0);
            assert_true(revived > 0);
            /* let the first zeroed filter grow to twice the layer's largest norm (not more:
               the net must not blow up): the next zeroing must keep it */
            double largest = 0;
            for (int f = 0; f < L[l]->filters; f++)
                largest = fmax(largest, filter_norm(dpf_net_weights(r->net), L[l], f));
            for (int f = 0; f < L[l]->filters; f++)
                if (filter_masked(dpf_pruner_mask(r->p), L[l], f)) {
                    big[l] = f;
                    for (size_t i = 0; i < len; i++)
                        dpf_net_weights(r->net)[L[l]->offset + (size_t)f * len + i] =
                            (dpf_real)(2 * largest / sqrt((double)len));
                    break;
                }
        }
    }
    free(w0);
    rig_free(r);
}

/* --sfp-ramp on (the default): the ratio of each epoch end follows the Zhu & Gupta ramp from 0
 * to the target at the second LR milestone (DPF paper A.2), then stays there. */
static void test_sfp_ramp(void **state)
{
    (void)state;
    const double target = 0.5;
    const int epochs = 4, spe = 4;   /* 16 steps; the ramp ends at 0.75 * 16 = 12 */
    rig *r = rig_new_ramp("sfp", target, -1, -1, epochs, spe, 1);
    size_t n = dpf_net_size(r->net);
    dpf_real *w0 = malloc(n * sizeof *w0);
    for (int epoch = 0; epoch < epochs; epoch++) {
        for (int s = 0; s < spe; s++)
            rig_step(r, NULL, NULL, NULL);
        memcpy(w0, dpf_net_weights(r->net), n * sizeof *w0);
        rig_end_epoch(r);
        double t = (double)(epoch + 1) * spe / 12.0;
        double ratio = t >= 1 ? target : target * (1 - (1 - t) * (1 - t) * (1 - t));
        print_message("sfp ramp: epoch %d ratio %.4f\n", epoch, ratio);
        assert_true(fabs(dpf_pruner_target(r->p) - ratio) < 1e-12);
        check_sfp_zeroing(r, w0, ratio);
    }
    /* epoch 0 pruned less than the target: conv1 7 of 20 (not 10) */
    free(w0);
    rig_free(r);
}

/* ---------------------------------------------------------------- ERK and the schedule */

static dpf_param_info shape_info(int ndim, int64_t a, int64_t b, int64_t c, int64_t d)
{
    dpf_param_info pi;
    memset(&pi, 0, sizeof pi);
    pi.ndim = ndim;
    pi.shape[0] = a;
    pi.shape[1] = b;
    pi.shape[2] = c;
    pi.shape[3] = d;
    pi.count = (size_t)(a * b * (ndim > 2 ? c * d : 1));
    pi.filters = (int)a;
    pi.prunable = 1;
    return pi;
}

static void check_erk(const dpf_param_info *layers, int n, double s, int erk,
                      const size_t *expected)
{
    const dpf_param_info *ptr[MAX_LAYERS];
    size_t active[MAX_LAYERS];
    for (int i = 0; i < n; i++)
        ptr[i] = &layers[i];
    assert_int_equal(dpf_sparse_layer_active(ptr, n, s, erk, active), DPF_OK);
    for (int i = 0; i < n; i++)
        assert_int_equal(active[i], expected[i]);
}

static void test_erk_known_shapes(void **state)
{
    (void)state;
    /* linear 10x10 (raw (10+10)/100 = 0.2) and 100x100 (raw 0.02); N = 10100.
     * s = 0.9: 1010 active, eps = 1010 / (0.2*100 + 0.02*10000) = 4.5909: densities 0.918 and
     * 0.0918 -> 91.8 and 918.2 -> floors 91 + 918, the one left over to the larger fraction. */
    dpf_param_info two[2] = {shape_info(2, 10, 10, 1, 1), shape_info(2, 100, 100, 1, 1)};
    check_erk(two, 2, 0.9, 1, (size_t[]){92, 918});
    /* s = 0.5: 5050 active, eps = 5050/220 = 22.95 makes the small layer's density 4.6 > 1: it
     * becomes dense, the big one gets the rest, 4950 (density 0.495) */
    check_erk(two, 2, 0.5, 1, (size_t[]){100, 4950});
    /* uniform: floor(s * count) pruned per layer */
    check_erk(two, 2, 0.9, 0, (size_t[]){10, 1000});
    /* conv 4x2x3x3 (raw 12/72) and linear 10x72 (raw 82/720); s = 0.8, N = 792: 159 active,
     * eps = 159/94: 20.30 and 138.70 -> 20 and 139; the small conv is denser (0.28 vs 0.19) */
    dpf_param_info mixed[2] = {shape_info(4, 4, 2, 3, 3), shape_info(2, 10, 72, 1, 1)};
    check_erk(mixed, 2, 0.8, 1, (size_t[]){20, 139});
    check_erk(mixed, 2, 0.8, 0, (size_t[]){15, 144});
    /* LeNet-5 on 1x16x16 (conv1 20x1x5x5, conv2 50x20x5x5, fc1 500x50), s = 0.8: 10100 of 50500
     * active, eps = 10100/661: 473.68, 1222.39, 8403.93 -> 474, 1222, 8404 */
    dpf_param_info lenet[3] = {shape_info(4, 20, 1, 5, 5), shape_info(4, 50, 20, 5, 5),
                               shape_info(2, 500, 50, 1, 1)};
    check_erk(lenet, 3, 0.8, 1, (size_t[]){474, 1222, 8404});
    check_erk(lenet, 3, 0.5, 1, (size_t[]){500, 3143, 21607});
}

static void test_drop_fraction_cosine(void **state)
{
    (void)state;
    assert_float_equal(dpf_sparse_drop_fraction(0.3, 0, 100), 0.3, 1e-12);
    assert_float_equal(dpf_sparse_drop_fraction(0.3, 50, 100), 0.15, 1e-12);
    /* 0.15 * (1 + cos(pi/4)) */
    assert_float_equal(dpf_sparse_drop_fraction(0.3, 25, 100), 0.15 * (1 + sqrt(0.5)), 1e-12);
    assert_float_equal(dpf_sparse_drop_fraction(0.3, 75, 100), 0.15 * (1 - sqrt(0.5)), 1e-12);
    assert_float_equal(dpf_sparse_drop_fraction(0.3, 100, 100), 0, 1e-12);
    assert_float_equal(dpf_sparse_drop_fraction(0.3, 120, 100), 0, 1e-12);
}

/* ---------------------------------------------------------------- SET / RigL */

/* The default ΔT is the RigL paper's 100 steps of its ~100k-step run, scaled to the run (never
 * below 16 steps): a 400-step run updates every 16 steps (19 times before T_end = 300) where an
 * absolute ΔT = 100 gave 3, a 10,000-step run every 16 (10 scaled), a 1M-step run every 1000;
 * the paper's own length keeps 100. --update-every still sets it. */
static void test_set_rigl_default_every_scaled(void **state)
{
    (void)state;
    assert_int_equal(dpf_sparse_scaled_every(100, 100000), 100);
    assert_int_equal(dpf_sparse_scaled_every(100, 10000), 16);
    assert_int_equal(dpf_sparse_scaled_every(100, 400), 16);
    assert_int_equal(dpf_sparse_scaled_every(100, 1000000), 1000);
    assert_int_equal(dpf_sparse_scaled_every(100, 250000), 250);
    static const char *const methods[] = {"set", "rigl"};
    for (int m = 0; m < 2; m++) {
        rig *r = rig_new(methods[m], 0.9, -1, -1, 10, 40); /* 400 steps */
        int updates = 0;
        for (int64_t t = 0; t < 400; t++) {
            r->c.step = t;
            double f = dpf_sparse_update_fraction(r->p, &r->c);
            assert_true((f >= 0) == (t % 16 == 0 && t < 300));
            updates += t > 0 && f >= 0;
        }
        assert_int_equal(updates, 18);
        rig_free(r);
        r = rig_new(methods[m], 0.9, 7, -1, 10, 40);
        r->c.step = 14;
        assert_true(dpf_sparse_update_fraction(r->p, &r->c) >= 0);
        r->c.step = 16;
        assert_true(dpf_sparse_update_fraction(r->p, &r->c) < 0);
        rig_free(r);
    }
}

/* Over 40 steps (4 epochs of 10, ΔT = 5, T_end = 30): per-layer active counts stay those of the
 * initial ERK mask, overall sparsity is floor(s N) / N, masked weights and momentum are 0, the
 * mask changes at update steps only and not after T_end. */
static void check_exact_sparsity(const char *method)
{
    const double s = 0.8;
    rig *r = rig_new(method, s, 5, -1, 4, 10);
    const dpf_param_info *L[MAX_LAYERS];
    int n = prunable_layers(r->net, L);
    size_t active0[MAX_LAYERS], expected[MAX_LAYERS] = {474, 1222, 8404}, total = 0;
    assert_int_equal(n, 3);
    for (int l = 0; l < n; l++) {
        active0[l] = count_active(dpf_pruner_mask(r->p), L[l]);
        assert_int_equal(active0[l], expected[l]);   /* ERK: the small conv1 is densest */
        total += L[l]->count;
    }
    uint8_t *prev = malloc(dpf_net_size(r->net));
    int changed_steps = 0;
    for (int t = 0; t < 40; t++) {
        memcpy(prev, dpf_pruner_mask(r->p), dpf_net_size(r->net));
        rig_step(r, NULL, NULL, NULL);
        if (t % 10 == 9)
            rig_end_epoch(r);
        size_t zeros = 0;
        for (int l = 0; l < n; l++) {
            assert_int_equal(count_active(dpf_pruner_mask(r->p), L[l]), active0[l]);
            zeros += L[l]->count - active0[l];
        }
        assert_int_equal(zeros, dpf_prune_count(s, total));
        const dpf_real *w = dpf_net_weights(r->net);
        for (size_t i = 0; i < dpf_net_size(r->net); i++)
            if (!dpf_pruner_mask(r->p)[i])
                assert_true(w[i] == 0 && r->opt.m[i] == 0);
        int changed = memcmp(prev, dpf_pruner_mask(r->p), dpf_net_size(r->net)) != 0;
        changed_steps += changed;
        if (t % 5 != 0 || t >= 30)
            assert_false(changed);
    }
    assert_int_equal(changed_steps, 6);   /* t = 0, 5, ..., 25 */
    free(prev);
    rig_free(r);
}

static void test_set_exact_sparsity(void **state)
{
    (void)state;
    check_exact_sparsity("set");
}

static void test_rigl_exact_sparsity(void **state)
{
    (void)state;
    check_exact_sparsity("rigl");
}

typedef struct snap {
    dpf_real *w;
    uint8_t *mask;
    dpf_real *g;
} snap;

/* RigL hook: replace the gradient of the prunable weights with distinct hand-made values. */
static void rigl_hand_gradient(rig *r, void *arg)
{
    snap *sn = arg;
    dpf_real *g = dpf_net_grads(r->net);
    const dpf_param_info *L[MAX_LAYERS];
    int n = prunable_layers(r->net, L);
    for (int l = 0; l < n; l++)
        for (size_t i = L[l]->offset; i < L[l]->offset + L[l]->count; i++) {
            /* a permutation of 0..count-1 (odd multiplier mod a power of two), signed */
            size_t j = ((i - L[l]->offset) * 2654435761u) % 65536u;
            g[i] = (dpf_real)((double)(j + 1) / 65536.0 * (i % 2 ? -1 : 1));
        }
    memcpy(sn->w, dpf_net_weights(r->net), dpf_net_size(r->net) * sizeof *sn->w);
    memcpy(sn->mask, dpf_pruner_mask(r->p), dpf_net_size(r->net));
    memcpy(sn->g, g, dpf_net_size(r->net) * sizeof *sn->g);
}

/* Index order helpers for the reference selection. */
static const dpf_real *sort_key;
static int by_abs_key(const void *a, const void *b)
{
    double x = fabs((double)sort_key[*(const size_t *)a]);
    double y = fabs((double)sort_key[*(const size_t *)b]);
    return (x > y) - (x < y);
}

/* The reference RigL update of one layer: new mask from the snapshot. */
static void reference_rigl(const snap *sn, const dpf_param_info *pi, double frac, uint8_t *out)
{
    size_t n = pi->count, off = pi->offset, na = 0, nc = 0, active = 0;
    size_t *act = malloc(n * sizeof *act), *cand = malloc(n * sizeof *cand);
    for (size_t i = 0; i < n; i++)
        active += sn->mask[off + i];
    size_t k = (size_t)floor(frac * (double)active);
    for (size_t i = 0; i < n; i++)
        if (sn->mask[off + i])
            act[na++] = off + i;
    sort_key = sn->w;
    qsort(act, na, sizeof *act, by_abs_key);               /* ascending |w| */
    memcpy(out + off, sn->mask + off, n);
    for (size_t j = 0; j < k; j++)
        out[act[j]] = 0;                                   /* drop the k smallest */
    for (size_t i = 0; i < n; i++)
        if (!out[off + i])
            cand[nc++] = off + i;
    sort_key = sn->g;
    qsort(cand, nc, sizeof *cand, by_abs_key);             /* ascending |g| */
    for (size_t j = 0; j < k; j++)
        out[cand[nc - 1 - j]] = 1;                         /* grow the k largest */
    free(act);
    free(cand);
}

static void test_rigl_grows_largest_gradient(void **state)
{
    (void)state;
    rig *r = rig_new("rigl", 0.8, 5, -1, 4, 10);   /* T_end = 30, updates at 0, 5, ..., 25 */
    size_t n = dpf_net_size(r->net);
    snap sn = {malloc(n * sizeof *sn.w), malloc(n), malloc(n * sizeof *sn.g)};
    uint8_t *expect = malloc(n);
    for (int t = 0; t < 5; t++)
        rig_step(r, NULL, NULL, NULL);
    assert_int_equal(r->c.step, 5);
    rig_step(r, rigl_hand_gradient, NULL, &sn);              /* the update at t = 5 */
    double frac = 0.3 / 2 * (1 + cos(3.14159265358979323846 * 5 / 30));
    const dpf_param_info *L[MAX_LAYERS];
    int nl = prunable_layers(r->net, L);
    memcpy(expect, sn.mask, n);
    for (int l = 0; l < nl; l++)
        reference_rigl(&sn, L[l], frac, expect);
    const dpf_real *w = dpf_net_weights(r->net);
    for (int l = 0; l < nl; l++) {
        size_t grown = 0, k = (size_t)floor(frac * (double)count_active(sn.mask, L[l]));
        for (size_t i = L[l]->offset; i < L[l]->offset + L[l]->count; i++) {
            assert_int_equal(dpf_pruner_mask(r->p)[i], expect[i]);
            if (dpf_pruner_mask(r->p)[i] && !sn.mask[i]) {
                grown++;
                assert_true(w[i] == 0);            /* new connections start at 0 ... */
                assert_true(r->opt.m[i] == 0);     /* ... with no momentum */
            }
        }
        print_message("rigl %s: k = %zu, %zu new connections\n", L[l]->name, k, grown);
        assert_true(k > 0 && grown > 0 && grown <= k);
    }
    free(sn.w);
    free(sn.mask);
    free(sn.g);
    free(expect);
    rig_free(r);
}

/* SET hook: the weights and mask right before the method's after_step (its update). */
static void set_snapshot(rig *r, void *arg)
{
    snap *sn = arg;
    memcpy(sn->w, dpf_net_weights(r->net), dpf_net_size(r->net) * sizeof *sn->w);
    memcpy(sn->mask, dpf_pruner_mask(r->p), dpf_net_size(r->net));
}

static void test_set_random_regrowth(void **state)
{
    (void)state;
    rig *r = rig_new("set", 0.8, 5, -1, 4, 10);
    size_t n = dpf_net_size(r->net);
    snap sn = {malloc(n * sizeof *sn.w), malloc(n), NULL};
    for (int t = 0; t < 5; t++)
        rig_step(r, NULL, NULL, NULL);
    rig_step(r, NULL, set_snapshot, &sn);                    /* the update at t = 5 */
    double frac = dpf_sparse_drop_fraction(0.3, 5, 30);
    const dpf_param_info *L[MAX_LAYERS];
    int nl = prunable_layers(r->net, L);
    const dpf_real *w = dpf_net_weights(r->net);
    for (int l = 0; l < nl; l++) {
        size_t k = (size_t)floor(frac * (double)count_active(sn.mask, L[l]));
        size_t dropped = 0, grown = 0, low = 0, off = L[l]->offset, cnt = L[l]->count;
        for (size_t i = off; i < off + cnt; i++) {
            int was = sn.mask[i], now = dpf_pruner_mask(r->p)[i];
            if (was && !now) {
                dropped++;
                /* only among the k smallest magnitudes: fewer than k active |w| are smaller */
                size_t smaller = 0;
                for (size_t j = off; j < off + cnt; j++)
                    smaller += sn.mask[j] && fabs((double)sn.w[j]) < fabs((double)sn.w[i]);
                assert_true(smaller < k);
            }
            if (!was && now) {       /* grown among the previously inactive, at 0 */
                grown++;
                low += i < off + cnt / 2;
                assert_true(w[i] == 0 && r->opt.m[i] == 0);
            }
        }
        print_message("set %s: k = %zu, dropped %zu, grown %zu (%zu in the lower half)\n",
                      L[l]->name, k, dropped, grown, low);
        /* as many grown as dropped (a dropped one grown back counts as neither), at most k */
        assert_int_equal(dropped, grown);
        assert_true(grown > 0 && grown <= k);
        if (grown >= 20)   /* random, not by position or magnitude */
            assert_true(low > 0 && low < grown);
    }
    free(sn.w);
    free(sn.mask);
    rig_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sfp_soft_filter_pruning),
        cmocka_unit_test(test_sfp_ramp),
        cmocka_unit_test(test_erk_known_shapes),
        cmocka_unit_test(test_drop_fraction_cosine),
        cmocka_unit_test(test_set_rigl_default_every_scaled),
        cmocka_unit_test(test_set_exact_sparsity),
        cmocka_unit_test(test_rigl_exact_sparsity),
        cmocka_unit_test(test_rigl_grows_largest_gradient),
        cmocka_unit_test(test_set_random_regrowth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
