/* test_method_dsr_sm.c — Dynamic Sparse Reparameterization and Sparse Momentum, driven through the
 * pruner's hooks exactly as src/train/trainer.c calls them, on a tiny MLP (1x8x8 -> 300 -> 100 ->
 * 10; prunable fc1 19200 and fc2 30000 weights) and random data. Checked: the sparse start at
 * exactly floor(s*N) zeros (uniform and ERK layer densities); after every prune-regrow cycle the
 * zeros are exactly floor(s*N) again, the mask changed and regrown weights start at 0; pruned
 * weights are 0 between updates; DSR: the adaptive threshold doubles / halves around Np and
 * regrowth goes to layers in proportion to their survivors; SM: the cosine-decayed prune rate,
 * regrowth at the zero positions of largest momentum, redistribution by mean momentum magnitude
 * and a full layer's overflow re-shared. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dpf/rng.h"
#include "prune/methods/sparse_init.h"
#include "prune/pruner.h"
#include "train/step.h"

#define BATCH 8
#define SIDE 8

typedef struct rig {
    dpf_train_config cfg;
    dpf_net *net;
    dpf_optimizer opt;
    dpf_pruner *p;
    dpf_phase ph[DPF_MAX_PHASES];
    dpf_prune_ctx ctx;
    float x[BATCH * SIDE * SIDE];
    int32_t y[BATCH];
    uint8_t *before; /* a copy of the mask, for comparisons */
} rig;

/* `model` on 1x8x8 with `method` at sparsity s; spe steps per epoch, `epochs` epochs (rig_start
 * then creates the pruner and begins phase 0: the sparse start). */
static void rig_init_model(rig *r, const char *model, const char *method, double s,
                           int update_every, int spe, int epochs)
{
    memset(r, 0, sizeof *r);
    dpf_train_config_defaults(&r->cfg);
    snprintf(r->cfg.method, sizeof r->cfg.method, "%s", method);
    r->cfg.sparsity = s;
    r->cfg.update_every = update_every;
    r->cfg.epochs = epochs;
    assert_int_equal(dpf_net_create(&r->net, model, 1, SIDE, SIDE, 10, BATCH), DPF_OK);
    dpf_net_init(r->net, 3);
    dpf_optim_config oc = dpf_optim_sgd_defaults();
    assert_int_equal(dpf_optim_init(&r->opt, &oc, dpf_net_size(r->net)), DPF_OK);
    dpf_rng g;
    dpf_rng_seed(&g, 11);
    for (int i = 0; i < BATCH * SIDE * SIDE; i++)
        r->x[i] = (float)dpf_rng_normal(&g);
    for (int i = 0; i < BATCH; i++)
        r->y[i] = (int32_t)dpf_rng_below(&g, 10);
    r->ctx = (dpf_prune_ctx){.net = r->net, .opt = &r->opt, .steps_per_epoch = spe,
                             .phase_steps = (int64_t)spe * epochs, .x = r->x, .y = r->y,
                             .batch = BATCH};
    r->before = malloc(dpf_net_size(r->net));
}

/* The mlp (the tests' usual net). */
static void rig_init(rig *r, const char *method, double s, int update_every, int spe, int epochs)
{
    rig_init_model(r, "mlp", method, s, update_every, spe, epochs);
}

static void rig_start(rig *r)
{
    assert_int_equal(dpf_pruner_create(&r->p, &r->cfg, r->net), DPF_OK);
    assert_int_equal(dpf_pruner_phases(r->p, r->ph), 1);
    assert_int_equal(dpf_pruner_begin_phase(r->p, &r->ctx, &r->ph[0]), DPF_OK);
}

static void rig_free(rig *r)
{
    dpf_pruner_free(r->p);
    dpf_optim_free(&r->opt);
    dpf_net_free(r->net);
    free(r->before);
}

/* One training step, the trainer's own (before_step, forward, loss, backward, after_backward,
 * optimiser step, after_step); the epoch end is separate: rig_end_epoch. */
static void rig_step(rig *r)
{
    double method_s = 0;
    dpf_train_step(r->p, &r->ctx, 0.05, NULL, &method_s);
}

/* The pruner's end of epoch; returns its statistics (their updates are the epoch's). */
static dpf_mask_stats rig_end_epoch(rig *r)
{
    dpf_mask_stats m;
    assert_int_equal(dpf_pruner_end_epoch(r->p, &r->ctx, &m), DPF_OK);
    r->ctx.epoch++;
    r->ctx.global_epoch++;
    return m;
}

