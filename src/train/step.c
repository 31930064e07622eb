/* step.c — the trainer object (dpf/trainer.h): an optimiser and a pruning method around a net,
 * one training step written once, phases, epochs, evaluation and checkpoints; on several ranks
 * (src/dist) the step's gradient is the whole batch's, the ranks' batch-norm statistics are
 * averaged for evaluations and checkpoints, and a hash of the model is compared after every
 * mask update. */
#include "train/step.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "dist/dist.h"

double dpf_train_step(dpf_pruner *p, dpf_prune_ctx *ctx, double lr, int *correct,
                      double *method_s)
{
    dpf_net *net = ctx->net;
    double t0 = dpf_now();
    dpf_pruner_before_step(p, ctx);
    double hooks = dpf_now() - t0;
    /* forward, loss, backward; over N ranks: each its slice, the gradients summed */
    double loss = dpf_dist_backprop(ctx->dist, net, ctx->x, ctx->y, ctx->batch, correct);
    t0 = dpf_now();
    dpf_pruner_after_backward(p, ctx);
    hooks += dpf_now() - t0;
    dpf_optim_step(ctx->opt, dpf_net_weights(net), dpf_net_grads(net), lr);
    t0 = dpf_now();
    dpf_pruner_after_step(p, ctx);
    *method_s += hooks + dpf_now() - t0;
    ctx->step++;
    return loss;
}

dpf_status dpf_trainer_init(dpf_trainer *t)
{
    const dpf_train_config *c = &t->cfg;
    dpf_optim_config oc = strcmp(c->optimizer, "adam") == 0 ? dpf_optim_adam_defaults()
                                                            : dpf_optim_sgd_defaults();
    if (oc.kind == DPF_OPT_SGD) {
        oc.momentum = c->momentum;
        oc.nesterov = c->nesterov;
    }
    oc.weight_decay = c->weight_decay;
    dpf_status st = dpf_optim_init(&t->opt, &oc, dpf_net_size(t->net));
    if (st == DPF_OK)
        st = dpf_pruner_create(&t->pruner, &t->cfg, t->net);
    if (st != DPF_OK)
        return st;
    t->n_phases = dpf_pruner_phases(t->pruner, t->phases);
    for (int i = 0; i < t->n_phases; i++)
        t->total_epochs += t->phases[i].epochs;
    t->ctx = (dpf_prune_ctx){.net = t->net, .opt = &t->opt, .dist = t->dist};
    if ((st = dpf_dist_prepare(t->dist, t->net)) != DPF_OK)
        return st;
    size_t nbn = (size_t)dpf_dist_size(t->dist) * dpf_net_buffers_size(t->net);
    if (dpf_dist_size(t->dist) > 1 && nbn && !(t->rank_bn = malloc(nbn * sizeof *t->rank_bn)))
        return dpf_error(DPF_ERR_NOMEM, "out of memory");
    return DPF_OK;
}

void dpf_trainer_free(dpf_trainer *t)
{
    if (!t)
        return;
    dpf_loader_free(t->loader);
    free(t->dense_bn);
    free(t->rank_bn);
    dpf_kernel_watch_free(&t->kw);
    dpf_pruner_free(t->pruner);
    dpf_optim_free(&t->opt);
    if (t->own_net)
        dpf_net_free(t->net);
    dpf_dataset_free(&t->train);
    dpf_dataset_free(&t->test);
    if (t->lock_fd >= 0)
        close(t->lock_fd);
    free(t);
}

int dpf_trainer_phase_count(const dpf_trainer *t)
{
    return t->n_phases;
}

const dpf_phase *dpf_trainer_phase(const dpf_trainer *t, int i)
{
    return &t->phases[i];
}

