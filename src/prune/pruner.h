/* pruner.h — how pruning methods plug into the trainer.
 *
 * A method is a table of hooks (dpf_method_ops) called at fixed points of the loop:
 *   begin_phase   e.g. SNIP's mask at initialisation, LT's rewind, DPF's forward-weights buffer
 *   before_step   refresh the mask every p steps; form the forward weights w~ (m ⊙ w or C(w))
 *   after_backward  e.g. Incremental masks the gradient (DPF does nothing: the feedback)
 *   after_step    e.g. hard-masked methods re-zero pruned weights and their momentum
 *   end_epoch     SFP, Sparse Momentum
 *   end_phase     One-shot's pruning at the end of training, LT's prune + rewind
 * A run is a list of phases the method declares (training, LT rounds, fine-tuning). Fine-tuning
 * is generic: the final mask is fixed and enforced (hard), whatever the method.
 * The pruner owns what every method shares: the mask over the flat weights (non-prunable
 * elements always 1), selection scratch, statistics (delta, IoU, per-layer sparsity, the epoch
 * each element last flipped). */
#ifndef DPF_PRUNER_H
#define DPF_PRUNER_H

#include <jansson.h>
#include <stdint.h>

#include "dpf/net.h"
#include "dpf/optim.h"
#include "dpf/prune.h"
#include "dpf/rng.h"
#include "dpf/safetensors.h"
#include "dpf/train.h"

typedef enum dpf_phase_kind {
    DPF_PHASE_TRAIN,     /* the method's own hooks run */
    DPF_PHASE_FINETUNE   /* the mask is fixed and enforced */
} dpf_phase_kind;

typedef struct dpf_phase {
    dpf_phase_kind kind;
    char name[24];       /* "train", "lt-round-2", "finetune" */
    int epochs;
    double lr;           /* base LR of the phase's schedule */
} dpf_phase;

#define DPF_MAX_PHASES 32

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
} dpf_prune_ctx;

typedef struct dpf_pruner dpf_pruner;

/* A piece of a method's state that a checkpoint must carry (raw bytes). */
typedef struct dpf_state_item {
    const char *name;
    void *data;
    size_t bytes;
} dpf_state_item;

typedef struct dpf_method_ops {
    const char *name;
    /* Checks the method's own options (NULL: none to check); the error names the option. */
    dpf_status (*check)(const dpf_train_config *cfg);
    /* Fills the phases of a run (the trainer's config is in p->cfg); returns their number.
     * NULL: one training phase of --epochs at --lr. */
    int (*phases)(dpf_pruner *p, dpf_phase *phases);
    dpf_status (*begin_phase)(dpf_pruner *p, dpf_prune_ctx *c);
    void (*before_step)(dpf_pruner *p, dpf_prune_ctx *c);
    void (*after_backward)(dpf_pruner *p, dpf_prune_ctx *c);
    void (*after_step)(dpf_pruner *p, dpf_prune_ctx *c);
    dpf_status (*end_epoch)(dpf_pruner *p, dpf_prune_ctx *c);
    dpf_status (*end_phase)(dpf_pruner *p, dpf_prune_ctx *c);
    void (*destroy)(dpf_pruner *p);
    /* Fills up to max items of state that survives between steps (NULL: none). Called after
     * the begin_phase of the phase being saved or resumed. */
    int (*state_items)(dpf_pruner *p, dpf_state_item *items, int max);
} dpf_method_ops;

struct dpf_pruner {
    const dpf_method_ops *ops;
    void *state;                /* the method's own state */
    const dpf_train_config *cfg;
    dpf_net *net;
    size_t n;                   /* elements of the flat weights */
    size_t n_prunable;
    uint8_t *mask;              /* (n) 1 keep, 0 pruned; non-prunable always 1 */
    uint8_t *prev_mask;         /* the mask at the previous record_update */
    float *scores;              /* (n) scratch: selection scores */
    uint8_t *keep;              /* (n) scratch: selection result */
    dpf_selector sel;
    void *filter_scratch;       /* see dpf_pruner_filter_scratch */
    int16_t *last_flip;         /* (n) global epoch of the element's last mask change, -1 never */
    int hard;                   /* mask enforced on w (1) or only on the forward weights (0) */
    int masked_forward;         /* forward weights are m ⊙ w (separate buffer) */
    int monotone;               /* selection never revives a pruned weight (Incremental, LT) */
    double target;              /* sparsity of the last mask update */
    dpf_rng rng;                /* the method's randomness (SET regrowth, ...) */
    json_t *updates;            /* mask updates of the current epoch */
    int64_t n_updates;
    int phase_kind;
};

