/* method_harness.h — drives a pruning method on a tiny net through the trainer object that
 * src/train/trainer.c steps too (dpf/trainer.h), on fixed random data, so tests can check each
 * method's defining property step by step. */
#ifndef DPF_TEST_METHOD_HARNESS_H
#define DPF_TEST_METHOD_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpf/rng.h"
#include "dpf/trainer.h"
#include "train/step.h"

#define H_BATCH 8

typedef struct harness {
    dpf_train_config cfg;
    dpf_net *net;
    dpf_trainer *t;
    dpf_pruner *p;          /* the trainer's */
    dpf_optimizer *opt;     /* the trainer's */
    dpf_prune_ctx *ctx;     /* the trainer's position */
    int n_phases;
    int steps_per_epoch;
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
    dpf_rng r;
    dpf_rng_seed(&r, 9);
    h->x = malloc((size_t)H_BATCH * side * side * sizeof *h->x);
    for (int i = 0; i < H_BATCH * side * side; i++)
        h->x[i] = (float)dpf_rng_normal(&r);
    for (int i = 0; i < H_BATCH; i++)
        h->y[i] = (int32_t)dpf_rng_below(&r, 10);
    h->steps_per_epoch = steps_per_epoch;
    h->lr = 0.05;
}

/* Creates the trainer (after the test adjusted h->cfg) and begins phase 0. */
static inline dpf_status h_start(harness *h)
{
    dpf_status st = dpf_trainer_create(&h->t, &h->cfg, h->net);
    if (st != DPF_OK)
        return st;
    h->p = h->t->pruner, h->opt = &h->t->opt, h->ctx = &h->t->ctx;
    h->n_phases = dpf_trainer_phase_count(h->t);
    return dpf_trainer_begin_phase(h->t, 0, h->steps_per_epoch);
}

/* One step, and the epoch's end after its last step. */
static inline void h_step(harness *h)
{
    dpf_trainer_step(h->t, h->x, h->y, H_BATCH, h->lr, NULL);
    if (dpf_trainer_steps(h->t) % h->steps_per_epoch == 0)
        dpf_trainer_end_epoch(h->t);
}

/* Ends the current phase and begins the next one (fresh optimiser, step 0). */
static inline dpf_status h_next_phase(harness *h)
{
    dpf_status st = dpf_trainer_end_phase(h->t);
    if (st != DPF_OK || h->ctx->phase + 1 >= h->n_phases)
        return st;
    return dpf_trainer_begin_phase(h->t, h->ctx->phase + 1, h->steps_per_epoch);
}

static inline void h_free(harness *h)
{
    dpf_trainer_free(h->t);
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
