/* fixed.c — training with a given, fixed mask: the zero pattern of the prunable weights of a model
 * file (--mask-from, e.g. a DPF run's model.safetensors). With the run's own seed this retrains
 * the mask from the original initialisation, with another --init-seed from a new one: the
 * lottery-ticket check of the paper's Fig. 5. */
#include <stdio.h>
#include <string.h>

#include "dpf/model_io.h"
#include "prune/method.h"

/* The mask from the file's nonzeros; the file must hold the same model as the run. */
static dpf_status load_mask(dpf_pruner *p, const char *path)
{
    dpf_net *src = NULL;
    dpf_model_meta meta;
    dpf_status st = dpf_model_load(path, 1, &src, &meta);
    if (st != DPF_OK) { /* the message names the file; copy it before formatting anew */
        char why[512];
        snprintf(why, sizeof why, "%s", dpf_last_error());
        return dpf_error(st, "--mask-from: %s", why);
    }
    if (strcmp(meta.model, p->cfg->model) != 0 || dpf_net_param_count(src) !=
        dpf_net_param_count(p->net)) {
        dpf_net_free(src);
        return dpf_error(DPF_ERR_ARG, "--mask-from %s: holds a %s, this run trains a %s", path,
                         meta.model, p->cfg->model);
    }
    const dpf_real *w = dpf_net_weights(src);
    size_t kept = 0;
    for (int t = 0; t < dpf_net_param_count(p->net); t++) {
        const dpf_param_info *a = dpf_net_param(p->net, t), *b = dpf_net_param(src, t);
        if (a->count != b->count || a->offset != b->offset) {
            dpf_net_free(src);
            return dpf_error(DPF_ERR_ARG, "--mask-from %s: %s has %zu elements, this run's %zu "
                             "(another input shape or class count?)", path, b->name, b->count,
                             a->count);
        }
        if (!a->prunable)
            continue;
        for (size_t i = a->offset; i < a->offset + a->count; i++) {
            p->mask[i] = w[i] != 0;
            kept += p->mask[i];
        }
    }
    dpf_net_free(src);
    p->target = p->n_prunable ? 1.0 - (double)kept / (double)p->n_prunable : 0;
    return DPF_OK;
}

static dpf_status fixed_check(const dpf_train_config *cfg)
{
    return cfg->mask_from[0] ? DPF_OK
                             : dpf_error(DPF_ERR_ARG, "--method fixed needs --mask-from MODEL");
}

static dpf_status fixed_begin(dpf_pruner *p, dpf_prune_ctx *c)
{
    if (c->phase > 0)
        return DPF_OK;
    dpf_status st = load_mask(p, p->cfg->mask_from);
    if (st != DPF_OK)
        return st;
    dpf_pruner_record_update(p, c);
    dpf_pruner_enforce(p, c->opt);
    return DPF_OK;
}

const dpf_method_ops dpf_method_fixed = {
    .name = "fixed", .hard = 1, .begin_phase = fixed_begin,
    .after_backward = dpf_hook_mask_grads, .after_step = dpf_hook_enforce,
    .check = fixed_check,
};