dpf_status dpf_trainer_begin_phase(dpf_trainer *t, int phase, int steps_per_epoch)
{
    if (phase < 0 || phase >= t->n_phases)
        return dpf_error(DPF_ERR_ARG, "phase %d: the run has phases 0 to %d", phase,
                         t->n_phases - 1);
    dpf_prune_ctx *c = &t->ctx;
    c->phase = phase, c->step = 0, c->epoch = 0;
    c->steps_per_epoch = steps_per_epoch;
    c->phase_steps = (int64_t)t->phases[phase].epochs * steps_per_epoch;
    c->x = NULL, c->y = NULL, c->batch = 0;
    dpf_optim_reset(&t->opt);
    dpf_status st = DPF_OK;
    if (!t->began && phase > 0) { /* the method's state is created in its first phase */
        dpf_prune_ctx first = *c;
        first.phase = 0;
        st = dpf_pruner_begin_phase(t->pruner, &first, &t->phases[0]);
    }
    t->began = 1;
    return st == DPF_OK ? dpf_pruner_begin_phase(t->pruner, c, &t->phases[phase]) : st;
}

void dpf_trainer_watch_kernels(dpf_trainer *t, int64_t step)
{
    dpf_kernel_watch *kw = &t->kw;
    if (!kw->state) {
        kw->rows = dpf_net_profile_count(t->net);
        kw->state = calloc((size_t)kw->rows, sizeof *kw->state);
        if (!kw->state)
            return; /* a record lost, not a run */
    }
    for (int i = 0; i < kw->rows; i++) {
        const int now = dpf_net_layer_sparse(t->net, i, 0);
        if (now == kw->state[i])
            continue;
        if (kw->n_pending == kw->cap) {
            int cap = kw->cap ? 2 * kw->cap : 16;
            dpf_kernel_switch *m = realloc(kw->pending, (size_t)cap * sizeof *m);
            if (!m)
                return;
            kw->pending = m, kw->cap = cap;
        }
        dpf_layer_time row;
        dpf_net_profile_row(t->net, i, &row);
        kw->pending[kw->n_pending++] = (dpf_kernel_switch){step, i, now, row.density};
        kw->state[i] = now;
    }
}

double dpf_trainer_step(dpf_trainer *t, const float *x, const int32_t *y, int batch, double lr,
                        int *correct)
{
    t->ctx.x = x, t->ctx.y = y, t->ctx.batch = batch;
    const int64_t step = t->ctx.step;
    double loss = dpf_train_step(t->pruner, &t->ctx, lr, correct, &t->method_s);
    dpf_trainer_watch_kernels(t, step);
    return loss;
}

dpf_status dpf_trainer_end_epoch(dpf_trainer *t)
{
    dpf_mask_stats ms;
    dpf_status st = dpf_pruner_end_epoch(t->pruner, &t->ctx, &ms);
    t->ctx.epoch++, t->ctx.global_epoch++;
    return st;
}

dpf_status dpf_trainer_end_phase(dpf_trainer *t)
{
    return dpf_pruner_end_phase(t->pruner, &t->ctx);
}

int64_t dpf_trainer_steps(const dpf_trainer *t)
{
    return t->ctx.step;
}

double dpf_trainer_method_seconds(const dpf_trainer *t)
{
    return t->method_s;
}

/* avg (the net's BN statistics' size) = the mean of the ranks' (t->rank_bn gets them all). */
static dpf_status average_bn(dpf_trainer *t, dpf_real *avg)
{
    dpf_status st = dpf_dist_bn_gather(t->dist, t->net, t->rank_bn);
    if (st == DPF_OK)
        dpf_dist_bn_average(t->dist, t->net, t->rank_bn, avg);
    return st;
}

dpf_status dpf_trainer_merge_bn(dpf_trainer *t)
{
    if (dpf_dist_size(t->dist) == 1 || !dpf_net_buffers_size(t->net))
        return DPF_OK;
    dpf_status st = average_bn(t, dpf_net_buffers(t->net));
    dpf_dist_bn_scatter(t->dist, t->net, NULL); /* every rank continues from the average */
    return st;
}

/* The ranks' statistics averaged into the net (on = 1) and back (on = 0), around an evaluation
 * or a checkpoint; t->rank_bn keeps every rank's meanwhile. */
