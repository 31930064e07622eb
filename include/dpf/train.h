/* dpf/train.h — a training run: resolved configuration, the loop, and what it reports.
 * Data flows one way (design §2): loader -> batch -> method prepares the forward weights ->
 * forward -> loss -> backward -> method adjusts gradients -> optimiser updates the dense
 * weights -> method adjusts weights -> metrics. */
#ifndef DPF_TRAIN_H
#define DPF_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "dpf/optim.h"
#include "dpf/status.h"

typedef struct dpf_train_config {
    char data[32];          /* mnist | fashion-mnist | cifar10 | cifar100 */
    char data_dir[1024];    /* "" = the data set's default */
    char model[32];
    char method[32];        /* dense | dpf | incremental | oneshot | snip | lt | ... */
    double sparsity;        /* target sparsity of the prunable weights */
    int structured;         /* channel-wise over the net's channel groups (sparsity: the share
                               of the channels pruned) */
    int layer_scope;        /* 0: global ranking across layers (default), 1: per layer */
    int period;             /* mask update period p in steps */
    int keep_per_filter;    /* collapse guard: every output filter keeps its K best weights in
                               unstructured selection (0 = off); < 0: the method's default */
    double ramp_start, ramp_end; /* sparsity ramp as fractions of training; ramp_end < 0: the
                                    second LR milestone */
    int sfp_ramp;           /* SFP prunes at the ramp's sparsity at each epoch end (DPF paper
                               A.2); 0: at the target from the first epoch (SFP's paper) */
    int finetune_epochs;    /* extra epochs with the final mask fixed */
    double finetune_lr;     /* base LR of fine-tuning; 0: lr * gamma */
    int recalibrate_bn;     /* after training, the sparse model's BN statistics recomputed on
                               this many training batches (0: training's running averages) */
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
    char kernels[16];       /* "auto" | "dense" | "sparse" (dpf_net_kernels_parse) */
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
    int64_t params_kept_dense;     /* prunable weights the method leaves dense (DSR's first conv
                                      and 1x1 convs): its target applies to the others */
    int64_t mask_updates;          /* mask updates the method's schedule made after the start of
                                      training; -1: a method without a schedule. 0 is warned
                                      about (a run too short for the schedule) */
} dpf_train_result;

/* The options of a run are one table (src/train/options.c): each row names the option, its
 * field, type, default, range, the methods that use it, whether it may change on resume, and its
 * help text. Defaults, checks, config.json, the configuration in checkpoints, the resume check
 * and `dpf train`'s parsing and --help all come from it. */
typedef enum dpf_option_type {
    DPF_OPTION_INT, DPF_OPTION_DOUBLE, DPF_OPTION_U64, DPF_OPTION_BOOL,
    DPF_OPTION_TEXT,    /* char array; `choices`, when set, lists the values allowed */
    DPF_OPTION_CHOICE,  /* int: min + the index of the value in `choices` */
    DPF_OPTION_LIST,    /* doubles, their number in the int at `count` */
    DPF_OPTION_FLOAT3   /* float[3] "a,b,c"; no command-line option (the normalisation) */
} dpf_option_type;

enum {
    DPF_OPTION_RESUMABLE = 1, /* may change when a run resumes */
    DPF_OPTION_RUN = 2,       /* where and how the run is kept (--out, --resume): not saved */
    DPF_OPTION_NO_REPORT = 4, /* left out of config.json */
    DPF_OPTION_AUTO = 8,      /* -1 (outside the range) means the method's own default */
    DPF_OPTION_JSON_INT = 16, /* a choice written to JSON as its number */
    DPF_OPTION_MIN_OPEN = 32, /* range (min, ... instead of [min, ... */
    DPF_OPTION_MAX_OPEN = 64, /* range ..., max) instead of ..., max] */
    DPF_OPTION_STRICT = 128   /* set with a method that does not use it: an error (else unused) */
};

typedef struct dpf_train_option {
    const char *name;         /* --name on the command line; NULL: none */
    const char *key;          /* in config.json and checkpoints */
    size_t offset, size;      /* the field of dpf_train_config */
    dpf_option_type type;
    const char *def;          /* the default as on the command line; NULL: 0, "" or not given */
    double min, max;          /* range of a number */
    const char *const *choices; /* the values allowed, NULL-terminated: {"global", "layer", NULL} */
    const char *(*list)(void); /* --help: the values allowed, from a registry (models, methods) */
    const char *methods;      /* "dpf, incremental": the methods that use it; NULL: every method */
    unsigned flags;           /* DPF_OPTION_... */
    size_t given;             /* offset of an int set when the option is given; 0: none */
    size_t count;             /* a list: offset of the int that holds its length */
    const char *section;      /* --help: heading printed before the option */
    const char *arg;          /* --help: placeholder of the value ("F", "N"); NULL: a flag */
    const char *help;         /* --help: lines separated by '\n' */
    const char *help_default; /* --help: the default in words, where the value alone misleads */
} dpf_train_option;

/* The table, and its number of rows in *count. */
const dpf_train_option *dpf_train_options(int *count);
const dpf_train_option *dpf_train_option_find(const char *name);
/* Sets option o in cfg from its command-line text ("on" / "off" for a bool); the error names the
 * option. */
dpf_status dpf_train_option_parse(dpf_train_config *cfg, const dpf_train_option *o,
                                  const char *text);

void dpf_train_config_defaults(dpf_train_config *cfg);
/* Checks ranges and names; errors name the option (as on the command line, e.g. "--lr"). The
 * method's own options are checked by its table's check hook. */
dpf_status dpf_train_config_check(const dpf_train_config *cfg);
/* A whole run: the data, the model, every phase, and with cfg->out the run's files
 * (dpf_trainer_create without a net + dpf_trainer_run + dpf_trainer_free, dpf/trainer.h). */
dpf_status dpf_train_run(const dpf_train_config *cfg, dpf_train_result *result);

/* A run whose method has a schedule of mask updates but made none (result->mask_updates == 0):
 * 1 and the warning in buf (summary.json's "warnings" holds it too), else 0. */
int dpf_train_schedule_warning(const dpf_train_config *cfg, const dpf_train_result *result,
                               char *buf, size_t size);

/* The configuration saved in RUN_DIR's checkpoint (for --resume). */
dpf_status dpf_checkpoint_config(const char *run_dir, dpf_train_config *cfg);
/* Compares a resumed run's configuration with the saved one: 0 if the run can continue with it,
 * else -1 with an error naming the first option that differs. Only the options flagged
 * DPF_OPTION_RESUMABLE may change. */
int dpf_train_config_compatible(const dpf_train_config *saved, const dpf_train_config *now);

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