static const dpf_param_info *param(const rig *r, const char *name)
{
    for (int t = 0; t < dpf_net_param_count(r->net); t++)
        if (strcmp(dpf_net_param(r->net, t)->name, name) == 0)
            return dpf_net_param(r->net, t);
    fail_msg("no parameter %s", name);
    return NULL;
}

static size_t zeros_in(const rig *r, const dpf_param_info *pi)
{
    size_t z = 0;
    for (size_t i = pi->offset; i < pi->offset + pi->count; i++)
        z += !dpf_pruner_mask(r->p)[i];
    return z;
}

/* Mask zeros over the prunable tensors; non-prunable elements must all be kept. */
static size_t mask_zeros(const rig *r)
{
    size_t z = 0;
    for (int t = 0; t < dpf_net_param_count(r->net); t++) {
        const dpf_param_info *pi = dpf_net_param(r->net, t);
        if (pi->prunable)
            z += zeros_in(r, pi);
        else
            assert_int_equal(zeros_in(r, pi), 0);
    }
    return z;
}

static size_t target_zeros(const rig *r)
{
    return dpf_prune_count(r->cfg.sparsity, dpf_pruner_prunable(r->p));
}

/* Every pruned weight is 0; with `momentum` its momentum too. */
static void assert_pruned_zero(const rig *r, int momentum)
{
    const dpf_real *w = dpf_net_weights(r->net);
    for (size_t i = 0; i < dpf_net_size(r->net); i++)
        if (!dpf_pruner_mask(r->p)[i]) {
            assert_true(w[i] == 0);
            if (momentum)
                assert_true(r->opt.m[i] == 0);
        }
}

/* Counts, within one tensor, elements that went 1 -> 0 (*pruned) and 0 -> 1 (*grown) since
 * r->before; asserts every grown weight starts at 0. */
static void changes(const rig *r, const dpf_param_info *pi, size_t *pruned, size_t *grown)
{
    const dpf_real *w = dpf_net_weights(r->net);
    *pruned = *grown = 0;
    for (size_t i = pi->offset; i < pi->offset + pi->count; i++) {
        *pruned += r->before[i] && !dpf_pruner_mask(r->p)[i];
        if (!r->before[i] && dpf_pruner_mask(r->p)[i]) {
            (*grown)++;
            assert_true(w[i] == 0);
        }
    }
}

static const dpf_mask_update *last_of(const dpf_mask_update *u, size_t n)
{
    assert_true(n > 0);
    return &u[n - 1];
}

/* The last mask update of the current epoch. */
static const dpf_mask_update *last_update(const dpf_pruner *p)
{
    size_t n;
    const dpf_mask_update *u = dpf_pruner_updates(p, &n);
    return last_of(u, n);
}

/* ---- allocation of a count to layers (shared by DSR and SM) ------------------------------------ */

static void check_alloc(const double *share, const size_t *cap, size_t total, int n,
                        const size_t *expect)
{
    size_t out[4];
    double scratch[4];
    dpf_dst_allocate(out, share, cap, total, n, scratch);
    for (int l = 0; l < n; l++)
        assert_int_equal(out[l], expect[l]);
}

static void test_allocate(void **state)
{
    (void)state;
    /* proportional */
    check_alloc((double[]){3, 1}, (size_t[]){100, 100}, 100, 2, (size_t[]){75, 25});
    /* remainders go to the largest fractions (ties: lower index) */
    check_alloc((double[]){0.4, 0.6}, (size_t[]){9, 9}, 1, 2, (size_t[]){0, 1});
    check_alloc((double[]){1, 1, 1}, (size_t[]){9, 9, 9}, 10, 3, (size_t[]){4, 3, 3});
    check_alloc((double[]){1, 2, 2}, (size_t[]){9, 9, 9}, 7, 3, (size_t[]){1, 3, 3});
    /* a layer at its cap: the overflow is re-shared in proportion among the others */
    check_alloc((double[]){98, 1, 1}, (size_t[]){5, 100, 100}, 50, 3, (size_t[]){5, 23, 22});
    check_alloc((double[]){8, 1, 3}, (size_t[]){2, 100, 1}, 20, 3, (size_t[]){2, 17, 1});
    /* nothing left with a share: the free room becomes the share */
    check_alloc((double[]){1, 0}, (size_t[]){2, 10}, 5, 2, (size_t[]){2, 3});
    check_alloc((double[]){0, 0}, (size_t[]){3, 4}, 5, 2, (size_t[]){2, 3});
    /* everything */
    check_alloc((double[]){1, 5}, (size_t[]){3, 4}, 7, 2, (size_t[]){3, 4});
}

/* ---- the sparse start (shared by DSR and SM) --------------------------------------------------- */

