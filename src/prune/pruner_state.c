/* pruner_state.c — what a checkpoint carries of the pruner: the mask, the mask of the previous
 * update (for IoU), the epoch each weight last flipped, the method's random generator and the
 * method's own state (the items its state_items hook names: LT's initial weights, DSR's
 * threshold, ...) as tensors under "pruner/" and "method/"; the scalars (target, counters, the
 * mask updates of the unfinished epoch) are handed to the trainer, which stores them. */
#include <stdio.h>
#include <string.h>

#include "prune/method.h"

#define MAX_ITEMS 8

static int method_items(dpf_pruner *p, dpf_state_item *items)
{
    return p->ops->state_items ? p->ops->state_items(p, items, MAX_ITEMS) : 0;
}

dpf_status dpf_pruner_save_tensors(dpf_pruner *p, dpf_st_writer *w)
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

dpf_status dpf_pruner_load_tensors(dpf_pruner *p, const dpf_st_file *f)
{
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
    return st;
}

dpf_status dpf_pruner_restore(dpf_pruner *p, double target, int64_t update_count,
                              int64_t scheduled, const dpf_mask_update *updates, size_t n)
{
    p->n_epoch_updates = 0;
    for (size_t i = 0; i < n; i++)
        *dpf_pruner_new_record(p, updates[i].step) = updates[i];
    if (p->out_of_memory)
        return dpf_error(DPF_ERR_NOMEM, "out of memory for the records of mask updates");
    p->target = target;
    p->n_updates = update_count;
    p->n_scheduled = scheduled;
    return DPF_OK;
}
