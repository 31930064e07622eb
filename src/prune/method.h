/* method.h — what a pruning method sees, private to src/prune: the pruner's struct, the table of
 * hooks with the method's fixed properties, and the machinery every method shares. The pruner
 * owns the mask over the flat weights (non-prunable elements always 1), the list of prunable
 * tensors (built once), selection scratch and statistics (delta, IoU, per-layer sparsity, the
 * epoch each element last flipped, the records of mask updates). */
#ifndef DPF_METHOD_H
#define DPF_METHOD_H

#include "dpf/rng.h"
#include "prune/pruner.h"

/* A piece of a method's state that a checkpoint must carry (raw bytes). */
typedef struct dpf_state_item {
    const char *name;
    void *data;
    size_t bytes;
} dpf_state_item;

/* Prunable tensors a method may leave dense (its paper's choice, e.g. DSR's): the network's first
 * convolution, and its 1x1 convolutions (the projection shortcuts of the ResNets here). */
enum { DPF_DENSE_FIRST_CONV = 1, DPF_DENSE_1X1_CONV = 2 };

struct dpf_method_ops {
    const char *name;
    /* Checks the method's own options (NULL: none to check); the error names the option. */
    dpf_status (*check)(const dpf_train_config *cfg);
    /* fixed properties of the method (fine-tuning makes any mask hard, with w~ = w) */
    int hard;             /* the mask is enforced on w (1) or only on the forward weights (0) */
    int monotone;         /* selection never revives a pruned weight (Incremental, LT) */
    int masked_forward;   /* forward reads a separate w~ = m ⊙ w or C(w) (DPF) */
    int scheduled;        /* the mask changes on a schedule during training: a run whose schedule
                             fits no change in is warned about */
    unsigned dense_layers; /* DPF_DENSE_...: prunable tensors the method leaves dense (DSR) */
    int keep_per_filter;  /* the collapse guard's K when --keep-per-filter is not given (DPF 1) */
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
};

struct dpf_pruner {
    const dpf_method_ops *ops;
    void *state;                /* the method's own state */
    const dpf_train_config *cfg;
    dpf_net *net;
    size_t n;                   /* elements of the flat weights */
    size_t n_prunable;
    int n_layers;
    const dpf_param_info **layers; /* (n_layers) the prunable tensors, in parameter order */
    uint8_t *kept_dense;        /* (n_layers) 1: a tensor the method leaves dense (dense_layers) */
    size_t n_kept_dense;        /* their elements */
    double *layer_sparsity;     /* (n_layers) scratch of dpf_pruner_stats */
    uint8_t *mask;              /* (n) 1 keep, 0 pruned; non-prunable always 1 */
    uint8_t *prev_mask;         /* the mask at the previous record_update */
    float *scores;              /* (n) scratch: selection scores */
    uint8_t *keep;              /* (n) scratch: selection result */
    dpf_selector sel;
    void *filter_scratch;       /* see dpf_pruner_filter_scratch */
    int16_t *last_flip;         /* (n) global epoch of the element's last mask change, -1 never */
    double target;              /* sparsity of the last mask update */
    dpf_rng rng;                /* the method's randomness (SET regrowth, ...) */
    dpf_mask_update *updates;   /* (cap) mask updates of the current epoch */
    size_t n_epoch_updates, cap;
    dpf_mask_update lost;       /* where a record goes when the list cannot grow */
    int out_of_memory;          /* a record was lost: end_epoch reports it */
    int64_t n_updates;
    int64_t n_scheduled;        /* updates after the start of a training phase (step > 0) */
    dpf_phase_kind phase_kind;
};

/* ---- shared machinery for methods ---- */
typedef enum dpf_score_kind { DPF_SCORE_MAGNITUDE, DPF_SCORE_GRAD_TIMES_WEIGHT } dpf_score_kind;
/* Recomputes p->mask at sparsity s of the prunable weights from the scores of `src` (|w|, or
 * |g ⊙ w| for SNIP), honouring --scope and --structured (and a monotone method's "never back");
 * records the update. */
void dpf_pruner_select(dpf_pruner *p, const dpf_prune_ctx *c, double s, const dpf_real *src,
                       dpf_score_kind kind);
/* Scratch for channel-wise selection, sized for the prunable groups' channels (structured.c). */
void *dpf_pruner_filter_scratch(const dpf_pruner *p);
/* Channel-wise selection over the net's channel groups (structured.c): one L2 norm per channel
 * of all the group's filters of |src| (or |g ⊙ src|), ranked across the groups or within each
 * (per_layer); a pruned channel zeroes its filters and its readers' input channels. Sets p->mask
 * only. */
void dpf_pruner_select_filters(dpf_pruner *p, double s, const dpf_real *src, const dpf_real *g,
                               int per_layer);
/* Records a mask change (compared with the mask of the previous record): delta, IoU, flips at
 * target p->target. Methods that edit p->mask themselves (SET, RigL, DSR, SM, SFP) call it after
 * the edit. Returns the record (a method may add its own fields). */
dpf_mask_update *dpf_pruner_record_update(dpf_pruner *p, const dpf_prune_ctx *c);
/* A new record at the end of the epoch's list, every field absent but the step (p->lost, and
 * an error at the end of the epoch, when the list cannot grow). */
dpf_mask_update *dpf_pruner_new_record(dpf_pruner *p, int64_t step);
/* A record with only the step and delta (DPF's compressor: no mask). */
void dpf_pruner_record_delta(dpf_pruner *p, const dpf_prune_ctx *c);
void dpf_pruner_form_forward(dpf_pruner *p);   /* w~ = m ⊙ w */
void dpf_pruner_mask_grads(dpf_pruner *p);     /* g = m ⊙ g */
/* w = m ⊙ w, and the optimiser state of pruned elements zeroed (opt may be NULL). */
void dpf_pruner_enforce(dpf_pruner *p, dpf_optimizer *opt);
/* Ready-made hooks of methods with a hard mask: after_backward g = m ⊙ g; after_step enforce. */
void dpf_hook_mask_grads(dpf_pruner *p, dpf_prune_ctx *c);
void dpf_hook_enforce(dpf_pruner *p, dpf_prune_ctx *c);
/* Compressors (compress.c): w~ = C(w) per prunable tensor for --compressor sign|qK; K of qK
 * (1 for sign). */
void dpf_pruner_compress_forward(dpf_pruner *p);
int dpf_compressor_bits(const char *name);
/* The Zhu & Gupta target at the current step of the phase (ramp over --ramp-start..--ramp-end). */
double dpf_pruner_scheduled_sparsity(const dpf_pruner *p, const dpf_prune_ctx *c);

/* ---- the statistics' one definition each (schedule.c) ---- */
/* Adds the sums of delta over n elements: num += ||w - w~||^2, den += ||w||^2, where
 * w~ = wt, or m ⊙ w when wt is NULL. */
void dpf_delta_sums(const dpf_real *w, const dpf_real *wt, const uint8_t *m, size_t n,
                    double *num, double *den);
/* Adds the sizes of the intersection and the union of the kept sets of a and b. */
void dpf_iou_sums(const uint8_t *a, const uint8_t *b, size_t n, size_t *inter, size_t *uni);

/* ---- the methods ---- */
extern const dpf_method_ops dpf_method_dense, dpf_method_dpf, dpf_method_incremental,
    dpf_method_oneshot, dpf_method_snip, dpf_method_lt, dpf_method_dsr, dpf_method_sm,
    dpf_method_sfp, dpf_method_set, dpf_method_rigl, dpf_method_fixed;

#endif
