/* trainer.c — the training loop. The pruning method declares the phases of the run (training,
 * LT rounds, fine-tuning); each phase gets a fresh optimiser and its own LR schedule. Per step:
 * method prepares w~ -> forward -> loss -> backward -> method adjusts gradients -> optimiser
 * updates the dense w -> method adjusts weights. Per epoch: evaluation of the sparse model,
 * a metrics line, progress, a checkpoint. At the end: summary.json and the model files.
 * Checkpoints (checkpoint.h) are also written every --checkpoint-every steps and when a stop is
 * requested (SIGINT / SIGTERM / SIGHUP through dpf_trainer_request_stop, also after the last
 * step); --resume continues from one with the same weights, masks, optimiser state and data
 * order as if never interrupted. The run is a
 * trainer (dpf/trainer.h, step.c) that built its own net from the data. On several MPI ranks
 * (docs/distributed.md) only rank 0 writes files and progress, and every point where one rank
 * could fail or stop alone (a write, a signal) is agreed by all before they go on. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "dist/dist.h"
#include "dpf/model_io.h"
#include "train/prune_json.h"
#include "train/run_files.h"
#include "train/step.h"

typedef dpf_trainer run;

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
    if (r->test.c != r->train.c || r->test.h != r->train.h || r->test.w != r->train.w ||
        r->test.classes != r->train.classes) /* found now, not after an epoch of training */
        return dpf_error(DPF_ERR_FORMAT, "--data-dir %s: the %s test images are %dx%dx%d in %d "
                         "classes, the training images %dx%dx%d in %d", dir, r->cfg.data,
                         r->test.c, r->test.h, r->test.w, r->test.classes, r->train.c,
                         r->train.h, r->train.w, r->train.classes);
    dpf_dataset_truncate(&r->train, r->cfg.limit_train);
    if (r->cfg.mean[0] < 0)
        dpf_dataset_default_norm(r->cfg.data, r->cfg.mean, r->cfg.std);
    return DPF_OK;
}

static dpf_status setup(run *r)
{
    dpf_train_config *c = &r->cfg;
    dpf_net_options no = {.max_batch = c->batch / dpf_dist_size(r->dist), /* a rank's slice */
                          .threads = c->threads};
    dpf_status st = dpf_conv_algo_parse(c->conv_algo, &no.conv_algo);
    if (st == DPF_OK)
        st = dpf_net_kernels_parse(c->kernels, &no.kernels);
    if (st == DPF_OK)
        st = load_data(r);
    if (st == DPF_OK)
        st = dpf_net_create_with(&r->net, c->model, r->train.c, r->train.h, r->train.w,
                                 r->train.classes, &no);
    if (st != DPF_OK)
        return st;
    r->own_net = 1;
    dpf_net_init(r->net, c->has_init_seed ? c->init_seed : c->seed);
    st = dpf_trainer_init(r);
    if (st != DPF_OK)
        return st;
    dpf_augment aug = {.crop_pad = c->crop_pad, .flip = c->flip};
    memcpy(aug.mean, c->mean, sizeof aug.mean);
    memcpy(aug.std, c->std, sizeof aug.std);
    st = dpf_loader_create(&r->loader, &r->train, c->batch, 1, &aug, c->seed);
    if (st != DPF_OK)
        return st;
    r->steps_per_epoch = dpf_loader_batches_per_epoch(r->loader);
    if (c->out[0] && c->resume && r->writer)
        st = dpf_run_lock(c->out, &r->lock_fd);
    if (c->out[0] && !c->resume && r->writer) {
        st = dpf_run_prepare_dir(c, &r->lock_fd);
        if (st == DPF_OK) {
            json_t *j = dpf_run_config_json(c, r->net);
            st = dpf_run_write_json(c->out, "config.json", j);
            json_decref(j);
        }
    }
    dpf_progress_init(&r->progress, r->writer ? c->progress : 0, r->total_epochs,
                      (int64_t)r->total_epochs * r->steps_per_epoch);
    return st;
}

/* Saves a checkpoint of the current state; refuses a state with NaN / Inf weights (the last
 * good checkpoint stays). */
