/* trainer.c — the training loop: data, net, optimiser and schedule set up from a resolved
 * config; per step forward -> loss -> backward -> update; per epoch evaluation, metrics line and
 * progress; at the end summary.json and model.safetensors in the run directory. */
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
#include "train/run_files.h"

typedef struct run {
    dpf_train_config cfg;       /* resolved: normalisation filled in */
    dpf_dataset train, test;
    dpf_net *net;
    dpf_optimizer opt;
    dpf_loader *loader;
    dpf_lr_schedule sched;
    dpf_progress progress;
    int steps_per_epoch;
    int64_t step;
    double train_time;          /* seconds spent in training steps (for images/s) */
    long train_images;
} run;

typedef struct epoch_stats {
    double loss, acc, lr, images_per_s, wall_s;
} epoch_stats;

static dpf_status load_data(run *r)
{
    const char *dir = r->cfg.data_dir[0] ? r->cfg.data_dir : NULL;
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

static dpf_status setup(run *r)
{
    dpf_train_config *c = &r->cfg;
    if (c->threads > 0)
        omp_set_num_threads(c->threads);
    dpf_status st = load_data(r);
    if (st != DPF_OK)
        return st;
    st = dpf_net_create(&r->net, c->model, r->train.c, r->train.h, r->train.w,
                        r->train.classes, c->batch);
    if (st != DPF_OK)
        return st;
    dpf_net_init(r->net, c->seed);
    dpf_optim_config oc = strcmp(c->optimizer, "adam") == 0 ? dpf_optim_adam_defaults()
                                                            : dpf_optim_sgd_defaults();
    if (oc.kind == DPF_OPT_SGD) {
        oc.momentum = c->momentum;
        oc.nesterov = c->nesterov;
    }
    oc.weight_decay = c->weight_decay;
    st = dpf_optim_init(&r->opt, &oc, dpf_net_size(r->net));
    if (st != DPF_OK)
        return st;
    dpf_augment aug = {.crop_pad = c->crop_pad, .flip = c->flip};
    memcpy(aug.mean, c->mean, sizeof aug.mean);
    memcpy(aug.std, c->std, sizeof aug.std);
    st = dpf_loader_create(&r->loader, &r->train, c->batch, 1, &aug, c->seed);
    if (st != DPF_OK)
        return st;
    r->steps_per_epoch = dpf_loader_batches_per_epoch(r->loader);
    r->sched = (dpf_lr_schedule){.base_lr = c->lr, .gamma = c->gamma,
                                 .n_milestones = c->n_milestones,
                                 .total_steps = (int64_t)c->epochs * r->steps_per_epoch,
                                 .warmup_steps = (int64_t)llround(c->warmup_epochs *
                                                                  r->steps_per_epoch)};
    memcpy(r->sched.milestones, c->milestones, sizeof c->milestones);
    if (c->out[0]) {
        st = dpf_run_prepare_dir(c);
        if (st == DPF_OK) {
            json_t *j = dpf_run_config_json(c, r->net);
            st = dpf_run_write_json(c->out, "config.json", j);
            json_decref(j);
        }
    }
    dpf_progress_init(&r->progress, c->progress, c->epochs, r->sched.total_steps);
    return st;
}

static dpf_status train_epoch(run *r, int epoch, epoch_stats *es)
{
    dpf_net *net = r->net;
    const float *x;
    const int32_t *y;
    double loss_sum = 0, t_epoch = dpf_now(), t_steps = 0;
    long hits = 0, seen = 0;
    dpf_status st = dpf_loader_start_epoch(r->loader, epoch, 0);
    for (int b, i = 0; st == DPF_OK && (b = dpf_loader_next(r->loader, &x, &y)) > 0;) {
        double t0 = dpf_now();
        es->lr = dpf_lr_at(&r->sched, r->step);
        int correct = 0;
        dpf_net_forward(net, x, b, 1);
        double loss = dpf_net_loss(net, y, &correct);
        if (!isfinite(loss))
            return dpf_error(DPF_ERR_NUMERIC, "step %lld (epoch %d, batch %d): the loss is %g; "
                             "training diverged (try a lower --lr)", (long long)r->step + 1,
                             epoch + 1, i + 1, loss);
        dpf_net_backward(net);
        dpf_optim_step(&r->opt, dpf_net_weights(net), dpf_net_grads(net), es->lr);
        t_steps += dpf_now() - t0;
        r->step++, i++;
        loss_sum += loss * b;
        hits += correct;
        seen += b;
        dpf_progress_step(&r->progress, epoch + 1, i, r->steps_per_epoch, r->step,
                          loss_sum / seen, (double)hits / seen, seen / t_steps);
    }
    r->train_time += t_steps;
    r->train_images += seen;
    es->loss = seen ? loss_sum / seen : 0;
    es->acc = seen ? (double)hits / seen : 0;
    es->images_per_s = t_steps > 0 ? seen / t_steps : 0;
    es->wall_s = dpf_now() - t_epoch;
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

static dpf_status end_epoch(run *r, int epoch, const epoch_stats *es, double *test_acc)
{
    double test_loss;
    dpf_status st = dpf_evaluate(r->net, &r->test, r->cfg.mean, r->cfg.std, test_acc, &test_loss);
    if (st != DPF_OK)
        return st;
    char line[256];
    snprintf(line, sizeof line, "epoch %d/%d  lr %.4g  train loss %.4f acc %.2f%%  test acc "
             "%.2f%%  %.0f img/s  %.1fs", epoch + 1, r->cfg.epochs, es->lr, es->loss,
             100 * es->acc, 100 * *test_acc, es->images_per_s, es->wall_s);
    dpf_progress_line(&r->progress, line);
    if (!r->cfg.out[0])
        return DPF_OK;
    json_t *m = json_pack("{s:i, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "epoch", epoch + 1,
                          "step", (json_int_t)r->step, "lr", es->lr, "train_loss", es->loss,
                          "train_acc", es->acc, "test_acc", *test_acc, "test_loss", test_loss,
                          "images_per_s", es->images_per_s, "wall_s", es->wall_s);
    st = dpf_run_append_metrics(r->cfg.out, m);
    json_decref(m);
    return st;
}

static dpf_status finish(run *r, dpf_train_result *res, double test_acc, double t_start)
{
    weight_stats(r->net, res);
    res->test_acc_dense = res->test_acc_sparse = test_acc;
    res->train_images_per_s = r->train_time > 0 ? r->train_images / r->train_time : 0;
    res->wall_s = dpf_now() - t_start;
    if (!r->cfg.out[0])
        return DPF_OK;
    json_t *s = dpf_run_summary_json(&r->cfg, res);
    dpf_status st = dpf_run_write_json(r->cfg.out, "summary.json", s);
    json_decref(s);
    if (st != DPF_OK)
        return st;
    dpf_model_meta meta = {.c = r->train.c, .h = r->train.h, .w = r->train.w,
                           .classes = r->train.classes, .sparsity = res->sparsity_prunable};
    snprintf(meta.model, sizeof meta.model, "%s", r->cfg.model);
    snprintf(meta.data, sizeof meta.data, "%s", r->cfg.data);
    snprintf(meta.method, sizeof meta.method, "%s", r->cfg.method);
    memcpy(meta.mean, r->cfg.mean, sizeof meta.mean);
    memcpy(meta.std, r->cfg.std, sizeof meta.std);
    char path[2048];
    snprintf(path, sizeof path, "%s/model.safetensors", r->cfg.out);
    return dpf_model_save(r->net, &meta, 1, path);
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
    double test_acc = 0;
    epoch_stats es = {0};
    for (int epoch = 0; st == DPF_OK && epoch < cfg->epochs; epoch++) {
        st = train_epoch(&r, epoch, &es);
        if (st == DPF_OK)
            st = end_epoch(&r, epoch, &es, &test_acc);
    }
    res->final_train_loss = es.loss;
    res->final_train_acc = es.acc;
    if (st == DPF_OK)
        st = finish(&r, res, test_acc, t_start);
    dpf_loader_free(r.loader);
    dpf_optim_free(&r.opt);
    dpf_net_free(r.net);
    dpf_dataset_free(&r.train);
    dpf_dataset_free(&r.test);
    return st;
}
