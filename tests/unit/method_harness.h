/* method_harness.h — drives a pruning method's hooks on a tiny net exactly as src/train/trainer.c
 * does, on fixed random data, so tests can check each method's defining property step by step. */
#ifndef DPF_TEST_METHOD_HARNESS_H
#define DPF_TEST_METHOD_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpf/rng.h"
#include "prune/pruner.h"

#define H_BATCH 8

typedef struct harness {
    dpf_train_config cfg;
    dpf_net *net;
    dpf_optimizer opt;
    dpf_pruner *p;
    dpf_phase phases[DPF_MAX_PHASES];
    int n_phases;
    dpf_prune_ctx ctx;
    float *x;
    int32_t y[H_BATCH];
    double lr;
} harness;

/* model on 1 x side x side inputs, 10 classes; cfg from the defaults with method and sparsity;
 * `steps_per_epoch` fixes the phase length for the schedules. */
static inline void h_init(harness *h, const char *model, int side, const char *method,
                          double sparsity, int steps_per_epoch, int epochs)
{
    memset(h, 0, sizeof *h);
    dpf_train_config_defaults(&h->cfg);
    snprintf(h->cfg.method, sizeof h->cfg.method, "%s", method);
    h->cfg.sparsity = sparsity;
    h->cfg.epochs = epochs;
    if (dpf_net_create(&h->net, model, 1, side, side, 10, H_BATCH) != DPF_OK)
        abort();
    dpf_net_init(h->net, 5);
    dpf_optim_config oc = dpf_optim_sgd_defaults();
    if (dpf_optim_init(&h->opt, &oc, dpf_net_size(h->net)) != DPF_OK)
        abort();
    dpf_rng r;
    dpf_rng_seed(&r, 9);
    h->x = malloc((size_t)H_BATCH * side * side * sizeof *h->x);
    for (int i = 0; i < H_BATCH * side * side; i++)
        h->x[i] = (float)dpf_rng_normal(&r);
    for (int i = 0; i < H_BATCH; i++)
        h->y[i] = (int32_t)dpf_rng_below(&r, 10);
    h->ctx = (dpf_prune_ctx){.net = h->net, .opt = &h->opt, .steps_per_epoch = steps_per_epoch,
                             .x = h->x, .y = h->y, .batch = H_BATCH};
    h->lr = 0.05;
}

/* Creates the pruner (after the test adjusted h->cfg) and begins phase 0. */
static inline dpf_status h_start(harness *h)
{
    dpf_status st = dpf_pruner_create(&h->p, &h->cfg, h->net);
    if (st != DPF_OK)
        return st;
    h->n_phases = dpf_pruner_phases(h->p, h->phases);
    h->ctx.phase_steps = (int64_t)h->phases[0].epochs * h->ctx.steps_per_epoch;
    return dpf_pruner_begin_phase(h->p, &h->ctx, &h->phases[0]);
}

static inline void h_step(harness *h)
{
    dpf_pruner_before_step(h->p, &h->ctx);
    dpf_net_forward(h->net, h->x, H_BATCH, 1);
    dpf_net_loss(h->net, h->y, NULL);
    dpf_net_backward(h->net);
    dpf_pruner_after_backward(h->p, &h->ctx);
    dpf_optim_step(&h->opt, dpf_net_weights(h->net), dpf_net_grads(h->net), h->lr);
    dpf_pruner_after_step(h->p, &h->ctx);
    h->ctx.step++;
    if (h->ctx.step % h->ctx.steps_per_epoch == 0) {
        dpf_mask_stats m;
        dpf_pruner_end_epoch(h->p, &h->ctx, &m);
        h->ctx.epoch++;
        h->ctx.global_epoch++;
    }
}

/* Ends the current phase and begins the next one (fresh optimiser, step 0). */
static inline dpf_status h_next_phase(harness *h)
{
    dpf_status st = dpf_pruner_end_phase(h->p, &h->ctx);
    if (st != DPF_OK || h->ctx.phase + 1 >= h->n_phases)
        return st;
    h->ctx.phase++;
    h->ctx.step = 0;
    h->ctx.epoch = 0;
    h->ctx.phase_steps = (int64_t)h->phases[h->ctx.phase].epochs * h->ctx.steps_per_epoch;
    dpf_optim_reset(&h->opt);
    return dpf_pruner_begin_phase(h->p, &h->ctx, &h->phases[h->ctx.phase]);
}

static inline void h_free(harness *h)
{
    dpf_pruner_free(h->p);
    dpf_optim_free(&h->opt);
    dpf_net_free(h->net);
    free(h->x);
}

/* Zeros of the mask over the prunable tensors. */
static inline size_t h_pruned(const harness *h)
{
    size_t z = 0;
    for (int t = 0; t < dpf_net_param_count(h->net); t++) {
        const dpf_param_info *pi = dpf_net_param(h->net, t);
        for (size_t i = pi->offset; i < pi->offset + pi->count; i++)
            z += !dpf_pruner_mask(h->p)[i];
    }
    return z;
}

#endif
