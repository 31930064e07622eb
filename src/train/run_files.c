/* run_files.c — writing config.json, metrics.jsonl and summary.json with jansson. JSON files are
 * written atomically; metrics.jsonl is appended one flushed line per epoch. */
#include "train/run_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "train/config.h"

/* Every file a run writes (each also through NAME.tmp): any of them in --out, left by a run or
 * not, would be overwritten or deleted, so --out refuses it without --force. */
static const char *const run_files[] = {"config.json", "metrics.jsonl", "summary.json",
                                        "model.safetensors", "dense.safetensors",
                                        "checkpoint.safetensors"};
#define N_RUN_FILES (sizeof run_files / sizeof run_files[0])

/* The first file of the run's (or its .tmp) found in dir, or NULL. */
static const char *run_file_in(const char *dir, char *path, size_t cap)
{
    for (size_t i = 0; i < 2 * N_RUN_FILES; i++) {
        snprintf(path, cap, "%s/%s%s", dir, run_files[i / 2], i % 2 ? ".tmp" : "");
        if (dpf_file_exists(path))
            return path + strlen(dir) + 1;
    }
    return NULL;
}

dpf_status dpf_run_lock(const char *dir, int *fd_out)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/.dpf-lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return dpf_error(DPF_ERR_IO, "--out %s: cannot create %s: %s", dir, path, strerror(errno));
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_SETLK, &fl) != 0) {
        close(fd);
        return dpf_error(DPF_ERR_STATE, "--out %s is in use by another dpf run; wait for it to "
                         "end or choose another directory", dir);
    }
    *fd_out = fd;
    return DPF_OK;
}

dpf_status dpf_run_prepare_dir(const dpf_train_config *cfg, int *lock_fd)
{
    char path[2048];
    dpf_status st = dpf_mkdir_p(cfg->out);
    if (st != DPF_OK) { /* the message names the path that failed; say it is --out's */
        char why[512];
        snprintf(why, sizeof why, "%s", dpf_last_error());
        return dpf_error(st, "--out: %s", why);
    }
    st = dpf_run_lock(cfg->out, lock_fd); /* before anything in it is checked or removed */
    if (st != DPF_OK)
        return st;
    const char *found = run_file_in(cfg->out, path, sizeof path);
    if (found && !cfg->force)
        return dpf_error(DPF_ERR_ARG, "--out %s already holds a run (%s, which this run would "
                         "overwrite or delete); choose another directory or pass --force",
                         cfg->out, found);
    if (access(cfg->out, W_OK) != 0)
        return dpf_error(DPF_ERR_IO, "--out %s: not writable: %s", cfg->out, strerror(errno));
    /* --force: nothing of the old run may pass for the new run's */
    while (run_file_in(cfg->out, path, sizeof path))
        if (unlink(path) != 0)
            return dpf_error(DPF_ERR_IO, "%s: cannot remove: %s", path, strerror(errno));
    return DPF_OK;
}

static json_t *float_array(const float *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_real((double)v[i]));
    return a;
}

json_t *dpf_run_config_json(const dpf_train_config *c, const dpf_net *net)
{
    int channels = 1;
    dpf_net_input_shape(net, &channels, NULL, NULL, NULL);
    json_t *prunable = json_array();
    for (int p = 0; p < dpf_net_param_count(net); p++)
        if (dpf_net_param(net, p)->prunable)
            json_array_append_new(prunable, json_string(dpf_net_param(net, p)->name));
    json_t *o = dpf_train_config_json(c, 1);
    json_object_set_new(o, "init_seed", json_integer((json_int_t)(c->has_init_seed ? c->init_seed
                                                                                 : c->seed)));
    json_object_set_new(o, "normalize", json_pack("{s:o, s:o}", "mean",
                                                  float_array(c->mean, channels), "std",
                                                  float_array(c->std, channels)));
    json_object_set_new(o, "precision", json_string(DPF_REAL_NAME));
    json_object_set_new(o, "prunable", prunable);
    json_object_set_new(o, "version", json_string("dpf " DPF_LIB_VERSION));
    return o;
}