static dpf_status average_bn_around(dpf_trainer *t, int on, dpf_real **avg)
{
    if (dpf_dist_size(t->dist) == 1 || !dpf_net_buffers_size(t->net))
        return DPF_OK;
    if (!on) {
        dpf_net_swap_buffers(t->net, *avg);
        free(*avg);
        return DPF_OK;
    }
    *avg = malloc(dpf_net_buffers_size(t->net) * sizeof **avg);
    dpf_status st = *avg ? average_bn(t, *avg) : dpf_error(DPF_ERR_NOMEM, "out of memory");
    if (st == DPF_OK)
        dpf_net_swap_buffers(t->net, *avg);
    else
        free(*avg);
    return st;
}

dpf_status dpf_trainer_evaluate(dpf_trainer *t, const dpf_dataset *ds, double *accuracy,
                                double *loss)
{
    dpf_pruner_refresh(t->pruner);
    dpf_real *avg = NULL;
    dpf_status st = average_bn_around(t, 1, &avg);
    if (st != DPF_OK)
        return st;
    st = dpf_dist_evaluate(t->dist, t->net, ds, t->cfg.mean, t->cfg.std, accuracy, loss);
    average_bn_around(t, 0, &avg);
    return st;
}

/* A hash of the dense weights and the mask: the same on every rank, by construction. */
static dpf_status check_same_model(dpf_trainer *t, const char *when)
{
    uint64_t h = dpf_dist_hash(DPF_DIST_HASH_INIT, dpf_net_weights(t->net),
                               dpf_net_size(t->net) * sizeof(dpf_real));
    h = dpf_dist_hash(h, dpf_pruner_mask(t->pruner), dpf_net_size(t->net));
    char what[160];
    snprintf(what, sizeof what, "the weights and mask %s (phase %s, epoch %d, step %lld)", when,
             t->phases[t->ctx.phase].name, t->ctx.global_epoch + 1, (long long)t->ctx.step);
    return dpf_dist_check_same(t->dist, h, what);
}

dpf_status dpf_trainer_sync(dpf_trainer *t)
{
    t->stopping = t->stop; /* read once: a signal arriving later counts at the next step */
    if (dpf_dist_size(t->dist) == 1)
        return DPF_OK;
    dpf_status st = dpf_dist_any(t->dist, &t->stopping); /* every rank stops after this step */
    int64_t n = dpf_pruner_update_count(t->pruner);
    if (st == DPF_OK && n != t->checked_updates) {
        t->checked_updates = n;
        st = check_same_model(t, "after a mask update");
    }
    return st;
}

dpf_status dpf_trainer_save(dpf_trainer *t, const char *dir)
{
    int ranks = dpf_dist_size(t->dist);
    dpf_real *avg = NULL;
    dpf_status st = ranks > 1 ? check_same_model(t, "at a checkpoint") : DPF_OK;
    if (st == DPF_OK)
        st = average_bn_around(t, 1, &avg); /* the average, and each rank's for a resume */
    if (st == DPF_OK && t->writer)
        st = dpf_checkpoint_save(dir, &t->cfg, t->net, &t->opt, t->pruner, &t->pos, &t->kw,
                                 ranks > 1 ? t->rank_bn : NULL, ranks);
    if (avg)
        average_bn_around(t, 0, &avg);
    return dpf_dist_agree_status(t->dist, st);
}

dpf_status dpf_trainer_load(dpf_trainer *t, const char *dir)
{
    int ranks = dpf_dist_size(t->dist), own = 0;
    dpf_status st = dpf_checkpoint_load(dir, t->net, &t->opt, t->pruner, &t->pos, &t->kw,
                                        ranks > 1 ? t->rank_bn : NULL, ranks, &own);
    if (st == DPF_OK) {
        t->ctx.step = t->pos.step, t->ctx.global_epoch = t->pos.global_epoch;
        /* saved by as many ranks: each its own statistics; else all start from the average */
        dpf_dist_bn_scatter(t->dist, t->net, own ? t->rank_bn : NULL);
        t->checked_updates = dpf_pruner_update_count(t->pruner);
    }
    return st;
}

void dpf_trainer_request_stop(dpf_trainer *t)
{
    t->stop = 1;
}