/* ---- used by the trainer ---- */
dpf_status dpf_pruner_create(dpf_pruner **out, const dpf_train_config *cfg, dpf_net *net);
int dpf_pruner_phases(dpf_pruner *p, dpf_phase *phases);
dpf_status dpf_pruner_begin_phase(dpf_pruner *p, dpf_prune_ctx *c, const dpf_phase *phase);
void dpf_pruner_before_step(dpf_pruner *p, dpf_prune_ctx *c);
void dpf_pruner_after_backward(dpf_pruner *p, dpf_prune_ctx *c);
void dpf_pruner_after_step(dpf_pruner *p, dpf_prune_ctx *c);
/* Adds the epoch's mask statistics to the metrics object m. */
dpf_status dpf_pruner_end_epoch(dpf_pruner *p, dpf_prune_ctx *c, json_t *m);
dpf_status dpf_pruner_end_phase(dpf_pruner *p, dpf_prune_ctx *c);
/* Refreshes the forward weights from the current w (before an evaluation). */
void dpf_pruner_refresh(dpf_pruner *p);
/* Per-layer sparsity and mask convergence (paper Fig. 4, 14) for summary.json. */
json_t *dpf_pruner_report(dpf_pruner *p, int epochs_total);
void dpf_pruner_free(dpf_pruner *p);
/* Checkpoints (pruner_state.c): tensors into w, scalars into the metadata object meta. */
dpf_status dpf_pruner_save(dpf_pruner *p, dpf_st_writer *w, json_t *meta);
dpf_status dpf_pruner_load(dpf_pruner *p, const dpf_st_file *f, const json_t *meta);

/* ---- shared machinery for methods ---- */
typedef enum dpf_score_kind { DPF_SCORE_MAGNITUDE, DPF_SCORE_GRAD_TIMES_WEIGHT } dpf_score_kind;
/* Recomputes p->mask at sparsity s of the prunable weights from the scores of `src` (|w|, or
 * |g ⊙ w| for SNIP), honouring --scope and --structured; records the update (delta, IoU, flips). */
void dpf_pruner_select(dpf_pruner *p, const dpf_prune_ctx *c, double s, const dpf_real *src,
                       dpf_score_kind kind);
/* Scratch for filter-wise selection, sized for the net's prunable filters (structured.c). */
void *dpf_pruner_filter_scratch(const dpf_net *net);
/* Filter-wise selection (structured.c): one L2 norm per output filter of |src| (or |g ⊙ src|). */
void dpf_pruner_select_filters(dpf_pruner *p, double s, const dpf_real *src, const dpf_real *g);
/* Records a mask change (compared with the mask of the previous record): delta, IoU, flips.
 * Methods that edit p->mask themselves (SET, RigL, DSR, SM, SFP) call it after the edit. */
void dpf_pruner_record_update(dpf_pruner *p, const dpf_prune_ctx *c);
void dpf_pruner_form_forward(dpf_pruner *p);   /* w~ = m ⊙ w */
void dpf_pruner_mask_grads(dpf_pruner *p);     /* g = m ⊙ g */
void dpf_pruner_enforce(dpf_pruner *p, dpf_optimizer *opt);  /* w, momentum = m ⊙ (w, momentum) */
/* Ready-made hooks of methods with a hard mask: after_backward g = m ⊙ g; after_step enforce. */
void dpf_hook_mask_grads(dpf_pruner *p, dpf_prune_ctx *c);
void dpf_hook_enforce(dpf_pruner *p, dpf_prune_ctx *c);
/* Compressors (compress.c): w~ = C(w) per prunable tensor for --compressor sign|qK; K of qK
 * (1 for sign); delta = ||w - w~||^2 / ||w||^2 over the prunable weights. */
void dpf_pruner_compress_forward(dpf_pruner *p);
int dpf_compressor_bits(const char *name);
double dpf_pruner_forward_delta(const dpf_pruner *p);
/* The Zhu & Gupta target at the current step of the phase (ramp over --ramp-start..--ramp-end). */
double dpf_pruner_scheduled_sparsity(const dpf_pruner *p, const dpf_prune_ctx *c);

/* ---- the methods ---- */
extern const dpf_method_ops dpf_method_dense, dpf_method_dpf, dpf_method_incremental,
    dpf_method_oneshot, dpf_method_snip, dpf_method_lt, dpf_method_dsr, dpf_method_sm,
    dpf_method_sfp, dpf_method_set, dpf_method_rigl, dpf_method_fixed;
const dpf_method_ops *dpf_method_find(const char *name);
const char *dpf_method_list(void);

#endif
