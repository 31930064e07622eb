/* trainer.c — the training loop. The pruning method declares the phases of the run (training,
 * LT rounds, fine-tuning); each phase gets a fresh optimiser and its own LR schedule. Per step:
 * method prepares w~ -> forward -> loss -> backward -> method adjusts gradients -> optimiser
 * updates the dense w -> method adjusts weights. Per epoch: evaluation of the sparse model,
 * a metrics line, progress. At the end: summary.json and the model files. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "core/progress.h"
#include "core/util.h"
#include "dpf/data.h"
#include "dpf/model_io.h"
#include "dpf/net.h"
#include "dpf/train.h"
#include "prune/pruner.h"
#include "train/run_files.h"
#include "train/step.h"

typedef struct run {
    dpf_train_config cfg;       /* resolved: normalisation filled in */
    dpf_dataset train, test;
    dpf_net *net;
    dpf_optimizer opt;
    dpf_loader *loader;
    dpf_pruner *pruner;
    dpf_phase phases[DPF_MAX_PHASES];
    int n_phases, total_epochs;
    dpf_progress progress;
    int steps_per_epoch;
    double train_time;          /* seconds spent in training steps (for images/s) */
    long train_images;
} run;

typedef struct epoch_stats {
    double loss, acc, lr, images_per_s, wall_s;
} epoch_stats;

static dpf_status load_data(run *r)
{
    if (!r->cfg.data_dir[0]) /* resolved, so config.json says where the data came from */
        snprintf(r->cfg.data_dir, sizeof r->cfg.data_dir, "%s",
                 dpf_dataset_default_dir(r->cfg.data));
    const char *dir = r->cfg.data_dir;
    dpf_status st = dpf_dataset_load(&r->train, r->cfg.data, dir, 1);
    if (st == DPF_OK)
        st = dpf_dataset_load(&r->test, r->cfg.data, dir, 0);
    if (st != DPF_OK)
        return st;
    dpf_dataset_truncate(&r->train, r->cfg.limit_train);
    if (r->cfg.mean[0] < 0)
        dpf_dataset_default_norm(r->cfg.data, r->cfg.mean, r->cfg.std);
    return DPF_OK;
}

static dpf_status make_optimizer(run *r)
{
    const dpf_train_config *c = &r->cfg;
    dpf_optim_config oc = strcmp(c->optimizer, "adam") == 0 ? dpf_optim_adam_defaults()
                                                            : dpf_optim_sgd_defaults();
    if (oc.kind == DPF_OPT_SGD) {
        oc.momentum = c->momentum;
        oc.nesterov = c->nesterov;
    }
    oc.weight_decay = c->weight_decay;
    return dpf_optim_init(&r->opt, &oc, dpf_net_size(r->net));
}

static dpf_status setup(run *r)
{
    dpf_train_config *c = &r->cfg;
    if (c->threads > 0)
        omp_set_num_threads(c->threads);
    dpf_status st = load_data(r);
    if (st == DPF_OK)
        st = dpf_net_create(&r->net, c->model, r->train.c, r->train.h, r->train.w,
                            r->train.classes, c->batch);
    if (st != DPF_OK)
        return st;
    dpf_net_init(r->net, c->seed);
    st = make_optimizer(r);
    if (st == DPF_OK)
        st = dpf_pruner_create(&r->pruner, c, r->net);
    if (st != DPF_OK)
        return st;
    r->n_phases = dpf_pruner_phases(r->pruner, r->phases);
    for (int i = 0; i < r->n_phases; i++)
        r->total_epochs += r->phases[i].epochs;
    dpf_augment aug = {.crop_pad = c->crop_pad, .flip = c->flip};
    memcpy(aug.mean, c->mean, sizeof aug.mean);
    memcpy(aug.std, c->std, sizeof aug.std);
    st = dpf_loader_create(&r->loader, &r->train, c->batch, 1, &aug, c->seed);
    if (st != DPF_OK)
        return st;
    r->steps_per_epoch = dpf_loader_batches_per_epoch(r->loader);
    if (c->out[0]) {
        st = dpf_run_prepare_dir(c);
        if (st == DPF_OK) {
            json_t *j = dpf_run_config_json(c, r->net);
            st = dpf_run_write_json(c->out, "config.json", j);
            json_decref(j);
        }
    }
    dpf_progress_init(&r->progress, c->progress, r->total_epochs,
                      (int64_t)r->total_epochs * r->steps_per_epoch);
    return st;
}

