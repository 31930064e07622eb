/* config.c — defaults of a training run and the checks that reject bad options with a message
 * naming the option as the user typed it. */
#include <stdio.h>
#include <stddef.h>
#include <string.h>

#include "dpf/data.h"
#include "dpf/net.h"
#include "dpf/train.h"
#include "prune/pruner.h"

void dpf_train_config_defaults(dpf_train_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->data, sizeof c->data, "fashion-mnist");
    snprintf(c->model, sizeof c->model, "lenet5");
    snprintf(c->method, sizeof c->method, "dpf");
    c->sparsity = 0.9;
    snprintf(c->optimizer, sizeof c->optimizer, "sgd");
    c->epochs = 10;
    c->batch = 128;
    c->lr = 0.05;
    c->momentum = 0.9;
    c->nesterov = 1;
    c->weight_decay = 1e-4;
    c->gamma = 0.1;
    c->n_milestones = 2;
    c->milestones[0] = 0.5;
    c->milestones[1] = 0.75;
    c->seed = 1;
    c->crop_pad = 2;
    c->flip = 1;
    c->progress = -1;
    c->period = 16;
    c->eval_every = 1;
    c->ramp_end = -1;
    c->lt_rounds = 3;
    c->prune_rate = -1;
    c->update_every = -1;
    c->density_erk = -1;
    snprintf(c->conv_algo, sizeof c->conv_algo, "auto");
    c->mean[0] = -1; /* < 0: the data set's constants */
}