static void test_sparse_start_uniform_and_erk(void **state)
{
    (void)state;
    for (int erk = 0; erk <= 1; erk++) {
        rig r;
        rig_init(&r, erk ? "sm" : "dsr", 0.8, -1, 4, 2);
        r.cfg.density_erk = erk;
        rig_start(&r);
        assert_int_equal(mask_zeros(&r), target_zeros(&r));
        assert_pruned_zero(&r, 1);
        const dpf_param_info *f1 = param(&r, "fc1.weight"), *f2 = param(&r, "fc2.weight");
        double k1 = (double)(f1->count - zeros_in(&r, f1)), k2 = (double)(f2->count - zeros_in(&r, f2));
        if (erk) /* kept ~ sum of dims: (300 + 64) : (100 + 300) */
            assert_true(fabs(k1 / k2 - 364.0 / 400.0) < 2e-3);
        else     /* the same density in every layer */
            assert_true(fabs(k1 / (double)f1->count - k2 / (double)f2->count) < 1e-3);
        rig_free(&r);
    }
}

/* ---- DSR -------------------------------------------------------------------------------------- */

/* Reallocation every 5 steps (4 epochs x 5 steps: at steps 5, 10, 15, not after 95%): exact
 * sparsity and a changed mask after each, grown weights at 0, pruned weights 0 in between. */
static void test_dsr_cycles(void **state)
{
    (void)state;
    rig r;
    rig_init(&r, "dsr", 0.8, 5, 5, 4);
    rig_start(&r);
    assert_int_equal(dpf_pruner_update_count(r.p), 1); /* the sparse start */
    int cycles = 0;
    for (int e = 0; e < 4; e++) {
        for (int s = 0; s < 5; s++) {
            int64_t before_updates = dpf_pruner_update_count(r.p);
            memcpy(r.before, dpf_pruner_mask(r.p), dpf_net_size(r.net));
            rig_step(&r);
            assert_pruned_zero(&r, 1);
            int64_t done = r.ctx.step - 1;
            int expect = done > 0 && done % 5 == 0 && done < 19;
            assert_int_equal(dpf_pruner_update_count(r.p) - before_updates, expect);
            if (!expect) {
                assert_memory_equal(r.before, dpf_pruner_mask(r.p), dpf_net_size(r.net));
                continue;
            }
            cycles++;
            assert_int_equal(mask_zeros(&r), target_zeros(&r));
            size_t pr = 0, gr = 0, p1, g1;
            for (int t = 0; t < dpf_net_param_count(r.net); t++)
                if (dpf_net_param(r.net, t)->prunable) {
                    changes(&r, dpf_net_param(r.net, t), &p1, &g1);
                    pr += p1, gr += g1;
                }
            assert_true(pr > 0);
            assert_int_equal(pr, gr);
            assert_int_equal(last_update(r.p)->reallocated, pr);
        }
        rig_end_epoch(&r);
    }
    assert_int_equal(cycles, 3);
    rig_free(&r);
}

/* Sets every active prunable weight to +-mag (the sign of the current value). */
static void set_active(rig *r, double mag)
{
    dpf_real *w = dpf_net_weights(r->net);
    for (int t = 0; t < dpf_net_param_count(r->net); t++) {
        const dpf_param_info *pi = dpf_net_param(r->net, t);
        if (pi->prunable)
            for (size_t i = pi->offset; i < pi->offset + pi->count; i++)
                if (dpf_pruner_mask(r->p)[i])
                    w[i] = (dpf_real)(w[i] < 0 ? -mag : mag);
    }
}

/* Makes the first `k` active weights of a tensor tiny (below H = 1e-3). */
static void make_tiny(rig *r, const dpf_param_info *pi, size_t k)
{
    dpf_real *w = dpf_net_weights(r->net);
    for (size_t i = pi->offset; i < pi->offset + pi->count && k > 0; i++)
        if (dpf_pruner_mask(r->p)[i]) {
            w[i] = (dpf_real)1e-4;
            k--;
        }
    assert_int_equal(k, 0);
}

/* Runs the after_step hook at a reallocation step without training (weights as constructed). */
static void dsr_cycle_now(rig *r, int64_t step)
{
    memcpy(r->before, dpf_pruner_mask(r->p), dpf_net_size(r->net));
    r->ctx.step = step;
    dpf_pruner_after_step(r->p, &r->ctx);
}

/* fc1 (3840 active) loses 3000 to the threshold, fc2 (6000 active) none: the 3000 come back in
 * proportion to the survivors, 840 : 6000 — fc2 gets most, fc1 far fewer than it lost — never at
 * a just-pruned position. */
