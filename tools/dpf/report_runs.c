/* report_runs.c — dpf report: loading finished runs and grouping those that differ only in seed. */
#define _GNU_SOURCE /* strverscmp */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report.h"

/* The configuration fields that make two runs different experiments (seeds, threads, paths and
 * the evaluation interval do not). */
static const char *const key_fields[] = {
    "data", "model", "method", "sparsity", "structured", "scope", "period", "ramp_start",
    "ramp_end", "epochs", "batch", "optimizer", "lr", "momentum", "nesterov", "wd", "milestones",
    "gamma", "warmup", "limit_train", "crop_pad", "flip", "finetune", "finetune_lr", "lt_rounds",
    "prune_rate", "update_every", "density_erk", "compressor", "precision", "keep_per_filter"};

static double num(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static int is_file(const char *dir, const char *name)
{
    char p[2100];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Run files are small; a bigger one (or a FIFO, a device) is no run's. */
#define RUN_JSON_MAX (64 << 20)

static json_t *load_json(const char *dir, const char *name)
{
    char p[2100];
    json_error_t err;
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    if (stat(p, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > RUN_JSON_MAX) {
        fprintf(stderr, "dpf: %s: not a regular file of at most %d MiB\n", p, RUN_JSON_MAX >> 20);
        return NULL;
    }
    json_t *j = json_load_file(p, 0, &err);
    if (!j)
        fprintf(stderr, "dpf: %s: line %d: %s\n", p, err.line, err.text);
    else if (!json_is_object(j)) {
        fprintf(stderr, "dpf: %s: not a JSON object\n", p);
        json_decref(j);
        j = NULL;
    }
    return j;
}

/* metrics.jsonl: the epochs, and the mask updates with their position in epochs. */
static int load_metrics(rep_run *r)
{
    char p[2100];
    snprintf(p, sizeof p, "%s/metrics.jsonl", r->dir);
    struct stat st;
    if (stat(p, &st) != 0)
        return 0; /* a run without --out metrics is still a result */
    FILE *f = S_ISREG(st.st_mode) ? fopen(p, "r") : NULL;
    if (!f) {
        fprintf(stderr, "dpf: %s: not a readable regular file\n", p);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc = 0;
    double steps_per_epoch = 0;
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        json_error_t err;
        json_t *m = json_loads(line, 0, &err);
        if (!json_is_object(m) || rep_check_metrics_line(p, lineno, m) != 0) {
            if (!json_is_object(m))
                fprintf(stderr, "dpf: %s: line %d: %s\n", p, lineno,
                        m ? "not an object" : err.text);
            json_decref(m);
            rc = -1;
            break;
        }
        rep_epoch *ne = realloc(r->epochs, (size_t)(r->n_epochs + 1) * sizeof *ne);
        if (!ne) {
            fprintf(stderr, "dpf: %s: out of memory\n", p);
            json_decref(m);
            rc = -1;
            break;
        }
        r->epochs = ne;
        int in_train = strcmp(str(m, "phase_kind"), "finetune") != 0;
        double step = num(m, "step"), ep = num(m, "epoch");
        r->epochs[r->n_epochs++] = (rep_epoch){.epoch = (int)ep, .finetune = !in_train,
                                               .train_loss = num(m, "train_loss"),
                                               .train_acc = num(m, "train_acc"),
                                               .test_acc = num(m, "test_acc")};
        if (in_train && !isnan(r->epochs[r->n_epochs - 1].test_acc))
            r->acc_pre_ft = r->epochs[r->n_epochs - 1].test_acc;
        if (steps_per_epoch == 0 && step > 0 && ep >= 1)
            steps_per_epoch = step / ep;
        const json_t *ups = json_object_get(m, "mask_updates");
        size_t more = json_array_size(ups); /* one allocation per line, not per update */
        rep_update *nu = more ? realloc(r->updates, (r->n_updates + more) * sizeof *nu)
                              : r->updates;
        if (more && !nu) {
            fprintf(stderr, "dpf: %s: out of memory\n", p);
            json_decref(m);
            rc = -1;
            break;
        }
        r->updates = nu;
        size_t i;
        const json_t *u;
        json_array_foreach(ups, i, u) {
            r->updates[r->n_updates++] = (rep_update){.epoch = num(u, "step"),
                                                      .delta = num(u, "delta"),
                                                      .iou = num(u, "iou"),
                                                      .sparsity = num(u, "sparsity")};
        }
        json_decref(m);
    }
    free(line);
    fclose(f);
    for (int i = 0; i < r->n_updates; i++) /* steps -> epochs */
        r->updates[i].epoch = steps_per_epoch > 0 ? r->updates[i].epoch / steps_per_epoch : 0;
    return rc;
}

/* The run files, checked field by field before anything uses them. */
static int load_checked(rep_run *r, const char *dir)
{
    char p[2100];
    r->config = load_json(dir, "config.json");
    snprintf(p, sizeof p, "%s/config.json", dir);
    if (!r->config || rep_check_config(p, r->config) != 0)
        return -1;
    r->summary = load_json(dir, "summary.json");
    snprintf(p, sizeof p, "%s/summary.json", dir);
    if (!r->summary || rep_check_summary(p, r->summary) != 0)
        return -1;
    return load_metrics(r);
}

/* 1 if the run directory dir (by its real path) is loaded already */
static int loaded(const rep_set *s, const char *real)
{
    for (int i = 0; i < s->n_runs; i++)
        if (strcmp(s->runs[i].real, real) == 0)
            return 1;
    return 0;
}

static int load_run(rep_set *s, const char *dir)
{
    char real[PATH_MAX];
    if (!realpath(dir, real)) {
        fprintf(stderr, "dpf: %s: cannot resolve: %s\n", dir, strerror(errno));
        return -1;
    }
    if (loaded(s, real))
        return 0; /* reached twice (e.g. runs and runs/s1): one run counts once */
    rep_run *nr = realloc(s->runs, (size_t)(s->n_runs + 1) * sizeof *nr);
    if (!nr)
        return -1;
    s->runs = nr;
    rep_run *r = &s->runs[s->n_runs];
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    snprintf(r->real, sizeof r->real, "%s", real);
    r->acc_pre_ft = NAN;
    if (load_checked(r, dir) != 0) {
        json_decref(r->config);
        json_decref(r->summary);
        free(r->epochs);
        free(r->updates);
        return -1;
    }
    r->seed = (uint64_t)json_integer_value(json_object_get(r->config, "seed"));
    r->acc_final = num(r->summary, "test_acc_sparse");
    r->sparsity = num(r->summary, "sparsity_prunable");
    r->params_nonzero = num(r->summary, "params_nonzero");
    r->params_total = num(r->summary, "params_total");
    r->macs_sparse = num(r->summary, "macs_sparse");
    r->macs_dense = num(r->summary, "macs_dense");
    r->wall_s = num(r->summary, "wall_s");
    s->n_runs++;
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* A run directory, or a directory whose subdirectories are runs. */
static int load_path(rep_set *s, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "dpf: %s: not a directory\n", path);
        return -1;
    }
    if (is_file(path, "summary.json"))
        return load_run(s, path);
    if (is_file(path, "config.json")) {
        fprintf(stderr, "dpf: note: %s has not finished (no summary.json); left out\n", path);
        return 0;
    }
    struct dirent **list = NULL;
    int n = scandir(path, &list, NULL, by_name), found = 0, rc = 0;
    for (int i = 0; i < n; i++) {
        char sub[2048];
        snprintf(sub, sizeof sub, "%s/%s", path, list[i]->d_name);
        if (rc == 0 && list[i]->d_name[0] != '.' && stat(sub, &st) == 0 &&
            S_ISDIR(st.st_mode)) {
            if (is_file(sub, "summary.json")) {
                found++;
                rc = load_run(s, sub);
            } else if (is_file(sub, "config.json")) {
                fprintf(stderr, "dpf: note: %s has not finished (no summary.json); left out\n",
                        sub);
            }
        }
        free(list[i]);
    }
    free(list);
    if (rc == 0 && found == 0) {
        fprintf(stderr, "dpf: %s: no finished dpf run in it or its subdirectories (a run has "
                "summary.json)\n", path);
        return -1;
    }
    return rc;
}

/* A pruning run that ended below its target (summary.json's target_reached; runs written before
 * that field: the same rule, a point below the target, as the trainer's). */
static int missed_target(const rep_run *r)
{
    const json_t *reached = json_object_get(r->summary, "target_reached");
    if (reached)
        return json_is_false(reached);
    const char *m = str(r->config, "method");
    return strcmp(m, "dense") != 0 && strcmp(m, "fixed") != 0 && !str(r->config, "compressor")[0] &&
           r->sparsity < num(r->config, "sparsity") - 0.01;
}

/* The sparsity a run is filed at: --sparsity, except for --method fixed, whose sparsity is its
 * mask's (rounded to 0.1%: the source run's target), and for a run that missed its target,
 * filed at what it reached (a 0% "DPF" run is no result of a 90% row). */
static double target_of(const rep_run *r)
{
    if (strcmp(str(r->config, "method"), "dense") == 0)
        return 0;
    if (strcmp(str(r->config, "method"), "fixed") == 0 || missed_target(r))
        return round(r->sparsity * 1000) / 1000;
    return num(r->config, "sparsity");
}

static void make_key(const rep_run *r, char *key, size_t cap)
{
    key[0] = '\0';
    for (size_t i = 0; i < sizeof key_fields / sizeof key_fields[0]; i++) {
        json_t *v = json_object_get(r->config, key_fields[i]);
        json_t *target = strcmp(key_fields[i], "sparsity") == 0 ? json_real(target_of(r)) : NULL;
        char *text = json_dumps(target ? target : v, JSON_ENCODE_ANY | JSON_COMPACT |
                                                     JSON_REAL_PRECISION(10));
        rep_appendf(key, cap, "%s=%s;", key_fields[i], text ? text : "null");
        free(text);
        json_decref(target);
    }
    rep_appendf(key, cap, "missed=%d;", missed_target(r));
    /* --method fixed from the run's own initialisation or another one */
    int same = num(r->config, "init_seed") == num(r->config, "seed") ||
               isnan(num(r->config, "init_seed"));
    rep_appendf(key, cap, "init=%s", same ? "same" : "new");
}

static const struct {
    const char *method, *name;
} method_names[] = {
    {"dense", "Dense"}, {"oneshot", "One-shot"}, {"incremental", "Incremental"},
    {"snip", "SNIP"},   {"dsr", "DSR"},          {"sm", "SM"},
    {"lt", "LT"},       {"set", "SET"},          {"rigl", "RigL"},
    {"sfp", "SFP"},     {"dpf", "DPF"},          {"fixed", "Fixed mask"},
};

static int method_order(const char *m, const char **name)
{
    int n = (int)(sizeof method_names / sizeof method_names[0]);
    for (int i = 0; i < n; i++)
        if (strcmp(method_names[i].method, m) == 0) {
            *name = method_names[i].name;
            return i;
        }
    *name = m;
    return n;
}

static int add_entry(rep_set *s, rep_group *g, int pre_ft)
{
    rep_entry *ne = realloc(s->entries, (size_t)(s->n_entries + 1) * sizeof *ne);
    if (!ne)
        return -1;
    s->entries = ne;
    rep_entry *e = &s->entries[s->n_entries++];
    memset(e, 0, sizeof *e);
    e->g = g;
    e->pre_ft = pre_ft;
    const char *name;
    e->order = 2 * method_order(g->method, &name) + (g->finetune > 0 && !pre_ft);
    snprintf(e->label, sizeof e->label, "%s%s%s", name,
             strcmp(g->method, "fixed") == 0 ? (g->same_init ? " (same init)" : " (new init)")
                                             : "",
             g->finetune > 0 && !pre_ft ? "+FT" : "");
    if (g->structured && strcmp(g->method, "sfp") != 0)
        rep_appendf(e->label, sizeof e->label, " (filters)");
    if (g->missed)
        rep_appendf(e->label, sizeof e->label, " (target %g%% missed)",
                    100 * num(g->runs[0]->config, "sparsity"));
    return 0;
}

/* Appends " field=value" for every key field that differs among the groups of the same model,
 * method, target sparsity and init (e.g. the period sweep, the epoch budgets). */
static void distinguish(rep_set *s)
{
    for (int i = 0; i < s->n_entries; i++) {
        rep_entry *e = &s->entries[i];
        char extra[160] = "";
        for (size_t k = 0; k < sizeof key_fields / sizeof key_fields[0]; k++) {
            const json_t *mine = json_object_get(e->g->runs[0]->config, key_fields[k]);
            int differs = 0;
            for (int j = 0; j < s->n_groups && !differs; j++) {
                const rep_group *o = &s->groups[j];
                if (o == e->g || strcmp(o->model, e->g->model) != 0 ||
                    strcmp(o->method, e->g->method) != 0 || o->sparsity != e->g->sparsity ||
                    o->same_init != e->g->same_init || strcmp(o->data, e->g->data) != 0)
                    continue;
                const json_t *theirs = json_object_get(o->runs[0]->config, key_fields[k]);
                differs = mine != theirs && !json_equal(mine, theirs); /* both absent: same */
            }
            if (!differs || strcmp(key_fields[k], "finetune") == 0)
                continue;
            char *v = json_dumps(mine, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(6));
            rep_appendf(extra, sizeof extra, " %s=%s", key_fields[k], v ? v : "null");
            free(v);
        }
        rep_appendf(e->label, sizeof e->label, "%s", extra);
    }
}

static int cmp_entry(const void *a, const void *b)
{
    const rep_entry *x = a, *y = b;
    if (x->order != y->order)
        return x->order - y->order;
    return strverscmp(x->label, y->label); /* period=4 before period=16 */
}

static int group_runs(rep_set *s)
{
    s->groups = calloc((size_t)s->n_runs + 1, sizeof *s->groups);
    s->models = calloc((size_t)s->n_runs + 1, sizeof *s->models);
    if (!s->groups || !s->models)
        return -1;
    int mixed_data = 0; /* then the tables and figures are per model and data set */
    for (int i = 1; i < s->n_runs; i++)
        mixed_data |= strcmp(str(s->runs[i].config, "data"), str(s->runs[0].config, "data")) != 0;
    for (int i = 0; i < s->n_runs; i++) {
        rep_run *r = &s->runs[i];
        char key[2048];
        make_key(r, key, sizeof key);
        rep_group *g = NULL;
        for (int j = 0; j < s->n_groups && !g; j++)
            if (strcmp(s->groups[j].key, key) == 0)
                g = &s->groups[j];
        if (!g) {
            g = &s->groups[s->n_groups++];
            snprintf(g->key, sizeof g->key, "%s", key);
            snprintf(g->model, sizeof g->model, mixed_data ? "%s on %s" : "%s",
                     str(r->config, "model"), str(r->config, "data"));
            snprintf(g->method, sizeof g->method, "%s", str(r->config, "method"));
            snprintf(g->data, sizeof g->data, "%s", str(r->config, "data"));
            g->sparsity = target_of(r);
            g->missed = missed_target(r);
            g->finetune = (int)num(r->config, "finetune");
            g->structured = json_is_true(json_object_get(r->config, "structured"));
            g->same_init = strstr(key, "init=same") != NULL;
            int m = 0;
            while (m < s->n_models && strcmp(s->models[m], g->model) != 0)
                m++;
            if (m == s->n_models)
                snprintf(s->models[s->n_models++], sizeof s->models[0], "%s", g->model);
        }
        rep_run **nr = realloc(g->runs, (size_t)(g->n + 1) * sizeof *nr);
        if (!nr)
            return -1;
        g->runs = nr;
        g->runs[g->n++] = r;
    }
    for (int j = 0; j < s->n_groups; j++) {
        rep_group *g = &s->groups[j];
        /* DPF and Incremental with fine-tuning give two results: before it and after it */
        int two = g->finetune > 0 &&
                  (strcmp(g->method, "dpf") == 0 || strcmp(g->method, "incremental") == 0);
        if ((two && add_entry(s, g, 1) != 0) || add_entry(s, g, 0) != 0)
            return -1;
    }
    distinguish(s);
    qsort(s->entries, (size_t)s->n_entries, sizeof *s->entries, cmp_entry);
    return 0;
}

int rep_load(rep_set *s, char **paths, int n_paths)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < n_paths; i++)
        if (load_path(s, paths[i]) != 0)
            return -1;
    if (s->n_runs == 0) { /* e.g. only unfinished runs: no empty report, no empty figures */
        fprintf(stderr, "dpf: report: no finished run to report (a run has summary.json)\n");
        return -1;
    }
    if (group_runs(s) != 0) {
        fprintf(stderr, "dpf: report: out of memory\n");
        return -1;
    }
    return 0;
}

