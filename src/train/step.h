/* step.h — the trainer object's insides (dpf/trainer.h), shared by step.c (the object: one
 * step, phases, checkpoints) and trainer.c (a whole run: data, metrics, model files). */
#ifndef DPF_STEP_H
#define DPF_STEP_H

#include <signal.h>

#include "core/progress.h"
#include "dist/dist.h"
#include "dpf/data.h"
#include "prune/pruner.h"
#include "train/checkpoint.h"

struct dpf_trainer {
    dpf_train_config cfg;       /* resolved: normalisation filled in */
    dpf_net *net;
    int own_net;                /* built by the trainer (a whole run) */
    dpf_optimizer opt;
    dpf_pruner *pruner;
    dpf_phase phases[DPF_MAX_PHASES];
    int n_phases, total_epochs;
    int began;                  /* a phase was begun */
    dpf_prune_ctx ctx;
    double method_s;            /* seconds in the method's hooks */
    double t_created;           /* dpf_now() at creation */
    volatile sig_atomic_t stop; /* dpf_trainer_request_stop */
    int stopping;               /* the stop as agreed after the last step (dpf_trainer_sync) */
    dpf_ckpt_pos pos;           /* where the run stands (what a checkpoint records) */
    dpf_dist *dist;             /* the ranks of a data-parallel run (NULL: one process) */
    int writer;                 /* this process writes the run's files (rank 0) */
    int64_t checked_updates;    /* mask updates whose agreement across ranks was checked */
    dpf_real *rank_bn;          /* (ranks x BN statistics) every rank's, for their average */
    dpf_kernel_watch kw;        /* the layers' kernels and their changes (trainer.c: metrics) */
    /* a whole run (trainer.c) */
    dpf_dataset train, test;
    dpf_loader *loader;
    dpf_progress progress;
    int steps_per_epoch;
    int resuming;               /* pos came from a checkpoint and is not reached yet */
    int lock_fd;                /* the run directory's lock, -1 without --out */
    dpf_real *dense_bn;         /* DPF: BN statistics recalibrated for the dense w (or NULL) */
    double wall_before;         /* wall time of the run's earlier processes (--resume) */
    int finished;               /* --resume of a run that had finished: its files stay */
    double finished_wall;       /* that run's wall_s */
};

/* One step of pruner p on the batch in ctx (x, y, batch); ctx->step is advanced. Returns the
 * mean loss (may be NaN); *correct (may be NULL) gets the argmax hits; *method_s gets the
 * seconds spent in the method's hooks added. */
double dpf_train_step(dpf_pruner *p, dpf_prune_ctx *ctx, double lr, int *correct,
                      double *method_s);
/* Records which layers changed kernels in the step just run (t->kw). */
void dpf_trainer_watch_kernels(dpf_trainer *t, int64_t step);
/* Builds t's optimiser, pruner and phases around t->net and t->cfg (dpf_trainer_create). */
dpf_status dpf_trainer_init(dpf_trainer *t);
/* The ranks' batch-norm statistics replaced by their average on every rank (the end of
 * training: the model saved and evaluated). One process: nothing to do. */
dpf_status dpf_trainer_merge_bn(dpf_trainer *t);

#endif
