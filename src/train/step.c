/* step.c — the trainer object (dpf/trainer.h): an optimiser and a pruning method around a net,
 * one training step written once, phases, epochs, evaluation and checkpoints. */
#include "train/step.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"

double dpf_train_step(dpf_pruner *p, dpf_prune_ctx *ctx, double lr, int *correct,
                      double *method_s)
{
    dpf_net *net = ctx->net;
    double t0 = dpf_now();
    dpf_pruner_before_step(p, ctx);
    double hooks = dpf_now() - t0;
    dpf_net_forward(net, ctx->x, ctx->batch, 1);
    double loss = dpf_net_loss(net, ctx->y, correct);
    dpf_net_backward(net);
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
    t->ctx = (dpf_prune_ctx){.net = t->net, .opt = &t->opt};
    return DPF_OK;
}

void dpf_trainer_free(dpf_trainer *t)
{
    if (!t)
        return;
    dpf_loader_free(t->loader);
    free(t->dense_bn);
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

double dpf_trainer_step(dpf_trainer *t, const float *x, const int32_t *y, int batch, double lr,
                        int *correct)
{
    t->ctx.x = x, t->ctx.y = y, t->ctx.batch = batch;
    return dpf_train_step(t->pruner, &t->ctx, lr, correct, &t->method_s);
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

dpf_status dpf_trainer_evaluate(dpf_trainer *t, const dpf_dataset *ds, double *accuracy,
                                double *loss)
{
    dpf_pruner_refresh(t->pruner);
    return dpf_evaluate(t->net, ds, t->cfg.mean, t->cfg.std, accuracy, loss);
}

dpf_status dpf_trainer_save(dpf_trainer *t, const char *dir)
{
    return dpf_checkpoint_save(dir, &t->cfg, t->net, &t->opt, t->pruner, &t->pos);
}

dpf_status dpf_trainer_load(dpf_trainer *t, const char *dir)
{
    dpf_status st = dpf_checkpoint_load(dir, t->net, &t->opt, t->pruner, &t->pos);
    if (st == DPF_OK)
        t->ctx.step = t->pos.step, t->ctx.global_epoch = t->pos.global_epoch;
    return st;
}

void dpf_trainer_request_stop(dpf_trainer *t)
{
    t->stop = 1;
}