void rep_free(rep_set *s)
{
    for (int i = 0; i < s->n_runs; i++) {
        json_decref(s->runs[i].config);
        json_decref(s->runs[i].summary);
        free(s->runs[i].epochs);
        free(s->runs[i].updates);
    }
    for (int j = 0; j < s->n_groups; j++)
        free(s->groups[j].runs);
    free(s->runs);
    free(s->groups);
    free(s->models);
    free(s->entries);
    memset(s, 0, sizeof *s);
}

void rep_appendf(char *dst, size_t cap, const char *fmt, ...)
{
    size_t n = strnlen(dst, cap);
    if (n + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst + n, cap - n, fmt, ap);
    va_end(ap);
}

double rep_value_acc(const rep_run *r, int pre_ft) { return pre_ft ? r->acc_pre_ft : r->acc_final; }
double rep_value_params(const rep_run *r, int pre_ft) { (void)pre_ft; return r->params_nonzero; }
double rep_value_macs(const rep_run *r, int pre_ft) { (void)pre_ft; return r->macs_sparse; }
double rep_value_sparsity(const rep_run *r, int pre_ft) { (void)pre_ft; return r->sparsity; }
double rep_value_wall(const rep_run *r, int pre_ft) { (void)pre_ft; return r->wall_s; }

double rep_mean(const rep_entry *e, rep_value_fn f, double *std, int *n)
{
    double sum = 0, sq = 0;
    int k = 0;
    for (int i = 0; i < e->g->n; i++) {
        double v = f(e->g->runs[i], e->pre_ft);
        if (isnan(v))
            continue;
        sum += v;
        k++;
    }
    double mean = k ? sum / k : NAN;
    for (int i = 0; i < e->g->n; i++) {
        double v = f(e->g->runs[i], e->pre_ft);
        if (!isnan(v))
            sq += (v - mean) * (v - mean);
    }
    if (std)
        *std = k > 1 ? sqrt(sq / (k - 1)) : 0;
    if (n)
        *n = k;
    return mean;
}