dpf_status dpf_run_write_json(const char *dir, const char *name, json_t *obj)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = json_dumps(obj, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    if (!text)
        return dpf_error(DPF_ERR_NOMEM, "%s: cannot serialise JSON", path);
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps leaves room for the terminator; overwrite it */
    dpf_status st = dpf_write_file_atomic(path, text, len + 1);
    free(text);
    return st;
}

dpf_status dpf_run_append_metrics(const char *dir, json_t *obj)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    FILE *f = fopen(path, "a");
    if (!f)
        return dpf_error(DPF_ERR_IO, "%s: cannot append: %s", path, strerror(errno));
    int bad = json_dumpf(obj, f, JSON_COMPACT | JSON_REAL_PRECISION(10)) != 0;
    bad |= fputc('\n', f) == EOF;
    bad |= fflush(f) != 0;
    bad |= fclose(f) != 0;
    return bad ? dpf_error(DPF_ERR_IO, "%s: write failed", path) : DPF_OK;
}

/* The target applies to the prunable weights the method prunes (DSR leaves some dense). */
int dpf_run_target_reached(const dpf_train_config *c, const dpf_train_result *r)
{
    if (strcmp(c->method, "dense") == 0 || strcmp(c->method, "fixed") == 0 || c->compressor[0])
        return 1;
    int64_t pruned_layers = r->params_prunable - r->params_kept_dense;
    double zeros = r->sparsity_prunable * (double)r->params_prunable;
    return pruned_layers > 0 ? zeros / (double)pruned_layers >= c->sparsity - 0.01 : 1;
}

int dpf_train_schedule_warning(const dpf_train_config *c, const dpf_train_result *r, char *buf,
                               size_t size)
{
    if (r->mask_updates != 0)
        return 0;
    snprintf(buf, size, "the schedule of --method %s made no mask update during training (the "
             "run is too short for it: more --epochs or --limit-train, or a smaller "
             "--update-every / --period); its mask is the one it started with", c->method);
    return 1;
}

static json_t *summary_base(const dpf_train_config *c, const dpf_train_result *r)
{
    return json_pack("{s:s, s:s, s:s, s:i, s:f, s:f, s:f, s:b, s:f, s:f, s:I, s:I, s:I, s:I, "
                     "s:I, s:f, s:f, s:f, s:f, s:i}",
                     "model", c->model, "method", c->method, "data", c->data, "epochs", c->epochs,
                     "test_acc_dense", r->test_acc_dense, "test_acc_sparse", r->test_acc_sparse,
                     "target_sparsity", c->sparsity, "target_reached",
                     dpf_run_target_reached(c, r), "sparsity_prunable", r->sparsity_prunable,
                     "sparsity_total", r->sparsity_total, "params_total",
                     (json_int_t)r->params_total, "params_nonzero", (json_int_t)r->params_nonzero,
                     "params_prunable", (json_int_t)r->params_prunable, "macs_dense",
                     (json_int_t)r->macs_dense, "macs_sparse", (json_int_t)r->macs_sparse,
                     "train_images_per_s", r->train_images_per_s, "wall_s", r->wall_s,
                     "final_train_loss", r->final_train_loss, "final_train_acc",
                     r->final_train_acc, "layers_emptied", r->layers_emptied);
}

json_t *dpf_run_summary_json(const dpf_train_config *c, const dpf_train_result *r)
{
    json_t *s = summary_base(c, r);
    char warning[512];
    if (s && r->params_kept_dense > 0)
        json_object_set_new(s, "params_kept_dense", json_integer(r->params_kept_dense));
    if (s && r->mask_updates >= 0)
        json_object_set_new(s, "mask_updates", json_integer(r->mask_updates));
    if (s && dpf_train_schedule_warning(c, r, warning, sizeof warning))
        json_object_set_new(s, "warnings", json_pack("[s]", warning));
    return s;
}