static dpf_status checkpoint(run *r)
{
    const dpf_prune_ctx *ctx = &r->ctx;
    if (!r->cfg.out[0])
        return DPF_OK;
    const dpf_real *w = dpf_net_weights(r->net);
    for (size_t i = 0; i < dpf_net_size(r->net); i++)
        if (!isfinite(w[i]))
            return dpf_error(DPF_ERR_NUMERIC, "epoch %d, step %lld: weight %zu is %g; training "
                             "diverged (try a lower --lr); the last checkpoint is kept",
                             ctx->global_epoch + 1, (long long)ctx->step, i, (double)w[i]);
    r->pos.wall_s = r->wall_before + dpf_now() - r->t_created; /* over every process of the run */
    return dpf_trainer_save(r, r->cfg.out);
}

static dpf_status train_epoch(run *r, const dpf_lr_schedule *sched, epoch_stats *es)
{
    dpf_prune_ctx *ctx = &r->ctx;
    dpf_ckpt_pos *pos = &r->pos;
    const float *x;
    const int32_t *y;
    if (!r->resuming) /* a fresh epoch; a resumed one continues its sums */
        pos->batch = 0, pos->loss_sum = pos->t_steps = 0, pos->hits = pos->seen = 0;
    r->resuming = 0;
    double t_epoch = dpf_now();
    if (ctx->step > 0) /* the LR of the last step, also for a resumed epoch with none left */
        es->lr = dpf_lr_at(sched, ctx->step - 1);
    dpf_status st = dpf_loader_start_epoch(r->loader, ctx->global_epoch, pos->batch);
    for (int b; st == DPF_OK && (b = dpf_loader_next(r->loader, &x, &y)) > 0;) {
        double t0 = dpf_now();
        es->lr = dpf_lr_at(sched, ctx->step);
        int correct = 0;
        double loss = dpf_trainer_step(r, x, y, b, es->lr, &correct);
        if ((st = dpf_trainer_sync(r)) != DPF_OK) /* ranks: the stop, the mask */
            break;
        if (!isfinite(loss))
            return dpf_error(DPF_ERR_NUMERIC, "epoch %d, batch %d (step %lld): the loss is %g; "
                             "training diverged (try a lower --lr); the last checkpoint is kept",
                             ctx->global_epoch + 1, pos->batch + 1, (long long)ctx->step, loss);
        pos->t_steps += dpf_now() - t0;
        pos->batch++;
        pos->step = ctx->step;
        pos->loss_sum += loss * b;
        pos->hits += correct;
        pos->seen += b;
        dpf_progress_step(&r->progress, ctx->global_epoch + 1, pos->batch, r->steps_per_epoch,
                          (int64_t)ctx->global_epoch * r->steps_per_epoch + pos->batch,
                          pos->loss_sum / (double)pos->seen, (double)pos->hits / (double)pos->seen,
                          (double)pos->seen / pos->t_steps);
        int every = r->cfg.checkpoint_every;
        if (r->stopping || (every > 0 && ctx->step % every == 0)) {
            st = checkpoint(r);
            if (st == DPF_OK && r->stopping && !r->cfg.out[0])
                return dpf_error(DPF_ERR_INTERRUPTED, "interrupted in epoch %d at batch %d "
                                 "(no --out: nothing saved)", ctx->global_epoch + 1, pos->batch);
            if (st == DPF_OK && r->stopping)
                return dpf_error(DPF_ERR_INTERRUPTED, "interrupted in epoch %d at batch %d; the "
                                 "checkpoint is saved: continue with dpf train --resume %s",
                                 ctx->global_epoch + 1, pos->batch, r->cfg.out);
        }
    }
    pos->train_time += pos->t_steps;
    pos->train_images += pos->seen;
    es->loss = pos->seen ? pos->loss_sum / (double)pos->seen : 0;
    es->acc = pos->seen ? (double)pos->hits / (double)pos->seen : 0;
    es->images_per_s = pos->t_steps > 0 ? (double)pos->seen / pos->t_steps : 0;
    es->wall_s = dpf_now() - t_epoch;
    return st;
}

