/* dpf/train.h — a training run: resolved configuration, the loop, and what it reports.
 * Data flows one way (design §2): loader -> batch -> method prepares the forward weights ->
 * forward -> loss -> backward -> method adjusts gradients -> optimiser updates the dense
 * weights -> method adjusts weights -> metrics. */
#ifndef DPF_TRAIN_H
#define DPF_TRAIN_H

#include <stdint.h>

#include "dpf/optim.h"
#include "dpf/status.h"

typedef struct dpf_train_config {
    char data[32];          /* mnist | fashion-mnist | cifar10 | cifar100 */
    char data_dir[1024];    /* "" = the data set's default */
    char model[32];
    char method[32];        /* dense | dpf | incremental | oneshot | snip | lt | ... */
    double sparsity;        /* target sparsity of the prunable weights */
    int structured;         /* filter-wise: one L2 norm per output filter */
    int layer_scope;        /* 0: global ranking across layers (default), 1: per layer */
    int period;             /* mask update period p in steps */
    double ramp_start, ramp_end; /* sparsity ramp as fractions of training; ramp_end < 0: the
                                    second LR milestone */
    int finetune_epochs;    /* extra epochs with the final mask fixed */
    double finetune_lr;     /* base LR of fine-tuning; 0: lr * gamma */
    int lt_rounds;          /* Lottery Ticket pruning rounds */
    double prune_rate;      /* DSR/SM/SET/RigL: fraction dropped per update; < 0: method default */
    int update_every;       /* DSR/SET/RigL: steps between updates; SM: 0 = every epoch;
                               < 0: method default */
    int density_erk;        /* SET/RigL/SM/DSR initial layer densities: 1 ERK, 0 uniform, -1
                               method default */
    char compressor[16];    /* DPF with w~ = C(w): "" (mask), "sign", "q2".."q8" */
    char mask_from[1024];   /* method fixed: the model file whose zero pattern is the mask */
    int epochs;
    int batch;
    char optimizer[8];      /* sgd | adam */
    double lr, momentum, weight_decay, gamma, warmup_epochs;
    int nesterov;
    int n_milestones;
    double milestones[DPF_MAX_MILESTONES];  /* fractions of training */
    uint64_t seed;
    uint64_t init_seed;     /* seed of the weight initialisation (has_init_seed; else seed) */
    int has_init_seed;
    int threads;            /* 0 = all cores */
    char conv_algo[16];     /* "auto" | "direct" (dpf_conv_algo_parse) */
    int limit_train;        /* 0 = all training images */
    int crop_pad;           /* random-crop padding; 0 = no crop */
    int flip;               /* random horizontal flip */
    float mean[3], std[3];  /* normalisation (data set defaults when not given) */
    char out[1024];         /* run directory; "" = none */
    int force;              /* allow an --out that already holds a run */
    int progress;           /* 0 none, 1 plain lines, 2 live bar, -1 auto (bar on a terminal) */
    int checkpoint_every;   /* also checkpoint every N steps (0: only at epoch ends / signals) */
    int eval_every;         /* test-set evaluation every N epochs and at each phase's end */
    int resume;             /* continue the run in `out` from its checkpoint */
} dpf_train_config;

typedef struct dpf_train_result {
    double test_acc_dense, test_acc_sparse;
    double final_train_loss, final_train_acc;
    double sparsity_prunable, sparsity_total;
    int64_t params_total, params_nonzero, params_prunable;
    int64_t macs_dense, macs_sparse;
    double train_images_per_s, wall_s;
    int layers_emptied;            /* prunable tensors left with no nonzero weight (layer collapse) */
    char first_emptied[96];        /* the first of them */
    int target_missed;             /* the reached sparsity is below the target (e.g. a run too
                                      short for the sparsity ramp); summary.json says so too */
} dpf_train_result;

void dpf_train_config_defaults(dpf_train_config *cfg);
/* Checks ranges and names; errors name the option (as on the command line, e.g. "--lr"). */
dpf_status dpf_train_config_check(const dpf_train_config *cfg);
dpf_status dpf_train_run(const dpf_train_config *cfg, dpf_train_result *result);

/* The configuration saved in RUN_DIR's checkpoint (for --resume). */
dpf_status dpf_checkpoint_config(const char *run_dir, dpf_train_config *cfg);
/* Compares a resumed run's configuration with the saved one: 0 if the run can continue with it,
 * else -1 with an error naming the first option that differs. Thread count, progress, data
 * directory, checkpoint interval and evaluation interval may change. */
int dpf_train_config_compatible(const dpf_train_config *saved, const dpf_train_config *now);
/* Asks a running dpf_train_run to save a checkpoint after the current step and return
 * DPF_ERR_INTERRUPTED (async-signal-safe: for SIGINT / SIGTERM handlers). */
void dpf_train_request_stop(void);

/* Accuracy (fraction) and mean loss of net in evaluation mode on a whole data set, normalised by
 * mean/std, in batches of at most dpf_net_max_batch(net). */
struct dpf_net;
struct dpf_dataset;
dpf_status dpf_evaluate(struct dpf_net *net, const struct dpf_dataset *ds, const float mean[3],
                        const float std[3], double *accuracy, double *loss);
/* Recomputes the BN running statistics of the net's current weights as the plain average of the
 * batch statistics over the first max_batches batches of ds (no augmentation), as PyTorch's BN
 * with momentum=None would; num_batches_tracked is left as it was. For DPF's dense w, whose own
 * statistics were never tracked (the forward passes of training ran the pruned w~). */
dpf_status dpf_recalibrate_bn(struct dpf_net *net, const struct dpf_dataset *ds,
                              const float mean[3], const float std[3], int max_batches);

#endif