dpf_status dpf_train_config_check(const dpf_train_config *c)
{
    if (!dpf_dataset_known(c->data))
        return dpf_error(DPF_ERR_ARG, "--data: unknown data set '%s' (known: mnist, "
                         "fashion-mnist, cifar10, cifar100)", c->data);
    if (!dpf_model_known(c->model))
        return dpf_error(DPF_ERR_ARG, "--model: unknown model '%s' (known: %s)", c->model,
                         dpf_model_list());
    if (!dpf_method_find(c->method))
        return dpf_error(DPF_ERR_ARG, "--method: unknown method '%s' (known: %s)", c->method,
                         dpf_method_list());
    if (!(c->sparsity >= 0 && c->sparsity < 1))
        return dpf_error(DPF_ERR_ARG, "--sparsity: %g is out of range [0, 1)", c->sparsity);
    if (strcmp(c->method, "dense") == 0 && c->sparsity > 0)
        return dpf_error(DPF_ERR_ARG, "--sparsity %g needs a pruning method (--method dense "
                         "trains the dense model)", c->sparsity);
    static const char *const unstructured_only[] = {"dsr", "sm", "set", "rigl"};
    for (size_t i = 0; i < sizeof unstructured_only / sizeof unstructured_only[0]; i++)
        if (strcmp(c->method, unstructured_only[i]) == 0 && (c->structured || c->layer_scope))
            return dpf_error(DPF_ERR_ARG, "--method %s sets its own per-layer densities and is "
                             "unstructured: --structured and --scope layer do not apply",
                             c->method);
    if (c->period < 1 || c->period > 1000000)
        return dpf_error(DPF_ERR_ARG, "--period: %d is out of range [1, 1000000]", c->period);
    if (!(c->ramp_start >= 0 && c->ramp_start < 1) ||
        (c->ramp_end >= 0 && !(c->ramp_end > c->ramp_start && c->ramp_end <= 1)))
        return dpf_error(DPF_ERR_ARG, "--ramp-start/--ramp-end: need 0 <= start < end <= 1, got "
                         "%g and %g", c->ramp_start, c->ramp_end);
    if (c->finetune_epochs < 0 || c->finetune_epochs > 100000)
        return dpf_error(DPF_ERR_ARG, "--finetune: %d is out of range [0, 100000]",
                         c->finetune_epochs);
    if (!(c->finetune_lr >= 0))
        return dpf_error(DPF_ERR_ARG, "--finetune-lr: %g must be > 0", c->finetune_lr);
    if (c->prune_rate >= 1 || (c->prune_rate < 0 && c->prune_rate != -1))
        return dpf_error(DPF_ERR_ARG, "--prune-rate: %g is out of range [0, 1)", c->prune_rate);
    if (c->update_every < -1 || c->update_every > 1000000)
        return dpf_error(DPF_ERR_ARG, "--update-every: %d is out of range [0, 1000000]",
                         c->update_every);
    int bits = 0;
    char tail = 0;
    if (c->compressor[0] && strcmp(c->compressor, "sign") != 0 &&
        (sscanf(c->compressor, "q%d%c", &bits, &tail) != 1 || bits < 1 || bits > 16 ||
         c->compressor[1] == '0' || /* digits only: not "q 8", "q+8" or "q08" */
         strspn(c->compressor + 1, "0123456789") != strlen(c->compressor + 1)))
        return dpf_error(DPF_ERR_ARG, "--compressor: unknown compressor '%s' (sign, q1..q16)",
                         c->compressor);
    if (c->compressor[0] && strcmp(c->method, "dpf") != 0)
        return dpf_error(DPF_ERR_ARG, "--compressor works with --method dpf");
    if ((strcmp(c->method, "fixed") == 0) != (c->mask_from[0] != 0))
        return dpf_error(DPF_ERR_ARG, c->mask_from[0] ? "--mask-from works with --method fixed"
                                                      : "--method fixed needs --mask-from MODEL");
    if (c->lt_rounds < 1 || c->lt_rounds > 30)
        return dpf_error(DPF_ERR_ARG, "--lt-rounds: %d is out of range [1, 30]", c->lt_rounds);
    if (c->epochs < 1 || c->epochs > 100000)
        return dpf_error(DPF_ERR_ARG, "--epochs: %d is out of range [1, 100000]", c->epochs);
    if (c->batch < 1 || c->batch > 65536)
        return dpf_error(DPF_ERR_ARG, "--batch: %d is out of range [1, 65536]", c->batch);
    if (strcmp(c->optimizer, "sgd") != 0 && strcmp(c->optimizer, "adam") != 0)
        return dpf_error(DPF_ERR_ARG, "--optimizer: unknown optimizer '%s' (known: sgd, adam)",
                         c->optimizer);
    if (!(c->lr > 0 && c->lr < 1e3))
        return dpf_error(DPF_ERR_ARG, "--lr: %g is out of range (0, 1000)", c->lr);
    if (!(c->momentum >= 0 && c->momentum < 1))
        return dpf_error(DPF_ERR_ARG, "--momentum: %g is out of range [0, 1)", c->momentum);
    if (c->nesterov && c->momentum == 0 && strcmp(c->optimizer, "sgd") == 0)
        return dpf_error(DPF_ERR_ARG, "--nesterov needs --momentum > 0 (or use --no-nesterov)");
    if (!(c->weight_decay >= 0 && c->weight_decay < 1))
        return dpf_error(DPF_ERR_ARG, "--wd: %g is out of range [0, 1)", c->weight_decay);
    if (!(c->gamma > 0 && c->gamma <= 1))
        return dpf_error(DPF_ERR_ARG, "--gamma: %g is out of range (0, 1]", c->gamma);
    if (!(c->warmup_epochs >= 0 && c->warmup_epochs <= c->epochs))
        return dpf_error(DPF_ERR_ARG, "--warmup: %g is out of range [0, --epochs]",
                         c->warmup_epochs);
    for (int i = 0; i < c->n_milestones; i++)
        if (!(c->milestones[i] > 0 && c->milestones[i] < 1) ||
            (i > 0 && c->milestones[i] <= c->milestones[i - 1]))
            return dpf_error(DPF_ERR_ARG, "--milestones: need increasing fractions in (0, 1), "
                             "got %g at position %d", c->milestones[i], i + 1);
    dpf_conv_algo algo;
    if (dpf_conv_algo_parse(c->conv_algo, &algo) != DPF_OK || algo == DPF_CONV_WINOGRAD)
        return dpf_error(DPF_ERR_ARG, "--conv-algo: '%s' is not auto or direct", c->conv_algo);
    if (c->threads < 0 || c->threads > 1024)
        return dpf_error(DPF_ERR_ARG, "--threads: %d is out of range [0, 1024]", c->threads);
    if (c->limit_train < 0)
        return dpf_error(DPF_ERR_ARG, "--limit-train: %d must be >= 0", c->limit_train);
    if (c->crop_pad < 0 || c->crop_pad > 64)
        return dpf_error(DPF_ERR_ARG, "--crop-pad: %d is out of range [0, 64]", c->crop_pad);
    if (c->eval_every < 1 || c->eval_every > 100000)
        return dpf_error(DPF_ERR_ARG, "--eval-every: %d is out of range [1, 100000]",
                         c->eval_every);
    if (c->checkpoint_every < 0)
        return dpf_error(DPF_ERR_ARG, "--checkpoint-every: %d must be >= 0", c->checkpoint_every);
    if (c->resume && !c->out[0])
        return dpf_error(DPF_ERR_ARG, "--resume needs the run directory");
    return DPF_OK;
}

