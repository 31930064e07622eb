/* report.h — dpf report: reads finished runs (config.json, summary.json, metrics.jsonl), groups
 * the runs that differ only in their seed, and writes a markdown report with paper-style tables
 * and gnuplot figures. */
#ifndef DPF_REPORT_H
#define DPF_REPORT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

typedef struct rep_epoch {
    int epoch;              /* counted over all phases, 1-based */
    int finetune;           /* the epoch belongs to a fine-tuning phase */
    double train_loss, train_acc, test_acc;   /* test_acc NAN when not evaluated */
} rep_epoch;

typedef struct rep_update {
    double epoch;           /* position in training, in epochs of the phase */
    double delta, iou, sparsity;
} rep_update;

typedef struct rep_run {
    char dir[1024];
    char real[4096];        /* the directory's real path: a run reached twice counts once */
    json_t *config, *summary;
    uint64_t seed;
    double acc_final;       /* sparse model at the end of the run */
    double acc_pre_ft;      /* last training-phase epoch with a test accuracy (NAN: none) */
    double sparsity;        /* reached, of the prunable weights */
    double params_nonzero, params_total, macs_sparse, macs_dense, wall_s;
    rep_epoch *epochs;
    int n_epochs;
    rep_update *updates;
    int n_updates;
} rep_run;

/* Runs with equal configurations apart from the seed. */
typedef struct rep_group {
    char key[2048];         /* canonical configuration text without the seed */
    char model[80];         /* the model, "MODEL on DATA" when the runs use several data sets */
    char method[32], data[32];
    double sparsity;        /* the target */
    int finetune, structured, same_init;
    int missed;             /* the runs missed their target: filed at the reached sparsity */
    rep_run **runs;
    int n;
} rep_group;

/* One result column of the tables: a group, read before (pre_ft) or after fine-tuning. */
typedef struct rep_entry {
    rep_group *g;
    int pre_ft;
    char label[160];
    int order;              /* column order of the method (paper order) */
} rep_entry;

typedef struct rep_set {
    rep_run *runs;
    int n_runs;
    rep_group *groups;
    int n_groups;
    rep_entry *entries;
    int n_entries;
    char (*models)[80];     /* rep_group.model, in order of first appearance (one per group
                               at most) */
    int n_models;
} rep_set;

/* Loads every run under the paths (a run directory, or a directory of runs); unfinished runs are
 * skipped with a note on stderr. Returns 0, or -1 after a one-line error. */
int rep_load(rep_set *s, char **paths, int n_paths);
void rep_free(rep_set *s);

/* Checks of the run files' fields (type, range, known names) before use: 0, or -1 after one line
 * "dpf: FILE: field "KEY" ..." on stderr (report_check.c). */
int rep_check_config(const char *file, const json_t *config);
int rep_check_summary(const char *file, const json_t *summary);
int rep_check_metrics_line(const char *file, int line, const json_t *m);

/* Mean and sample standard deviation of a per-run value over a group's runs (NAN skipped). */
typedef double (*rep_value_fn)(const rep_run *r, int pre_ft);
double rep_mean(const rep_entry *e, rep_value_fn f, double *std, int *n);
double rep_value_acc(const rep_run *r, int pre_ft);
double rep_value_params(const rep_run *r, int pre_ft);
double rep_value_macs(const rep_run *r, int pre_ft);
double rep_value_sparsity(const rep_run *r, int pre_ft);
double rep_value_wall(const rep_run *r, int pre_ft);

/* The distinct (target sparsity, structured) pairs of a model's pruned results, ascending
 * (filter-wise after unstructured): the rows of its table, the panels of its figures. */
int rep_rows(const rep_set *s, const char *model, double *sp, int *st, int max);

/* Appends printf-style text to the string dst of capacity cap, truncating. */
void rep_appendf(char *dst, size_t cap, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* report.md: the paper-style table and the per-entry details. */
int rep_write_tables(const rep_set *s, FILE *f);
/* DPF against another result of its row (report_verdict.c): diff = mean accuracy of a minus b,
 * noise = twice the pooled sample std of their seeds (NAN with one seed on both sides), text =
 * "DPF better" / "DPF worse" when |diff| > noise, else "within noise" (or why there is none). */
typedef struct rep_verdict_t {
    double diff, noise;
    const char *text;
} rep_verdict_t;
void rep_verdict(const rep_entry *a, const rep_entry *b, rep_verdict_t *v);
/* The "DPF against the others" section of report.md (nothing when DPF has nothing to meet). */
int rep_write_verdicts(const rep_set *s, FILE *f);
/* The PNG figures (and their .dat/.gp) in dir; appends their markdown links to f. Returns the
 * number of figures that failed (0 if all were drawn). */
int rep_write_plots(const rep_set *s, const char *dir, FILE *f);

#endif
