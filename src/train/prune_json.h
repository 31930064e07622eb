/* prune_json.h — the pruner's records as JSON: the mask statistics of an epoch (metrics.jsonl),
 * the pruning report (summary.json) and the pruner's scalars in a checkpoint's metadata. */
#ifndef DPF_PRUNE_JSON_H
#define DPF_PRUNE_JSON_H

#include <jansson.h>

#include "prune/pruner.h"

/* Adds phase_kind, sparsity, target_sparsity, layer_sparsity and mask_updates to m. */
void dpf_json_add_mask_stats(json_t *m, const dpf_mask_stats *s);
/* summary.json's "pruning": mask convergence (paper Fig. 4, 14), layer sparsity, counts. */
json_t *dpf_json_pruning_report(dpf_pruner *p, int epochs_total);
/* The checkpoint's "pruner" object, and restoring the pruner from it and the tensors of f. */
json_t *dpf_json_pruner_state(const dpf_pruner *p);
dpf_status dpf_json_pruner_load(dpf_pruner *p, const dpf_st_file *f, const json_t *state);

#endif