/* The options a resumed run must keep: every field that shapes the training. Text fields
 * compare up to their terminating NUL. */
#define FIELD(opt, f, text) \
    {opt, offsetof(dpf_train_config, f), sizeof(((dpf_train_config *)0)->f), text}
static const struct {
    const char *option;
    size_t offset, size;
    int text;
} kept[] = {
    FIELD("--data", data, 1),            FIELD("--model", model, 1),
    FIELD("--method", method, 1),        FIELD("--sparsity", sparsity, 0),
    FIELD("--structured", structured, 0), FIELD("--scope", layer_scope, 0),
    FIELD("--period", period, 0),        FIELD("--ramp-start", ramp_start, 0),
    FIELD("--ramp-end", ramp_end, 0),    FIELD("--finetune", finetune_epochs, 0),
    FIELD("--finetune-lr", finetune_lr, 0), FIELD("--lt-rounds", lt_rounds, 0),
    FIELD("--prune-rate", prune_rate, 0), FIELD("--update-every", update_every, 0),
    FIELD("--density-dist", density_erk, 0), FIELD("--compressor", compressor, 1),
    FIELD("--epochs", epochs, 0),        FIELD("--batch", batch, 0),
    FIELD("--optimizer", optimizer, 1),  FIELD("--lr", lr, 0),
    FIELD("--momentum", momentum, 0),    FIELD("--wd", weight_decay, 0),
    FIELD("--gamma", gamma, 0),          FIELD("--warmup", warmup_epochs, 0),
    FIELD("--nesterov", nesterov, 0),    FIELD("--milestones", milestones, 0),
    FIELD("--milestones", n_milestones, 0), FIELD("--seed", seed, 0),
    FIELD("--init-seed", init_seed, 0),  FIELD("--init-seed", has_init_seed, 0),
    FIELD("--mask-from", mask_from, 1),
    FIELD("--limit-train", limit_train, 0), FIELD("--crop-pad", crop_pad, 0),
    FIELD("--no-flip", flip, 0),         FIELD("normalisation", mean, 0),
    FIELD("normalisation", std, 0),
};

int dpf_train_config_compatible(const dpf_train_config *saved, const dpf_train_config *now)
{
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        const char *a = (const char *)saved + kept[i].offset;
        const char *b = (const char *)now + kept[i].offset;
        if (kept[i].text ? strncmp(a, b, kept[i].size) != 0 : memcmp(a, b, kept[i].size) != 0) {
            dpf_error(DPF_ERR_ARG, "--resume %s: %s differs from the interrupted run's; a run "
                      "continues with its own options (only --threads, --conv-algo, --progress, --data-dir, "
                      "--checkpoint-every and --eval-every may change)", now->out, kept[i].option);
            return -1;
        }
    }
    return 0;
}