/* The layers that changed kernels during the epoch: [{"step", "layer", "forward",
 * "backward_data", "weight_grad", "density"}], "sparse" or "dense" each. */
static json_t *switches_json(const run *r)
{
    json_t *a = json_array();
    for (int i = 0; i < r->kw.n_pending; i++) {
        const dpf_kernel_switch *k = &r->kw.pending[i];
        dpf_layer_time row;
        dpf_net_profile_row(r->net, k->row, &row);
        json_array_append_new(a, json_pack("{s:I, s:s, s:s, s:s, s:s, s:f}", "step",
                                           (json_int_t)k->step, "layer", row.name, "forward",
                                           k->sparse & 1 ? "sparse" : "dense", "backward_data",
                                           k->sparse & 2 ? "sparse" : "dense", "weight_grad",
                                           k->sparse & 4 ? "sparse" : "dense", "density",
                                           k->density));
    }
    return a;
}

/* Ends an epoch: mask statistics, the test set (every --eval-every epochs and at the end of
 * each phase), the progress line and the metrics line. */
static dpf_status end_epoch(run *r, const epoch_stats *es, int last_of_phase)
{
    dpf_prune_ctx *ctx = &r->ctx;
    dpf_mask_stats ms;
    dpf_status st = dpf_pruner_end_epoch(r->pruner, ctx, &ms);
    json_t *m = json_object();
    dpf_json_add_mask_stats(m, &ms);
    double test_acc = 0, test_loss = 0;
    int eval = last_of_phase || (ctx->global_epoch + 1) % r->cfg.eval_every == 0;
    if (st == DPF_OK && eval)
        st = dpf_trainer_evaluate(r, &r->test, &test_acc, &test_loss);
    if (st == DPF_OK) {
        char line[256], test[48] = "";
        if (eval)
            snprintf(test, sizeof test, "  test acc %.2f%%", 100 * test_acc);
        snprintf(line, sizeof line, "epoch %d/%d  lr %.4g  train loss %.4f acc %.2f%%%s  "
                 "sparsity %.1f%%  %.0f img/s  %.1fs", ctx->global_epoch + 1, r->total_epochs,
                 es->lr, es->loss, 100 * es->acc, test, 100 * ms.sparsity, es->images_per_s,
                 es->wall_s);
        dpf_progress_line(&r->progress, line);
    }
    if (st == DPF_OK && r->cfg.out[0] && r->writer) {
        json_object_update_missing_new(
            m, json_pack("{s:i, s:s, s:I, s:f, s:f, s:f, s:f, s:f}", "epoch",
                         ctx->global_epoch + 1, "phase", r->phases[ctx->phase].name, "step",
                         (json_int_t)ctx->step, "lr", es->lr, "train_loss", es->loss, "train_acc",
                         es->acc, "images_per_s", es->images_per_s, "wall_s", es->wall_s));
        if (eval)
            json_object_update_missing_new(m, json_pack("{s:f, s:f}", "test_acc", test_acc,
                                                        "test_loss", test_loss));
        if (r->kw.n_pending)
            json_object_set_new(m, "kernel_switches", switches_json(r));
        st = dpf_run_append_metrics(r->cfg.out, m);
    }
    json_decref(m);
    r->kw.n_pending = 0;
    return dpf_dist_agree_status(r->dist, st);
}

