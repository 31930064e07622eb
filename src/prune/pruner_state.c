/* pruner_state.c — what a checkpoint carries of the pruner: the mask, the mask of the previous
 * update (for IoU), the epoch each weight last flipped, the method's random generator, the
 * current target and update counters, the mask updates of the unfinished epoch, and the
 * method's own state (the items its state_items hook names: LT's initial weights, DSR's
 * threshold, ...). Tensors go into the checkpoint's safetensors file under "pruner/", scalars
 * into its JSON metadata object. */
#include <stdio.h>
#include <string.h>

#include "prune/pruner.h"

#define MAX_ITEMS 8

static int method_items(dpf_pruner *p, dpf_state_item *items)
{
    return p->ops->state_items ? p->ops->state_items(p, items, MAX_ITEMS) : 0;
}

dpf_status dpf_pruner_save(dpf_pruner *p, dpf_st_writer *w, json_t *meta)
{
    int64_t n = (int64_t)p->n, four = 4;
    dpf_status st = dpf_st_writer_add(w, "pruner/mask", DPF_ST_U8, 1, &n, p->mask);
    if (st == DPF_OK)
        st = dpf_st_writer_add(w, "pruner/prev_mask", DPF_ST_U8, 1, &n, p->prev_mask);
    if (st == DPF_OK)
        st = dpf_st_writer_add(w, "pruner/last_flip", DPF_ST_I16, 1, &n, p->last_flip);
    if (st == DPF_OK)
        st = dpf_st_writer_add(w, "pruner/rng", DPF_ST_I64, 1, &four, p->rng.s);
    dpf_state_item items[MAX_ITEMS];
    int k = method_items(p, items);
    for (int i = 0; st == DPF_OK && i < k; i++) {
        char name[96];
        int64_t bytes = (int64_t)items[i].bytes;
        snprintf(name, sizeof name, "method/%s", items[i].name);
        st = dpf_st_writer_add(w, name, DPF_ST_U8, 1, &bytes, items[i].data);
    }
    if (st == DPF_OK)
        json_object_set_new(meta, "pruner",
                            json_pack("{s:f, s:I, s:O, s:b, s:b}", "target", p->target,
                                      "n_updates", (json_int_t)p->n_updates, "updates",
                                      p->updates, "hard", p->hard, "monotone", p->monotone));
    return st;
}

/* Copies tensor `name` of exactly `bytes` bytes into dst. */
static dpf_status get_bytes(const dpf_st_file *f, const char *name, void *dst, size_t bytes)
{
    const dpf_st_tensor *t = dpf_st_find(f, name);
    if (!t)
        return dpf_error(DPF_ERR_FORMAT, "%s: checkpoint lacks tensor '%s'", f->path, name);
    if (t->nbytes != bytes)
        return dpf_error(DPF_ERR_FORMAT, "%s: tensor '%s' holds %zu bytes, expected %zu "
                         "(a checkpoint of another model or method?)", f->path, name, t->nbytes,
                         bytes);
    memcpy(dst, f->data + t->offset, bytes);
    return DPF_OK;
}

dpf_status dpf_pruner_load(dpf_pruner *p, const dpf_st_file *f, const json_t *meta)
{
    const json_t *pj = json_object_get(meta, "pruner");
    json_t *updates = json_object_get(pj, "updates");
    if (!json_is_real(json_object_get(pj, "target")) || !json_is_array(updates) ||
        !json_is_integer(json_object_get(pj, "n_updates")) ||
        !json_is_boolean(json_object_get(pj, "hard")) ||
        !json_is_boolean(json_object_get(pj, "monotone")))
        return dpf_error(DPF_ERR_FORMAT, "%s: checkpoint metadata lacks the pruner's state",
                         f->path);
    json_t *copy = json_deep_copy(updates);
    if (!copy)
        return dpf_error(DPF_ERR_NOMEM, "out of memory");
    dpf_status st = get_bytes(f, "pruner/mask", p->mask, p->n);
    if (st == DPF_OK)
        st = get_bytes(f, "pruner/prev_mask", p->prev_mask, p->n);
    if (st == DPF_OK)
        st = get_bytes(f, "pruner/last_flip", p->last_flip, p->n * sizeof *p->last_flip);
    if (st == DPF_OK)
        st = get_bytes(f, "pruner/rng", p->rng.s, sizeof p->rng.s);
    dpf_state_item items[MAX_ITEMS];
    int k = method_items(p, items);
    for (int i = 0; st == DPF_OK && i < k; i++) {
        char name[96];
        snprintf(name, sizeof name, "method/%s", items[i].name);
        st = get_bytes(f, name, items[i].data, items[i].bytes);
    }
    if (st != DPF_OK) {
        json_decref(copy);
        return st;
    }
    p->target = json_real_value(json_object_get(pj, "target"));
    p->n_updates = json_integer_value(json_object_get(pj, "n_updates"));
    /* set by an earlier phase's end (LT's rewind makes the mask hard): not redone on resume */
    p->hard = json_is_true(json_object_get(pj, "hard"));
    p->monotone = json_is_true(json_object_get(pj, "monotone"));
    json_decref(p->updates);
    p->updates = copy;
    return DPF_OK;
}
