/* checkpoint.h — everything a run needs to continue exactly where it stopped, in
 * RUN_DIR/checkpoint.safetensors: dense (and forward) weights, BN statistics, optimiser state,
 * the pruner's masks, random generator and method state, the resolved configuration, and the
 * position in the run (phase, epoch, batch, step) with the unfinished epoch's running sums.
 * Written atomically (temporary file, fsync, rename: the previous checkpoint stays until the new
 * one is complete) with a CRC-32 over the data and the state that loading verifies. */
#ifndef DPF_CHECKPOINT_H
#define DPF_CHECKPOINT_H

#include <stdint.h>

#include "dpf/net.h"
#include "dpf/optim.h"
#include "dpf/train.h"
#include "prune/pruner.h"

/* A layer whose passes changed kernels (dense <-> sparse) after a step. */
typedef struct dpf_kernel_switch {
    int64_t step;               /* the step (0-based, in the phase) that first ran the new kernels */
    int row;                    /* the layer (dpf_net_profile_row) */
    int sparse;                 /* dpf_net_layer_sparse: bit 0 forward, 1 backward-data, 2 dw */
    double density;             /* the layer's share of nonzero weights then */
} dpf_kernel_switch;

/* Which kernels each layer ran in the last step, and the changes not yet written to
 * metrics.jsonl: saved with the position, so that a resumed run reports the changes an
 * uninterrupted one does. */
typedef struct dpf_kernel_watch {
    int *state;                 /* per profile row (dpf_net_layer_sparse); NULL: all dense */
    int rows;
    dpf_kernel_switch *pending;
    int n_pending, cap;
} dpf_kernel_watch;
void dpf_kernel_watch_free(dpf_kernel_watch *kw);

typedef struct dpf_ckpt_pos {
    int phase;              /* index of the phase being run */
    int epoch;              /* next epoch within the phase (== its epochs: only end_phase left) */
    int global_epoch;       /* epochs finished over all phases */
    int batch;              /* next batch within the epoch */
    int64_t step;           /* steps done in the phase */
    double loss_sum, t_steps; /* the unfinished epoch so far */
    int64_t hits, seen;
    double train_time;      /* the run so far, for images/s */
    int64_t train_images;
    double last_loss, last_acc, last_lr; /* the last finished epoch */
    int64_t metrics_lines;  /* lines of metrics.jsonl that belong to the saved state */
    double wall_s;          /* wall time of the run so far, over all its processes */
} dpf_ckpt_pos;

/* A data-parallel run (ranks > 1) also passes every rank's BN statistics (ranks x
 * dpf_net_buffers_size), kept as "dist/buffers" beside the average in the net's buffers. */
dpf_status dpf_checkpoint_save(const char *dir, const dpf_train_config *cfg, dpf_net *net,
                               const dpf_optimizer *opt, dpf_pruner *p, const dpf_ckpt_pos *pos,
                               const dpf_kernel_watch *kw, const dpf_real *rank_bn, int ranks);
/* Restores into a net / optimiser / pruner built from the same configuration (the phase's
 * begin_phase already run). rank_bn (may be NULL) gets the per-rank BN statistics of a
 * checkpoint saved by as many ranks, *own (may be NULL) whether it did. Errors name the file
 * and what is wrong. */
dpf_status dpf_checkpoint_load(const char *dir, dpf_net *net, dpf_optimizer *opt, dpf_pruner *p,
                               dpf_ckpt_pos *pos, dpf_kernel_watch *kw, dpf_real *rank_bn,
                               int ranks, int *own);
/* The "crc32" metadata text: CRC-32 of the data area (data_crc) continued over the state text
 * and then the config text. */
void dpf_checkpoint_crc_text(uint32_t data_crc, const char *state, const char *config,
                             char out[16]);
/* The configuration and / or the position (either may be NULL) of RUN_DIR's checkpoint, in one
 * verified read. */
dpf_status dpf_checkpoint_peek(const char *dir, dpf_train_config *cfg, dpf_ckpt_pos *pos);

#endif