static dpf_status train_epoch(run *r, dpf_prune_ctx *ctx, const dpf_lr_schedule *sched,
                              epoch_stats *es)
{
    double loss_sum = 0, t_epoch = dpf_now(), t_steps = 0;
    long hits = 0, seen = 0;
    dpf_status st = dpf_loader_start_epoch(r->loader, ctx->global_epoch, 0);
    for (int b, i = 0; st == DPF_OK && (b = dpf_loader_next(r->loader, &ctx->x, &ctx->y)) > 0;) {
        double t0 = dpf_now();
        ctx->batch = b;
        es->lr = dpf_lr_at(sched, ctx->step);
        int correct = 0;
        double loss = dpf_train_step(r->pruner, ctx, es->lr, &correct, NULL);
        if (!isfinite(loss))
            return dpf_error(DPF_ERR_NUMERIC, "epoch %d, batch %d: the loss is %g; training "
                             "diverged (try a lower --lr)", ctx->global_epoch + 1, i + 1, loss);
        t_steps += dpf_now() - t0;
        i++;
        loss_sum += loss * b;
        hits += correct;
        seen += b;
        dpf_progress_step(&r->progress, ctx->global_epoch + 1, i, r->steps_per_epoch,
                          (int64_t)ctx->global_epoch * r->steps_per_epoch + i, loss_sum / seen,
                          (double)hits / seen, seen / t_steps);
    }
    r->train_time += t_steps;
    r->train_images += seen;
    es->loss = seen ? loss_sum / seen : 0;
    es->acc = seen ? (double)hits / seen : 0;
    es->images_per_s = t_steps > 0 ? seen / t_steps : 0;
    es->wall_s = dpf_now() - t_epoch;
    return st;
}

static dpf_status end_epoch(run *r, dpf_prune_ctx *ctx, const epoch_stats *es, double *test_acc)
{
    json_t *m = json_object();
    dpf_status st = dpf_pruner_end_epoch(r->pruner, ctx, m);
    double test_loss = 0;
    if (st == DPF_OK)
        st = dpf_evaluate(r->net, &r->test, r->cfg.mean, r->cfg.std, test_acc, &test_loss);
    if (st == DPF_OK) {
        char line[256];
        double sparsity = json_real_value(json_object_get(m, "sparsity"));
        snprintf(line, sizeof line, "epoch %d/%d  lr %.4g  train loss %.4f acc %.2f%%  test acc "
                 "%.2f%%  sparsity %.1f%%  %.0f img/s  %.1fs", ctx->global_epoch + 1,
                 r->total_epochs, es->lr, es->loss, 100 * es->acc, 100 * *test_acc,
                 100 * sparsity, es->images_per_s, es->wall_s);
        dpf_progress_line(&r->progress, line);
    }
    if (st == DPF_OK && r->cfg.out[0]) {
        json_object_update_missing_new(
            m, json_pack("{s:i, s:s, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "epoch",
                         ctx->global_epoch + 1, "phase", r->phases[ctx->phase].name, "step",
                         (json_int_t)ctx->step, "lr", es->lr, "train_loss", es->loss, "train_acc",
                         es->acc, "test_acc", *test_acc, "test_loss", test_loss, "images_per_s",
                         es->images_per_s, "wall_s", es->wall_s));
        st = dpf_run_append_metrics(r->cfg.out, m);
    }
    json_decref(m);
    return st;
}

static dpf_status run_phase(run *r, int phase, int *global_epoch, epoch_stats *es,
                            double *test_acc)
{
    const dpf_phase *ph = &r->phases[phase];
    dpf_lr_schedule sched = {.base_lr = ph->lr, .gamma = r->cfg.gamma,
                             .n_milestones = r->cfg.n_milestones,
                             .total_steps = (int64_t)ph->epochs * r->steps_per_epoch};
    memcpy(sched.milestones, r->cfg.milestones, sizeof sched.milestones);
    if (phase == 0)
        sched.warmup_steps = (int64_t)llround(r->cfg.warmup_epochs * r->steps_per_epoch);
    dpf_prune_ctx ctx = {.net = r->net, .opt = &r->opt, .phase = phase,
                         .phase_steps = sched.total_steps, .steps_per_epoch = r->steps_per_epoch,
                         .global_epoch = *global_epoch};
    dpf_optim_reset(&r->opt);
    dpf_status st = dpf_pruner_begin_phase(r->pruner, &ctx, ph);
    for (int e = 0; st == DPF_OK && e < ph->epochs; e++) {
        ctx.epoch = e;
        ctx.global_epoch = (*global_epoch)++;
        st = train_epoch(r, &ctx, &sched, es);
        if (st == DPF_OK)
            st = end_epoch(r, &ctx, es, test_acc);
    }
    if (st == DPF_OK)
        st = dpf_pruner_end_phase(r->pruner, &ctx);
    return st;
}

