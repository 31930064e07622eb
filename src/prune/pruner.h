/* pruner.h — the pruner as the trainer sees it: the phases of a run, the hooks called at fixed
 * points of the loop, the records of mask updates and per-epoch statistics (plain structs: the
 * trainer turns them into JSON), and the checkpointed state. The struct itself and the method
 * tables are private to src/prune (prune/method.h).
 *   begin_phase   e.g. SNIP's mask at initialisation, LT's rewind, DPF's forward-weights buffer
 *   before_step   refresh the mask every p steps; form the forward weights w~ (m ⊙ w or C(w))
 *   after_backward  e.g. Incremental masks the gradient (DPF does nothing: the feedback)
 *   after_step    e.g. hard-masked methods re-zero pruned weights and their momentum
 *   end_epoch     SFP, Sparse Momentum
 *   end_phase     One-shot's pruning at the end of training, LT's prune + rewind
 * A run is a list of phases the method declares (training, LT rounds, fine-tuning). Fine-tuning
 * is generic: the final mask is fixed and enforced (hard), whatever the method. */
#ifndef DPF_PRUNER_H
#define DPF_PRUNER_H

#include <stdint.h>

#include "dpf/net.h"
#include "dpf/optim.h"
#include "dpf/prune.h"
#include "dpf/safetensors.h"
#include "dpf/train.h"
#include "dpf/trainer.h"

typedef struct dpf_prune_ctx {
    dpf_net *net;
    dpf_optimizer *opt;
    int phase;                  /* index into the phase list */
    int64_t step;               /* steps done in this phase (before_step: the step about to run) */
    int64_t phase_steps;        /* steps of the whole phase */
    int steps_per_epoch;
    int epoch;                  /* epoch within the phase, 0-based */
    int global_epoch;           /* epoch counted over all phases, 0-based */
    const float *x;             /* the current batch (valid in before_step / begin_phase) */
    const int32_t *y;
    int batch;
    struct dpf_dist *dist;      /* the ranks sharing the batch (NULL: one process): a method
                                   that needs a gradient of its own takes dpf_dist_backprop */
} dpf_prune_ctx;

typedef struct dpf_pruner dpf_pruner;

/* One mask update (a line of metrics.jsonl's "mask_updates"). Fields a method does not report
 * are NAN (doubles) or -1 (counts). */
typedef struct dpf_mask_update {
    int64_t step;           /* step of the phase */
    double sparsity;        /* the target; NAN: no mask was chosen (DPF's compressor) */
    double delta;           /* ||w - w~||^2 / ||w||^2 over the prunable weights */
    double iou;             /* of the kept sets of this mask and the previous one */
    int64_t flips;          /* elements whose mask changed */
    double threshold;       /* DSR: the threshold H used */
    double prune_rate;      /* SM: the prune rate p_t */
    int64_t reallocated;    /* DSR, SM: weights pruned and regrown */
} dpf_mask_update;

/* The mask's state: per prunable tensor and overall. Pointers are the pruner's, valid until its
 * next call. */
typedef struct dpf_mask_stats {
    dpf_phase_kind kind;        /* of the current phase */
    double sparsity;            /* zeros of the mask (with a compressor: of w~) over the prunable */
    double target;              /* sparsity of the last mask update */
    int n_layers;
    const dpf_param_info *const *layers;  /* (n_layers) the prunable tensors */
    const double *layer_sparsity;         /* (n_layers) */
    const dpf_mask_update *updates;       /* the mask updates since the last end of epoch */
    size_t n_updates;
} dpf_mask_stats;

/* ---- the loop ---- */
dpf_status dpf_pruner_create(dpf_pruner **out, const dpf_train_config *cfg, dpf_net *net);
int dpf_pruner_phases(dpf_pruner *p, dpf_phase *phases);
dpf_status dpf_pruner_begin_phase(dpf_pruner *p, dpf_prune_ctx *c, const dpf_phase *phase);
void dpf_pruner_before_step(dpf_pruner *p, dpf_prune_ctx *c);
void dpf_pruner_after_backward(dpf_pruner *p, dpf_prune_ctx *c);
void dpf_pruner_after_step(dpf_pruner *p, dpf_prune_ctx *c);
/* The method's end of epoch, then the epoch's statistics into *out (its updates included); the
 * next epoch starts with no updates. */
dpf_status dpf_pruner_end_epoch(dpf_pruner *p, dpf_prune_ctx *c, dpf_mask_stats *out);
dpf_status dpf_pruner_end_phase(dpf_pruner *p, dpf_prune_ctx *c);
/* Refreshes the forward weights from the current w (before an evaluation). */
void dpf_pruner_refresh(dpf_pruner *p);
void dpf_pruner_free(dpf_pruner *p);

/* ---- what the pruner knows ---- */
const uint8_t *dpf_pruner_mask(const dpf_pruner *p);  /* (dpf_net_size) 1 keep, 0 pruned */
int dpf_pruner_hard(const dpf_pruner *p);           /* the mask is enforced on w */
int dpf_pruner_monotone(const dpf_pruner *p);       /* a pruned weight never comes back */
int dpf_pruner_masked_forward(const dpf_pruner *p); /* forward reads a separate w~ (DPF) */
double dpf_pruner_target(const dpf_pruner *p);      /* sparsity of the last mask update */
size_t dpf_pruner_prunable(const dpf_pruner *p);    /* elements of the prunable tensors */
int64_t dpf_pruner_update_count(const dpf_pruner *p); /* mask updates of the whole run */
/* Mask updates after the start of the training phases (step > 0) of a method whose mask changes
 * on a schedule; -1 for a method without one (dense, One-shot, SNIP, ..., DPF's compressor). */
int64_t dpf_pruner_scheduled_updates(const dpf_pruner *p);
/* Elements of the prunable tensors the method leaves dense (DSR: first conv, 1x1 convs). */
size_t dpf_pruner_kept_dense(const dpf_pruner *p);
/* The statistics of the current mask (no updates: n_updates 0). */
void dpf_pruner_stats(dpf_pruner *p, dpf_mask_stats *out);
/* The mask updates since the last end of epoch; *n gets their number. */
const dpf_mask_update *dpf_pruner_updates(const dpf_pruner *p, size_t *n);
/* Share of the prunable elements whose mask changed after global epoch `epoch` (Fig. 4). */
double dpf_pruner_changed_after(const dpf_pruner *p, int epoch);

/* ---- checkpoints (pruner_state.c) ---- */
/* Tensors: the masks, last flips, random generator and the method's own state. */
dpf_status dpf_pruner_save_tensors(dpf_pruner *p, dpf_st_writer *w);
dpf_status dpf_pruner_load_tensors(dpf_pruner *p, const dpf_st_file *f);
/* Scalars: restores the target, the update counts (all, and after the start of training
 * phases) and the updates of the unfinished epoch (copied). */
dpf_status dpf_pruner_restore(dpf_pruner *p, double target, int64_t update_count,
                              int64_t scheduled, const dpf_mask_update *updates, size_t n);

/* ---- the methods ---- */
typedef struct dpf_method_ops dpf_method_ops;
const dpf_method_ops *dpf_method_find(const char *name);  /* dpf_method_list: dpf/trainer.h */
/* The options of cfg's method, checked by the method (DPF_ERR_ARG naming the option); the
 * method must exist (dpf_method_find). */
dpf_status dpf_method_check(const dpf_train_config *cfg);

#endif