static dpf_status run_phase(run *r, int phase, epoch_stats *es)
{
    const dpf_phase *ph = &r->phases[phase];
    dpf_lr_schedule sched = {.base_lr = ph->lr, .gamma = r->cfg.gamma,
                             .n_milestones = r->cfg.n_milestones,
                             .total_steps = (int64_t)ph->epochs * r->steps_per_epoch};
    memcpy(sched.milestones, r->cfg.milestones, sizeof sched.milestones);
    if (phase == 0)
        sched.warmup_steps = (int64_t)llround(r->cfg.warmup_epochs * r->steps_per_epoch);
    r->ctx.global_epoch = r->pos.global_epoch;
    dpf_status st = dpf_trainer_begin_phase(r, phase, r->steps_per_epoch);
    if (st == DPF_OK && phase == 0 && !r->resuming)
        st = checkpoint(r); /* from now on --resume always has a state to continue from */
    int first_epoch = 0;
    if (st == DPF_OK && r->resuming) {
        st = dpf_trainer_load(r, r->cfg.out);
        first_epoch = r->pos.epoch;
        es->loss = r->pos.last_loss, es->acc = r->pos.last_acc, es->lr = r->pos.last_lr;
        if (st == DPF_OK && (r->pos.phase != phase || first_epoch > ph->epochs ||
                             r->pos.batch > r->steps_per_epoch))
            st = dpf_error(DPF_ERR_FORMAT, "--resume %s: the checkpoint's position (phase %d, "
                           "epoch %d, batch %d) does not fit this run", r->cfg.out, r->pos.phase,
                           first_epoch, r->pos.batch);
        r->resuming = st == DPF_OK && r->pos.batch > 0; /* mid-epoch: train_epoch continues */
    }
    for (int e = first_epoch; st == DPF_OK && e < ph->epochs; e++) {
        r->ctx.epoch = e;
        r->ctx.global_epoch = r->pos.global_epoch;
        r->pos.phase = phase, r->pos.epoch = e;
        st = train_epoch(r, &sched, es);
        if (st == DPF_OK)
            st = end_epoch(r, es, e + 1 == ph->epochs);
        if (st == DPF_OK) {
            r->pos.epoch = e + 1, r->pos.global_epoch++, r->pos.batch = 0;
            r->pos.loss_sum = r->pos.t_steps = 0, r->pos.hits = r->pos.seen = 0;
            r->pos.last_loss = es->loss, r->pos.last_acc = es->acc, r->pos.last_lr = es->lr;
            r->pos.metrics_lines = r->pos.global_epoch;
            st = checkpoint(r);
        }
    }
    return st == DPF_OK ? dpf_trainer_end_phase(r) : st;
}

/* --resume: the position to continue from, and metrics.jsonl cut back to the lines that belong
 * to it (an epoch finished after the checkpoint is trained again). */