static void test_dsr_regrowth_follows_survivors(void **state)
{
    (void)state;
    rig r;
    rig_init(&r, "dsr", 0.8, 5, 10, 10);
    rig_start(&r);
    const dpf_param_info *f1 = param(&r, "fc1.weight"), *f2 = param(&r, "fc2.weight");
    assert_int_equal(f1->count - zeros_in(&r, f1), 3840);
    assert_int_equal(f2->count - zeros_in(&r, f2), 6000);
    set_active(&r, 0.5);
    make_tiny(&r, f1, 3000);
    dsr_cycle_now(&r, 5);
    size_t p1, g1, p2, g2;
    changes(&r, f1, &p1, &g1);
    changes(&r, f2, &p2, &g2);
    assert_int_equal(p1, 3000);
    assert_int_equal(p2, 0);
    assert_int_equal(g1 + g2, 3000);
    double e1 = 3000.0 * 840 / 6840; /* 368.4 */
    assert_true(fabs((double)g1 - e1) < 1.0);
    assert_true(g2 > 7 * g1);
    assert_int_equal(mask_zeros(&r), target_zeros(&r));
    const dpf_real *w = dpf_net_weights(r.net);
    for (size_t i = f1->offset; i < f1->offset + f1->count; i++)
        if (w[i] == (dpf_real)1e-4)       /* a just-pruned weight ... */
            fail_msg("pruned weight %zu kept its value", i);
    for (size_t i = f1->offset; i < f1->offset + f1->count; i++)
        if (r.before[i] && !dpf_pruner_mask(r.p)[i]) /* ... is zero, and was not regrown */
            assert_true(w[i] == 0);
    assert_pruned_zero(&r, 1);
    rig_free(&r);
}

/* Weights all at 1.5e-3: H = 1e-3 prunes nothing (K < 0.9 Np), so H doubles; at 2e-3 everything
 * but one weight per layer goes (K > 1.1 Np), so H halves. Sparsity stays exact throughout. */
static void test_dsr_threshold_adapts(void **state)
{
    (void)state;
    rig r;
    rig_init(&r, "dsr", 0.8, 5, 10, 10);
    rig_start(&r);
    set_active(&r, 1.5e-3);
    dsr_cycle_now(&r, 5);
    assert_float_equal(last_update(r.p)->threshold, 1e-3, 1e-12);
    assert_int_equal(last_update(r.p)->reallocated, 0);
    assert_memory_equal(r.before, dpf_pruner_mask(r.p), dpf_net_size(r.net));
    dsr_cycle_now(&r, 10);
    assert_float_equal(last_update(r.p)->threshold, 2e-3, 1e-12);
    assert_int_equal(last_update(r.p)->reallocated, 3840 + 6000 - 2);
    assert_int_equal(mask_zeros(&r), target_zeros(&r));
    const dpf_param_info *f1 = param(&r, "fc1.weight");
    size_t p1, g1;
    changes(&r, f1, &p1, &g1);
    assert_int_equal(p1, 3839); /* the layer keeps one weight */
    dsr_cycle_now(&r, 15);
    assert_float_equal(last_update(r.p)->threshold, 1e-3, 1e-12);
    assert_int_equal(mask_zeros(&r), target_zeros(&r));
    rig_free(&r);
}

/* --prune-rate sets Np as a fraction of the active weights: 0.01 x 9840 = 98; 40 pruned is below
 * 0.9 Np (H doubles), 200 is above 1.1 Np (H halves). */
static void test_dsr_prune_rate_sets_np(void **state)
{
    (void)state;
    rig r;
    rig_init(&r, "dsr", 0.8, 5, 10, 10);
    r.cfg.prune_rate = 0.01;
    rig_start(&r);
    const dpf_param_info *f2 = param(&r, "fc2.weight");
    set_active(&r, 0.5);
    make_tiny(&r, f2, 40);
    dsr_cycle_now(&r, 5);                   /* H: 1e-3 -> 2e-3 */
    set_active(&r, 0.5);
    make_tiny(&r, f2, 200);
    dsr_cycle_now(&r, 10);                  /* pruned with H = 2e-3; H -> 1e-3 */
    assert_float_equal(last_update(r.p)->threshold, 2e-3, 1e-12);
    set_active(&r, 0.5);
    make_tiny(&r, f2, 95);
    dsr_cycle_now(&r, 15);                  /* within 10% of Np: H stays */
    assert_float_equal(last_update(r.p)->threshold, 1e-3, 1e-12);
    dsr_cycle_now(&r, 20);
    assert_float_equal(last_update(r.p)->threshold, 1e-3, 1e-12);
    rig_free(&r);
}

