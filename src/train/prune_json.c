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
    return json_pack("{s:f, s:I, s:o, s:b, s:b}", "target", dpf_pruner_target(p), "n_updates",
                     (json_int_t)dpf_pruner_update_count(p), "updates", updates_json(u, n),
                     "hard", dpf_pruner_hard(p), "monotone", dpf_pruner_monotone(p));
}

/* A number of o (NAN when absent); *bad is set when it is there but not a number. */
static double number_or_nan(const json_t *o, const char *key, int *bad)
{
    const json_t *j = json_object_get(o, key);
    *bad |= j && !json_is_number(j);
    return j ? json_number_value(j) : NAN;
}

static int64_t count_or_none(const json_t *o, const char *key, int *bad)
{
    const json_t *j = json_object_get(o, key);
    *bad |= j && !json_is_integer(j);
    return j ? json_integer_value(j) : -1;
}

/* The records of a: 0, or -1 when one is malformed. */
static int parse_updates(const json_t *a, dpf_mask_update *out)
{
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *o = json_array_get(a, i);
        int bad = !json_is_integer(json_object_get(o, "step")) ||
                  !json_is_number(json_object_get(o, "delta"));
        out[i] = (dpf_mask_update){.step = json_integer_value(json_object_get(o, "step")),
                                   .delta = json_number_value(json_object_get(o, "delta"))};
        out[i].sparsity = number_or_nan(o, "sparsity", &bad);
        out[i].iou = number_or_nan(o, "iou", &bad);
        out[i].flips = count_or_none(o, "flips", &bad);
        out[i].threshold = number_or_nan(o, "threshold", &bad);
        out[i].prune_rate = number_or_nan(o, "prune_rate", &bad);
        out[i].reallocated = count_or_none(o, "reallocated", &bad);
        if (bad)
            return -1;
    }
    return 0;
}

dpf_status dpf_json_pruner_load(dpf_pruner *p, const dpf_st_file *f, const json_t *state)
{
    const json_t *pj = json_object_get(state, "pruner");
    const json_t *updates = json_object_get(pj, "updates");
    if (!json_is_real(json_object_get(pj, "target")) || !json_is_array(updates) ||
        !json_is_integer(json_object_get(pj, "n_updates")) ||
        !json_is_boolean(json_object_get(pj, "hard")) ||
        !json_is_boolean(json_object_get(pj, "monotone")))
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
    if (st == DPF_OK) /* hard and monotone are the method's (and phase's): not restored */
        st = dpf_pruner_load_tensors(p, f);
    if (st == DPF_OK)
        st = dpf_pruner_restore(p, json_real_value(json_object_get(pj, "target")),
                                json_integer_value(json_object_get(pj, "n_updates")), u, n);
    free(u);
    return st;
}
