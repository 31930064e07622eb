/* cmd_theory.h — what `dpf theory` computed, shared by cmd_theory.c (options, runs, the table)
 * and cmd_theory_files.c (theory.dat, summary.json, theory.png). */
#ifndef DPF_CMD_THEORY_H
#define DPF_CMD_THEORY_H

#include <stdint.h>

#include "dpf/theory.h"

#define THEORY_MAX_SPARSITIES 16

typedef struct theory_opts {
    char data[32], data_dir[1024], out[1024];
    int limit_train, iterations, batch, log_points, threads, progress, force, l2_dense;
    double lambda, lr_shift, fstar_tol;
    double sparsity[THEORY_MAX_SPARSITIES];
    int n_sparsity;
    uint64_t seed;
} theory_opts;

typedef struct theory_result {
    const theory_opts *o;
    int samples, features, classes;
    double smoothness;          /* L estimate */
    dpf_fstar_info fstar;
    double fstar_seconds, wall_s;
    int n_points;
    int64_t *t;
    /* logs[0]: dense SGD, pruned at every sparsity (one-shot); logs[1 + i]: DPF at sparsity i */
    dpf_theory_log logs[THEORY_MAX_SPARSITIES + 1];
    /* per DPF sparsity i, over the logged points: E f(u~) - f* up to t, and the p_t-weighted
     * means of delta_t and of delta_t ||w_t||^2 up to T */
    double *expected_gap[THEORY_MAX_SPARSITIES];
    double mean_delta[THEORY_MAX_SPARSITIES], pruning_error[THEORY_MAX_SPARSITIES];
} theory_result;

/* Writes DIR/theory.dat, DIR/summary.json and DIR/theory.png (+ theory.gp). 0 or -1 (said). */
int theory_write_files(const theory_result *r);

#endif