/* The default Np is 1.38% of the prunable weights: 679 of 49200. 650 pruned lies within 10% (H
 * stays), 600 below (H doubles). */
static void test_dsr_default_np(void **state)
{
    (void)state;
    rig r;
    rig_init(&r, "dsr", 0.8, 5, 10, 10);
    rig_start(&r);
    const dpf_param_info *f2 = param(&r, "fc2.weight");
    set_active(&r, 0.5);
    make_tiny(&r, f2, 650);
    dsr_cycle_now(&r, 5);
    set_active(&r, 0.5);
    make_tiny(&r, f2, 600);
    dsr_cycle_now(&r, 10);
    assert_float_equal(last_update(r.p)->threshold, 1e-3, 1e-12);
    set_active(&r, 0.5);
    dsr_cycle_now(&r, 15);
    assert_float_equal(last_update(r.p)->threshold, 2e-3, 1e-12);
    rig_free(&r);
}

/* Reallocations among steps 1..steps-1 of a phase of `steps` steps (after_step at each). */
static int dsr_reallocations(rig *r, int64_t steps)
{
    int n = 0;
    for (int64_t t = 1; t < steps; t++) {
        int64_t n0 = dpf_pruner_update_count(r->p);
        dsr_cycle_now(r, t);
        n += (int)(dpf_pruner_update_count(r->p) - n0);
    }
    return n;
}

/* The authors' period schedule (100 steps, doubling at 12.5%, 40%, 70% of training, none from
 * 95% on) as they ran it in 100,000 steps, and scaled to shorter runs: a 400-step run (5,000
 * images for 10 epochs) reallocates every 16 steps instead of never; a constant period with
 * --update-every. */
static void test_dsr_schedule(void **state)
{
    (void)state;
    static const int64_t at[] = {100, 150, 12400, 12500, 12600, 12700, 40400, 40600,
                                 70000, 71200, 94400, 95200};
    static const int expect[] = {1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0};
    rig r;
    rig_init(&r, "dsr", 0.8, -1, 1000, 100); /* 100,000 steps: the paper's own run */
    rig_start(&r);
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        int64_t n0 = dpf_pruner_update_count(r.p);
        dsr_cycle_now(&r, at[i]);
        assert_int_equal(dpf_pruner_update_count(r.p) - n0, expect[i]);
    }
    rig_free(&r);
    rig_init(&r, "dsr", 0.8, -1, 40, 10); /* 400 steps: every 16 until 380 (95%) */
    rig_start(&r);
    assert_int_equal(dsr_reallocations(&r, 400), 23);
    rig_free(&r);
    rig_init(&r, "dsr", 0.8, -1, 100, 100); /* 10,000 steps: 16 (10 scaled), 20, 40, 80 */
    rig_start(&r);
    int n = dsr_reallocations(&r, 10000); /* 1249/16 + 2750/20 + 3000/40 + 2500/80 */
    assert_int_equal(n, 78 + 137 + 75 + 31);
    rig_free(&r);
    rig_init(&r, "dsr", 0.8, 19, 10, 10); /* 100 steps: 19, 38, 57, 76; 95 is at 95% */
    rig_start(&r);
    for (int64_t t = 1; t < 100; t++) {
        int64_t n0 = dpf_pruner_update_count(r.p);
        dsr_cycle_now(&r, t);
        assert_int_equal(dpf_pruner_update_count(r.p) - n0, t % 19 == 0 && t < 95);
    }
    rig_free(&r);
}

/* Np is relative to the active weights: at 99% sparsity 1.38% of the 49200 weights (679) would
 * exceed the 492 active ones; Np = 13.8% of them = 68 instead, so 68 pruned keeps H (within 10%)
 * and 40 doubles it. */
static void test_dsr_np_relative_to_active(void **state)
{
    (void)state;
    rig r;
    rig_init(&r, "dsr", 0.99, 5, 10, 10);
    rig_start(&r);
    const dpf_param_info *f2 = param(&r, "fc2.weight");
    assert_int_equal(f2->count - zeros_in(&r, f2), 300);
    set_active(&r, 0.5);
    make_tiny(&r, f2, 68);
    dsr_cycle_now(&r, 5);
    assert_int_equal(last_update(r.p)->reallocated, 68);
    assert_int_equal(mask_zeros(&r), target_zeros(&r));
    set_active(&r, 0.5);
    make_tiny(&r, f2, 40);
    dsr_cycle_now(&r, 10);
    assert_float_equal(last_update(r.p)->threshold, 1e-3, 1e-12); /* 68: H stayed */
    set_active(&r, 0.5);
    dsr_cycle_now(&r, 15);
    assert_float_equal(last_update(r.p)->threshold, 2e-3, 1e-12); /* 40: H doubled */
    rig_free(&r);
}