static dpf_status prepare_resume(run *r)
{
    /* the saved options, and the position: the phase to start in and the metrics to keep */
    dpf_train_config saved;
    dpf_status st = dpf_checkpoint_peek(r->cfg.out, &saved, &r->pos);
    if (st != DPF_OK)
        return st;
    if (dpf_train_config_compatible(&saved, &r->cfg) != 0)
        return DPF_ERR_ARG;
    char summary[2048];
    snprintf(summary, sizeof summary, "%s/summary.json", r->cfg.out);
    if (dpf_file_exists(summary)) { /* written last: the run is complete */
        json_t *j = json_load_file(summary, 0, NULL);
        r->finished = 1;
        r->finished_wall = json_number_value(json_object_get(j, "wall_s"));
        json_decref(j);
    }
    r->wall_before = r->pos.wall_s;
    char path[2048], tmp[2100];
    snprintf(path, sizeof path, "%s/metrics.jsonl", r->cfg.out);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *in = r->writer ? fopen(path, "r") : NULL, *out = in ? fopen(tmp, "w") : NULL;
    if (in && !out)
        st = dpf_error(DPF_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
    if (in && out) {
        char line[65536];
        for (int64_t kept = 0; kept < r->pos.metrics_lines && fgets(line, sizeof line, in);)
            kept += fputs(line, out) >= 0 && strchr(line, '\n');
        int bad = fflush(out) != 0 || fsync(fileno(out)) != 0;
        bad |= fclose(out) != 0;
        out = NULL;
        if (bad || rename(tmp, path) != 0)
            st = dpf_error(DPF_ERR_IO, "%s: cannot rewrite: %s", path, strerror(errno));
    }
    if (in)
        fclose(in);
    r->resuming = 1;
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
            if (nz == 0 && res->layers_emptied++ == 0)
                snprintf(res->first_emptied, sizeof res->first_emptied, "%s", pi->name);
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

/* Batches of training data that give DPF's dense w its own BN statistics. */
#define BN_RECALIBRATION_BATCHES 100

/* Test accuracy of the sparse model w~ and of the dense model w (they differ for DPF). The BN
 * statistics of training belong to w~ (recomputed for the final w~ with --recalibrate-bn); the
 * dense w is evaluated (and saved) with statistics recalibrated for it, kept in r->dense_bn. */
static dpf_status final_accuracies(run *r, dpf_train_result *res)
{
    dpf_status st = DPF_OK;
    /* the final model's own statistics (--recalibrate-bn): training's running averages weigh
     * the last ~20 batches most, and DPF's mask changes every p steps up to the end */
    if (r->cfg.recalibrate_bn > 0 && dpf_net_buffers_size(r->net))
        st = dpf_recalibrate_bn(r->net, &r->train, r->cfg.mean, r->cfg.std,
                                r->cfg.recalibrate_bn);
    if (st == DPF_OK)
        st = dpf_trainer_evaluate(r, &r->test, &res->test_acc_sparse, NULL);
    res->test_acc_dense = res->test_acc_sparse;
    if (st != DPF_OK || !dpf_pruner_masked_forward(r->pruner))
        return st;
    size_t nbn = dpf_net_buffers_size(r->net);
    if (nbn) {
        r->dense_bn = malloc(nbn * sizeof *r->dense_bn);
        if (!r->dense_bn)
            return dpf_error(DPF_ERR_NOMEM, "out of memory");
        memcpy(r->dense_bn, dpf_net_buffers(r->net), nbn * sizeof *r->dense_bn);
    }
    st = dpf_net_use_forward_weights(r->net, 0);
    if (st == DPF_OK && nbn)
        st = dpf_recalibrate_bn(r->net, &r->train, r->cfg.mean, r->cfg.std,
                                BN_RECALIBRATION_BATCHES);
    if (st == DPF_OK)
        st = dpf_dist_evaluate(r->dist, r->net, &r->test, r->cfg.mean, r->cfg.std,
                               &res->test_acc_dense, NULL);
    if (nbn)
        dpf_net_swap_buffers(r->net, r->dense_bn); /* the net gets w~'s statistics back */
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
    if (st != DPF_OK || !dpf_pruner_masked_forward(r->pruner))
        return st;
    meta.sparsity = 0;  /* the dense w of DPF: what the feedback kept training */
    snprintf(path, sizeof path, "%s/dense.safetensors", r->cfg.out);
    if (r->dense_bn)
        dpf_net_swap_buffers(r->net, r->dense_bn); /* with its own BN statistics */
    st = dpf_model_save(r->net, &meta, 0, path);
    if (r->dense_bn)
        dpf_net_swap_buffers(r->net, r->dense_bn);
    return st;
}

/* A stop asked after the last step (SIGINT/SIGTERM/SIGHUP during the last evaluations): the
 * checkpoint of the last epoch is where the run continues from, so it stops as any interrupted
 * run does instead of finishing. */
static dpf_status stop_if_requested(run *r)
{
    int stop = r->stop;
    dpf_status st = dpf_dist_any(r->dist, &stop); /* every rank stops, or none */
    if (st != DPF_OK || !stop)
        return st;
    if (!r->cfg.out[0])
        return dpf_error(DPF_ERR_INTERRUPTED, "interrupted after the last step (no --out: nothing "
                         "saved)");
    return dpf_error(DPF_ERR_INTERRUPTED, "interrupted after the last step; the checkpoint is "
                     "saved: continue with dpf train --resume %s", r->cfg.out);
}

static dpf_status finish(run *r, dpf_train_result *res, double t_start)
{
    dpf_status st = dpf_trainer_merge_bn(r); /* the model every rank holds: their average */
    if (st == DPF_OK)
        st = final_accuracies(r, res);
    if (st != DPF_OK)
        return st;
    weight_stats(r->net, res);
    res->params_kept_dense = (int64_t)dpf_pruner_kept_dense(r->pruner);
    res->mask_updates = dpf_pruner_scheduled_updates(r->pruner);
    res->target_missed = !dpf_run_target_reached(&r->cfg, res);
    res->train_images_per_s =
        r->pos.train_time > 0 ? (double)r->pos.train_images / r->pos.train_time : 0;
    res->wall_s = r->finished ? r->finished_wall : r->wall_before + dpf_now() - t_start;
    st = stop_if_requested(r); /* a stop during the final evaluations */
    if (st != DPF_OK || !r->cfg.out[0] || r->finished) /* a finished run's files stay */
        return st;
    if (r->writer)
        st = save_models(r, res); /* summary.json last: it marks the run finished */
    json_t *s = st == DPF_OK && r->writer ? dpf_run_summary_json(&r->cfg, res) : NULL;
    if (s) {
        json_object_set_new(s, "pruning", dpf_json_pruning_report(r->pruner, r->total_epochs));
        json_object_set_new(s, "processes", json_integer(dpf_dist_size(r->dist)));
        st = dpf_run_write_json(r->cfg.out, "summary.json", s);
        json_decref(s);
    }
    return dpf_dist_agree_status(r->dist, st);
}

dpf_status dpf_trainer_create_dist(dpf_trainer **out, const dpf_train_config *cfg, dpf_net *net,
                                   dpf_dist *dist)
{
    *out = NULL;
    dpf_status st = dpf_train_config_check(cfg);
    int ranks = dpf_dist_size(dist);
    if (st == DPF_OK && cfg->batch % ranks != 0)
        st = dpf_error(DPF_ERR_ARG, "--batch %d does not split across %d processes: give a "
                       "multiple of %d (each process trains on --batch / %d images a step)",
                       cfg->batch, ranks, ranks, ranks);
    run *r = st == DPF_OK ? calloc(1, sizeof *r) : NULL;
    if (st == DPF_OK && !r)
        st = dpf_error(DPF_ERR_NOMEM, "out of memory");
    if (st != DPF_OK)
        return dpf_dist_agree_status(dist, st);
    r->cfg = *cfg;
    r->t_created = dpf_now();
    r->lock_fd = -1;
    r->net = net;
    r->dist = dist;
    r->writer = dpf_dist_rank(dist) == 0;
    st = net ? dpf_trainer_init(r) : setup(r);
    if (st == DPF_OK && !net && r->cfg.resume)
        st = prepare_resume(r);
    st = dpf_dist_agree_status(dist, st); /* a rank that failed stops them all */
    if (st != DPF_OK)
        dpf_trainer_free(r), r = NULL;
    *out = r;
    return st;
}

dpf_status dpf_trainer_create(dpf_trainer **out, const dpf_train_config *cfg, dpf_net *net)
{
    return dpf_trainer_create_dist(out, cfg, net, NULL);
}

dpf_status dpf_trainer_run(dpf_trainer *r, dpf_train_result *res)
{
    memset(res, 0, sizeof *res);
    if (!r->own_net)
        return dpf_error(DPF_ERR_STATE, "dpf_trainer_run: the trainer was created on a net of "
                         "the caller's (step it with dpf_trainer_step)");
    const int threads = dpf_threads_enter(r->cfg.threads); /* the caller's count comes back */
    epoch_stats es = {0};
    dpf_status st = DPF_OK;
    for (int ph = r->resuming ? r->pos.phase : 0; st == DPF_OK && ph < r->n_phases; ph++)
        st = run_phase(r, ph, &es);
    res->final_train_loss = es.loss;
    res->final_train_acc = es.acc;
    if (st == DPF_OK)
        st = stop_if_requested(r);
    if (st == DPF_OK)
        st = finish(r, res, r->t_created);
    dpf_progress_end(&r->progress); /* what is printed next starts on its own line */
    dpf_threads_leave(threads);
    return st;
}

dpf_status dpf_train_run(const dpf_train_config *cfg, dpf_train_result *res)
{
    memset(res, 0, sizeof *res);
    dpf_trainer *t;
    dpf_status st = dpf_trainer_create(&t, cfg, NULL);
    if (st == DPF_OK)
        st = dpf_trainer_run(t, res);
    dpf_trainer_free(t);
    return st;
}
