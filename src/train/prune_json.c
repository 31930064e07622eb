/* prune_json.c — the pruner's plain records turned into JSON and back (see prune_json.h). */
#include "train/prune_json.h"

#include <math.h>
#include <stdlib.h>

static json_t *update_json(const dpf_mask_update *u)
{
    if (isnan(u->sparsity)) /* DPF's compressor: no mask */
        return json_pack("{s:I, s:f}", "step", (json_int_t)u->step, "delta", u->delta);
    json_t *o = json_pack("{s:I, s:f, s:f, s:f, s:I}", "step", (json_int_t)u->step, "sparsity",
                          u->sparsity, "delta", u->delta, "iou", u->iou, "flips",
                          (json_int_t)u->flips);
    if (!isnan(u->threshold))
        json_object_set_new(o, "threshold", json_real(u->threshold));
    if (!isnan(u->prune_rate))
        json_object_set_new(o, "prune_rate", json_real(u->prune_rate));
    if (u->reallocated >= 0)
        json_object_set_new(o, "reallocated", json_integer(u->reallocated));
    return o;
}

static json_t *updates_json(const dpf_mask_update *u, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, update_json(&u[i]));
    return a;
}

static json_t *layers_json(const dpf_mask_stats *s)
{
    json_t *o = json_object();
    for (int l = 0; l < s->n_layers; l++)
        json_object_set_new(o, s->layers[l]->name, json_real(s->layer_sparsity[l]));
    return o;
}

void dpf_json_add_mask_stats(json_t *m, const dpf_mask_stats *s)
{
    json_object_set_new(m, "phase_kind",
                        json_string(s->kind == DPF_PHASE_TRAIN ? "train" : "finetune"));
    json_object_set_new(m, "sparsity", json_real(s->sparsity));
    json_object_set_new(m, "target_sparsity", json_real(s->target));
    json_object_set_new(m, "layer_sparsity", layers_json(s));
    json_object_set_new(m, "mask_updates", updates_json(s->updates, s->n_updates));
}

json_t *dpf_json_pruning_report(dpf_pruner *p, int epochs_total)
{
    json_t *still = json_array();
    for (int e = 0; e < epochs_total; e++)
        json_array_append_new(still, json_real(dpf_pruner_changed_after(p, e)));
    dpf_mask_stats s;
    dpf_pruner_stats(p, &s);
    return json_pack("{s:o, s:o, s:I, s:I}", "mask_changing_after_epoch", still,
                     "layer_sparsity", layers_json(&s), "mask_updates",
                     (json_int_t)dpf_pruner_update_count(p), "params_prunable",
                     (json_int_t)dpf_pruner_prunable(p));
}

json_t *dpf_json_pruner_state(const dpf_pruner *p)
{
    size_t n;
    const dpf_mask_update *u = dpf_pruner_updates(p, &n);
    return json_pack("{s:f, s:I, s:I, s:o, s:b, s:b}", "target", dpf_pruner_target(p),
                     "n_updates", (json_int_t)dpf_pruner_update_count(p), "n_scheduled",
                     (json_int_t)dpf_pruner_scheduled_updates(p), "updates", updates_json(u, n),
                     "hard", dpf_pruner_hard(p), "monotone", dpf_pruner_monotone(p));
}

/* The records of a: 0, or -1 when one is malformed (no step or delta, a field of the wrong
 * type); fields a record lacks are NAN or -1. */
static int parse_updates(const json_t *a, dpf_mask_update *out)
{
    for (size_t i = 0; i < json_array_size(a); i++) {
        dpf_mask_update *u = &out[i];
        *u = (dpf_mask_update){.sparsity = NAN, .iou = NAN, .threshold = NAN, .prune_rate = NAN};
        json_int_t step, flips = -1, reallocated = -1;
        if (json_unpack((json_t *)json_array_get(a, i), "{s:I, s?F, s:F, s?F, s?I, s?F, s?F, s?I}",
                        "step", &step, "sparsity", &u->sparsity, "delta", &u->delta, "iou",
                        &u->iou, "flips", &flips, "threshold", &u->threshold, "prune_rate",
                        &u->prune_rate, "reallocated", &reallocated) != 0)
            return -1;
        u->step = step, u->flips = flips, u->reallocated = reallocated;
    }
    return 0;
}

dpf_status dpf_json_pruner_load(dpf_pruner *p, const dpf_st_file *f, const json_t *state)
{
    double target;
    json_int_t count, scheduled = -2; /* absent (an older checkpoint): taken as count */
    json_t *updates;
    int hard, monotone; /* the method's (and phase's): checked, not restored */
    if (json_unpack((json_t *)json_object_get(state, "pruner"), "{s:F, s:I, s?I, s:o, s:b, s:b}",
                    "target", &target, "n_updates", &count, "n_scheduled", &scheduled,
                    "updates", &updates, "hard", &hard, "monotone", &monotone) != 0 ||
        !json_is_array(updates))
        return dpf_error(DPF_ERR_FORMAT, "%s: checkpoint metadata lacks the pruner's state",
                         f->path);
    size_t n = json_array_size(updates);
    dpf_mask_update *u = malloc((n ? n : 1) * sizeof *u);
    if (!u)
        return dpf_error(DPF_ERR_NOMEM, "out of memory");
    dpf_status st = parse_updates(updates, u) == 0
                        ? DPF_OK
                        : dpf_error(DPF_ERR_FORMAT, "%s: a mask update in the checkpoint's "
                                    "metadata is malformed", f->path);
    if (st == DPF_OK)
        st = dpf_pruner_load_tensors(p, f);
    if (st == DPF_OK)
        st = dpf_pruner_restore(p, target, count, scheduled == -2 ? count : scheduled, u, n);
    free(u);
    return st;
}