/* As in the DSR paper's models, the first convolution and the 1x1 projection shortcuts stay
 * dense through the sparse start and every reallocation; the target sparsity is that of the
 * other prunable tensors, exactly. */
static void test_dsr_keeps_first_conv_and_projections_dense(void **state)
{
    (void)state;
    static const char *const dense[] = {"conv1.weight", "layer2.0.downsample.0.weight",
                                        "layer3.0.downsample.0.weight"};
    rig r;
    rig_init_model(&r, "resnet20", "dsr", 0.9, 5, 10, 10);
    rig_start(&r);
    size_t kept = 0, zeros = 0; /* uniform densities: floor(0.9 N_l) in every other layer */
    for (int i = 0; i < 3; i++)
        kept += param(&r, dense[i])->count;
    for (int t = 0; t < dpf_net_param_count(r.net); t++) {
        const dpf_param_info *pi = dpf_net_param(r.net, t);
        int is_dense = 0;
        for (int i = 0; i < 3; i++)
            is_dense |= strcmp(pi->name, dense[i]) == 0;
        if (pi->prunable && !is_dense)
            zeros += dpf_prune_count(0.9, pi->count);
    }
    assert_int_equal(dpf_pruner_kept_dense(r.p), kept);
    for (int cycle = 0; cycle <= 3; cycle++) {
        if (cycle > 0) {
            make_tiny(&r, param(&r, "layer1.0.conv1.weight"), 50);
            dsr_cycle_now(&r, 5 * cycle);
            assert_true(last_update(r.p)->reallocated >= 50);
        }
        for (int i = 0; i < 3; i++)
            assert_int_equal(zeros_in(&r, param(&r, dense[i])), 0);
        assert_int_equal(mask_zeros(&r), zeros);
        assert_true(zeros_in(&r, param(&r, "layer1.0.conv1.weight")) > 0);
    }
    rig_free(&r);
}

/* Below 50% sparsity the free room can be smaller than what was pruned: then just-pruned positions
 * may be regrown too (at 0), and the sparsity stays exact. */
static void test_dsr_low_sparsity(void **state)
{
    (void)state;
    rig r;
    rig_init(&r, "dsr", 0.3, 5, 10, 10);
    rig_start(&r);
    set_active(&r, 1e-4); /* everything below H: all but one weight per layer go */
    dsr_cycle_now(&r, 5);
    assert_int_equal(last_update(r.p)->reallocated, 13440 + 21000 - 2);
    assert_int_equal(mask_zeros(&r), target_zeros(&r));
    const dpf_real *w = dpf_net_weights(r.net);
    size_t tiny = 0;
    for (size_t i = 0; i < dpf_net_size(r.net); i++)
        tiny += w[i] == (dpf_real)1e-4 || w[i] == (dpf_real)-1e-4;
    assert_int_equal(tiny, 2); /* the weight each layer kept; every regrown one is 0 */
    assert_pruned_zero(&r, 1);
    rig_free(&r);
}

/* ---- SM --------------------------------------------------------------------------------------- */

/* One update per epoch (3 epochs x 4 steps): prune rate 0.5 (1 + cos(pi t/T)) / 2, exact
 * sparsity, a changed mask, grown weights at 0 and zero momentum at every zero weight after each
 * update; pruned weights 0 between updates while their momentum accumulates the gradient. */