static void weight_stats(dpf_net *net, dpf_train_result *res)
{
    const dpf_real *wf = dpf_net_forward_weights(net);
    int64_t total = 0, nonzero = 0, prunable = 0, prunable_zero = 0;
    for (int p = 0; p < dpf_net_param_count(net); p++) {
        const dpf_param_info *pi = dpf_net_param(net, p);
        int64_t nz = 0;
        for (size_t i = 0; i < pi->count; i++)
            nz += wf[pi->offset + i] != 0;
        total += (int64_t)pi->count;
        nonzero += nz;
        if (pi->prunable) {
            prunable += (int64_t)pi->count;
            prunable_zero += (int64_t)pi->count - nz;
        }
    }
    res->params_total = total;
    res->params_nonzero = nonzero;
    res->params_prunable = prunable;
    res->sparsity_prunable = prunable ? (double)prunable_zero / (double)prunable : 0;
    res->sparsity_total = total ? (double)(total - nonzero) / (double)total : 0;
    res->macs_dense = dpf_net_macs_dense(net);
    res->macs_sparse = dpf_net_macs_nonzero(net);
}

/* Test accuracy of the sparse model w~ and of the dense model w (they differ for DPF). */
static dpf_status final_accuracies(run *r, dpf_train_result *res)
{
    dpf_pruner_refresh(r->pruner);
    dpf_status st = dpf_evaluate(r->net, &r->test, r->cfg.mean, r->cfg.std,
                                 &res->test_acc_sparse, NULL);
    res->test_acc_dense = res->test_acc_sparse;
    if (st != DPF_OK || !r->pruner->masked_forward)
        return st;
    st = dpf_net_use_forward_weights(r->net, 0);
    if (st == DPF_OK)
        st = dpf_evaluate(r->net, &r->test, r->cfg.mean, r->cfg.std, &res->test_acc_dense, NULL);
    dpf_status st2 = dpf_net_use_forward_weights(r->net, 1);
    dpf_pruner_refresh(r->pruner);
    return st != DPF_OK ? st : st2;
}

static dpf_status save_models(run *r, const dpf_train_result *res)
{
    dpf_model_meta meta = {.c = r->train.c, .h = r->train.h, .w = r->train.w,
                           .classes = r->train.classes, .sparsity = res->sparsity_prunable};
    snprintf(meta.model, sizeof meta.model, "%s", r->cfg.model);
    snprintf(meta.data, sizeof meta.data, "%s", r->cfg.data);
    snprintf(meta.method, sizeof meta.method, "%s", r->cfg.method);
    memcpy(meta.mean, r->cfg.mean, sizeof meta.mean);
    memcpy(meta.std, r->cfg.std, sizeof meta.std);
    char path[2048];
    snprintf(path, sizeof path, "%s/model.safetensors", r->cfg.out);
    dpf_status st = dpf_model_save(r->net, &meta, 1, path);
    if (st != DPF_OK || !r->pruner->masked_forward)
        return st;
    meta.sparsity = 0;  /* the dense w of DPF: what the feedback kept training */
    snprintf(path, sizeof path, "%s/dense.safetensors", r->cfg.out);
    return dpf_model_save(r->net, &meta, 0, path);
}

static dpf_status finish(run *r, dpf_train_result *res, double t_start)
{
    dpf_status st = final_accuracies(r, res);
    if (st != DPF_OK)
        return st;
    weight_stats(r->net, res);
    res->train_images_per_s = r->train_time > 0 ? r->train_images / r->train_time : 0;
    res->wall_s = dpf_now() - t_start;
    if (!r->cfg.out[0])
        return DPF_OK;
    json_t *s = dpf_run_summary_json(&r->cfg, res);
    json_object_set_new(s, "pruning", dpf_pruner_report(r->pruner, r->total_epochs));
    st = dpf_run_write_json(r->cfg.out, "summary.json", s);
    json_decref(s);
    return st == DPF_OK ? save_models(r, res) : st;
}

dpf_status dpf_train_run(const dpf_train_config *cfg, dpf_train_result *res)
{
    memset(res, 0, sizeof *res);
    dpf_status st = dpf_train_config_check(cfg);
    if (st != DPF_OK)
        return st;
    double t_start = dpf_now();
    run r;
    memset(&r, 0, sizeof r);
    r.cfg = *cfg;
    st = setup(&r);
    epoch_stats es = {0};
    double test_acc = 0;
    for (int ph = 0, epoch = 0; st == DPF_OK && ph < r.n_phases; ph++)
        st = run_phase(&r, ph, &epoch, &es, &test_acc);
    res->final_train_loss = es.loss;
    res->final_train_acc = es.acc;
    if (st == DPF_OK)
        st = finish(&r, res, t_start);
    dpf_loader_free(r.loader);
    dpf_pruner_free(r.pruner);
    dpf_optim_free(&r.opt);
    dpf_net_free(r.net);
    dpf_dataset_free(&r.train);
    dpf_dataset_free(&r.test);
    return st;
}
