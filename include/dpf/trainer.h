/* dpf/trainer.h — training one step at a time, the step written once: a trainer holds a net's
 * optimiser and pruning method, and each step runs "method before step -> forward -> loss ->
 * backward -> method after backward -> optimiser -> method after step". dpf_train_run, `dpf
 * bench` and the method tests all step through it. A run is a list of phases the method
 * declares (training, Lottery Ticket rounds, fine-tuning); each phase starts with a fresh
 * optimiser. */
#ifndef DPF_TRAINER_H
#define DPF_TRAINER_H

#include <stdint.h>

#include "dpf/net.h"
#include "dpf/status.h"
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

typedef struct dpf_trainer dpf_trainer;

/* Creates a trainer for cfg (copied) on net: the optimiser (cfg->optimizer) and the pruning
 * method (cfg->method) with its phases. net == NULL: the trainer loads cfg->data and builds
 * cfg->model itself, for dpf_trainer_run. A given net is borrowed (it must outlive the trainer;
 * it is not freed). Errors: options out of range (dpf_train_config_check), a method's own
 * (e.g. SM without momentum shows at begin_phase), out of memory; without a net also data that
 * cannot be loaded, an --out in use, a --resume checkpoint that does not fit. *out is NULL on
 * error. */
dpf_status dpf_trainer_create(dpf_trainer **out, const dpf_train_config *cfg, dpf_net *net);
/* A trainer on the ranks of d (dpf/dist.h; NULL: one process, as dpf_trainer_create): every
 * step's global batch (--batch, which must split evenly) is divided among the ranks and their
 * gradients summed in rank order; only rank 0 writes the run's files and the progress. d is
 * borrowed. Every rank calls the trainer's functions in the same order (they are collective). */
struct dpf_dist;
dpf_status dpf_trainer_create_dist(dpf_trainer **out, const dpf_train_config *cfg, dpf_net *net,
                                   struct dpf_dist *d);
/* Frees the trainer and what it owns (a net it built, its data, its lock on --out). NULL: no-op. */
void dpf_trainer_free(dpf_trainer *t);

/* The phases of the run (0 <= i < dpf_trainer_phase_count; the trainer's, valid while it
 * lives). */
int dpf_trainer_phase_count(const dpf_trainer *t);
const dpf_phase *dpf_trainer_phase(const dpf_trainer *t, int i);

/* Begins phase i, of steps_per_epoch steps per epoch: a fresh optimiser, step 0, the method's
 * begin (e.g. SNIP's or SET's mask). A phase > 0 begun first (a resumed run) begins phase 0
 * first, where the method creates its state. Errors: a phase out of range (DPF_ERR_ARG), the
 * method's (out of memory, options). */
dpf_status dpf_trainer_begin_phase(dpf_trainer *t, int phase, int steps_per_epoch);
/* One training step of the begun phase on x (batch, C, H, W) with labels y (batch), batch at
 * most the net's largest, at learning rate lr; returns
 * the mean loss (NaN or Inf when training diverged: the caller decides); *correct (may be NULL)
 * gets the argmax hits. x and y are read during the call only. */
double dpf_trainer_step(dpf_trainer *t, const float *x, const int32_t *y, int batch, double lr,
                        int *correct);
/* After each step of a trainer on several ranks: agrees on a stop asked on any rank (all then
 * stop after the same step) and, after a mask update, checks that every rank holds the same
 * weights and mask (DPF_ERR_STATE naming the step). One process: DPF_OK. */
dpf_status dpf_trainer_sync(dpf_trainer *t);
/* Ends an epoch (the method's end-of-epoch work: SFP's zeroing, SM's regrowth) and refreshes
 * the forward weights. */
dpf_status dpf_trainer_end_epoch(dpf_trainer *t);
/* Ends the current phase (One-shot's pruning, LT's prune and rewind). */
dpf_status dpf_trainer_end_phase(dpf_trainer *t);
/* Steps done in the current phase (resumed ones included). */
int64_t dpf_trainer_steps(const dpf_trainer *t);
/* Seconds spent in the method's hooks so far (its overhead over dense training). */
double dpf_trainer_method_seconds(const dpf_trainer *t);

/* Accuracy and mean loss (loss may be NULL) of the sparse model (forward weights refreshed) on
 * a whole data set, normalised by the configuration's mean and std. Errors: a data set of
 * another input shape. */
struct dpf_dataset;
dpf_status dpf_trainer_evaluate(dpf_trainer *t, const struct dpf_dataset *ds, double *accuracy,
                                double *loss);

/* The whole state (weights, optimiser, masks, the method's state, the position in the run) to
 * DIR/checkpoint.safetensors, atomically; and back into a trainer created with the same
 * configuration, its phase begun. Errors name the file. */
dpf_status dpf_trainer_save(dpf_trainer *t, const char *dir);
dpf_status dpf_trainer_load(dpf_trainer *t, const char *dir);

/* A whole run of a trainer created without a net (see dpf_train_run, which is create + run +
 * free): every phase, metrics, checkpoints, the model files in cfg->out (--resume: from its
 * checkpoint). Runs once; *result is filled on success. Errors: DPF_ERR_STATE for a trainer on
 * a caller's net, DPF_ERR_INTERRUPTED after dpf_trainer_request_stop (the checkpoint saved),
 * DPF_ERR_NUMERIC when training diverges, I/O errors naming the file. */
dpf_status dpf_trainer_run(dpf_trainer *t, dpf_train_result *result);
/* Asks the trainer to save a checkpoint after its current step and make dpf_trainer_run return
 * DPF_ERR_INTERRUPTED. Async-signal-safe (one store), for SIGINT / SIGTERM handlers; t must
 * stay alive during the call. */
void dpf_trainer_request_stop(dpf_trainer *t);

/* The names of the pruning methods, for help texts ("dense, dpf, ..."). */
const char *dpf_method_list(void);

#endif