static void test_sm_epoch_updates(void **state)
{
    (void)state;
    rig r;
    rig_init(&r, "sm", 0.8, -1, 4, 3);
    rig_start(&r);
    const double kpi = 3.14159265358979323846;
    int zero_momentum_grew = 0;
    for (int e = 0; e < 3; e++) {
        for (int s = 0; s < 4; s++) {
            memcpy(r.before, dpf_pruner_mask(r.p), dpf_net_size(r.net));
            rig_step(&r);
            assert_pruned_zero(&r, 0);
            assert_memory_equal(r.before, dpf_pruner_mask(r.p), dpf_net_size(r.net)); /* no update inside an epoch */
            for (size_t i = 0; i < dpf_net_size(r.net); i++)
                zero_momentum_grew |= !dpf_pruner_mask(r.p)[i] && r.opt.m[i] != 0;
        }
        memcpy(r.before, dpf_pruner_mask(r.p), dpf_net_size(r.net));
        dpf_mask_stats m = rig_end_epoch(&r);
        assert_int_equal(mask_zeros(&r), target_zeros(&r));
        assert_pruned_zero(&r, e < 2);
        if (e == 2) { /* t = T: the rate has decayed to 0 */
            assert_int_equal(m.n_updates, 0);
            assert_memory_equal(r.before, dpf_pruner_mask(r.p), dpf_net_size(r.net));
        } else {
            double rate = 0.25 * (1 + cos(kpi * (e + 1) / 3.0));
            assert_float_equal(last_of(m.updates, m.n_updates)->prune_rate, rate, 1e-12);
            size_t p1, g1, p2, g2;
            changes(&r, param(&r, "fc1.weight"), &p1, &g1);
            changes(&r, param(&r, "fc2.weight"), &p2, &g2);
            assert_true(p1 > 0 && p2 > 0);
            assert_int_equal(p1 + p2, g1 + g2);
            /* pruned: ceil(rate * active) in each layer (3840 and 6000 at the start; then as
             * redistribution left them) */
            size_t k = 0;
            for (int t = 0; t < dpf_net_param_count(r.net); t++) {
                const dpf_param_info *pi = dpf_net_param(r.net, t);
                size_t active = 0;
                for (size_t i = pi->offset; pi->prunable && i < pi->offset + pi->count; i++)
                    active += r.before[i];
                k += (size_t)ceil(rate * (double)active - 1e-9);
            }
            assert_int_equal(last_of(m.updates, m.n_updates)->reallocated, k);
        }
    }
    assert_true(zero_momentum_grew);
    rig_free(&r);
}

/* With --update-every 3 the update runs after steps 3 and 6 of 8 (not at epoch ends); with 0, at
 * the end of every epoch (as with the default). */
static void test_sm_every_n_steps(void **state)
{
    (void)state;
    rig r;
    rig_init(&r, "sm", 0.8, 3, 4, 2);
    rig_start(&r);
    for (int e = 0; e < 2; e++) {
        for (int s = 0; s < 4; s++) {
            int64_t n0 = dpf_pruner_update_count(r.p);
            rig_step(&r);
            assert_int_equal(dpf_pruner_update_count(r.p) - n0, r.ctx.step % 3 == 0);
            assert_int_equal(mask_zeros(&r), target_zeros(&r));
        }
        int64_t n0 = dpf_pruner_update_count(r.p);
        rig_end_epoch(&r);
        assert_int_equal(dpf_pruner_update_count(r.p), n0);
    }
    rig_free(&r);
    rig_init(&r, "sm", 0.8, 0, 4, 2);
    rig_start(&r);
    for (int s = 0; s < 4; s++)
        rig_step(&r);
    assert_int_equal(dpf_pruner_update_count(r.p), 1);
    rig_end_epoch(&r);
    assert_int_equal(dpf_pruner_update_count(r.p), 2);
    rig_free(&r);
}

/* Hand-made momentum: active weights of fc1 3.0, of fc2 1.0 (shares 3/4 and 1/4); zero weights
 * get distinct values in [10, 20) except every 7th, which gets 0. Regrowth must take exactly the
 * g_l largest zero positions of each layer, with g ~ K * (3/4, 1/4). */
static void fill_momentum(rig *r, const dpf_param_info *pi, double active, dpf_rng *g)
{
    for (size_t i = pi->offset; i < pi->offset + pi->count; i++)
        r->opt.m[i] = (dpf_real)(dpf_pruner_mask(r->p)[i] ? active
                                 : i % 7 == 0 ? 0.0 : 10 + 10 * dpf_rng_uniform(g));
}

/* Among a tensor's positions that were zero before the update, the g grown ones must hold the
 * largest |momentum|: every grown one above every one left at zero. */
static void assert_top_momentum(const rig *r, const dpf_param_info *pi, const dpf_real *mom,
                                size_t g)
{
    double lo_grown = INFINITY, hi_left = -INFINITY;
    size_t grown = 0;
    for (size_t i = pi->offset; i < pi->offset + pi->count; i++) {
        if (r->before[i])
            continue; /* was active: its momentum is the layer value, below every zero's */
        double v = fabs((double)mom[i]);
        if (dpf_pruner_mask(r->p)[i]) {
            grown++;
            lo_grown = v < lo_grown ? v : lo_grown;
        } else {
            hi_left = v > hi_left ? v : hi_left;
        }
    }
    assert_int_equal(grown, g);
    assert_true(lo_grown > hi_left);
    assert_true(lo_grown >= 10);
}

static void test_sm_momentum_growth_and_redistribution(void **state)
{
    (void)state;
    rig r;
    rig_init(&r, "sm", 0.8, -1, 10, 10);
    rig_start(&r);
    const dpf_param_info *f1 = param(&r, "fc1.weight"), *f2 = param(&r, "fc2.weight");
    dpf_rng g;
    dpf_rng_seed(&g, 5);
    fill_momentum(&r, f1, 3.0, &g);
    fill_momentum(&r, f2, -1.0, &g);
    size_t n = dpf_net_size(r.net);
    dpf_real *mom = malloc(n * sizeof *mom);
    memcpy(mom, r.opt.m, n * sizeof *mom);
    memcpy(r.before, dpf_pruner_mask(r.p), n);
    r.ctx.step = 20; /* t/T = 0.2: rate 0.25 (1 + cos(0.2 pi)) */
    rig_end_epoch(&r);
    double rate = 0.25 * (1 + cos(0.2 * 3.14159265358979323846));
    size_t k = (size_t)ceil(rate * 3840 - 1e-9) + (size_t)ceil(rate * 6000 - 1e-9);
    size_t p1, g1, p2, g2;
    changes(&r, f1, &p1, &g1);
    changes(&r, f2, &p2, &g2);
    assert_int_equal(p1 + p2, k);
    assert_int_equal(g1 + g2, k);
    assert_true(fabs((double)g1 - 0.75 * (double)k) <= 1.0);
    assert_true(fabs((double)g2 - 0.25 * (double)k) <= 1.0);
    assert_top_momentum(&r, f1, mom, g1);
    assert_top_momentum(&r, f2, mom, g2);
    assert_int_equal(mask_zeros(&r), target_zeros(&r));
    assert_pruned_zero(&r, 1);
    free(mom);
    rig_free(&r);
}

/* At sparsity 0.05 and rate 0.5, fc1 (momentum share 0.99 of K = 9120 + 14250) cannot take its
 * share: it is filled to dense and the overflow goes to fc2; the total stays exact. */
static void test_sm_overflow_reshared(void **state)
{
    (void)state;
    rig r;
    rig_init(&r, "sm", 0.05, -1, 10, 10);
    rig_start(&r);
    const dpf_param_info *f1 = param(&r, "fc1.weight"), *f2 = param(&r, "fc2.weight");
    dpf_rng g;
    dpf_rng_seed(&g, 6);
    fill_momentum(&r, f1, 99.0, &g);
    fill_momentum(&r, f2, 1.0, &g);
    memcpy(r.before, dpf_pruner_mask(r.p), dpf_net_size(r.net));
    r.ctx.step = 0; /* rate 0.5 */
    rig_end_epoch(&r);
    assert_int_equal(zeros_in(&r, f1), 0); /* fc1 took all it could: 960 + 9120 */
    const dpf_real *w = dpf_net_weights(r.net);
    size_t nonzero = 0;
    for (size_t i = f1->offset; i < f1->offset + f1->count; i++)
        nonzero += w[i] != 0;
    assert_int_equal(nonzero, 18240 - 9120); /* the survivors; every regrown weight is 0 */
    assert_int_equal(mask_zeros(&r), target_zeros(&r));
    assert_int_equal(zeros_in(&r, f2), target_zeros(&r)); /* the overflow went to fc2 */
    rig_free(&r);
}

static void test_sm_needs_momentum(void **state)
{
    (void)state;
    rig r;
    rig_init(&r, "sm", 0.8, -1, 4, 2);
    r.opt.cfg.momentum = 0;
    r.opt.cfg.nesterov = 0;
    assert_int_equal(dpf_pruner_create(&r.p, &r.cfg, r.net), DPF_OK);
    assert_int_equal(dpf_pruner_phases(r.p, r.ph), 1);
    assert_int_equal(dpf_pruner_begin_phase(r.p, &r.ctx, &r.ph[0]), DPF_ERR_ARG);
    rig_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocate),
        cmocka_unit_test(test_sparse_start_uniform_and_erk),
        cmocka_unit_test(test_dsr_cycles),
        cmocka_unit_test(test_dsr_regrowth_follows_survivors),
        cmocka_unit_test(test_dsr_threshold_adapts),
        cmocka_unit_test(test_dsr_prune_rate_sets_np),
        cmocka_unit_test(test_dsr_default_np),
        cmocka_unit_test(test_dsr_schedule),
        cmocka_unit_test(test_dsr_np_relative_to_active),
        cmocka_unit_test(test_dsr_keeps_first_conv_and_projections_dense),
        cmocka_unit_test(test_dsr_low_sparsity),
        cmocka_unit_test(test_sm_epoch_updates),
        cmocka_unit_test(test_sm_every_n_steps),
        cmocka_unit_test(test_sm_momentum_growth_and_redistribution),
        cmocka_unit_test(test_sm_overflow_reshared),
        cmocka_unit_test(test_sm_needs_momentum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
