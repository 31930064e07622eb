/* report_table.c — dpf report: the markdown tables, laid out like the paper's Tables 1, 2 and 4
 * (rows: model x sparsity; columns: methods; mean ± std over seeds), and one line per result. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static int is_dense(const rep_entry *e) { return strcmp(e->g->method, "dense") == 0; }

static void fmt_acc(char *buf, size_t cap, const rep_entry *e, int bold)
{
    double sd;
    int n;
    double m = rep_mean(e, rep_value_acc, &sd, &n);
    if (n == 0)
        snprintf(buf, cap, "–");
    else if (n == 1)
        snprintf(buf, cap, "%s%.2f%s", bold ? "**" : "", 100 * m, bold ? "**" : "");
    else
        snprintf(buf, cap, "%s%.2f ± %.2f%s", bold ? "**" : "", 100 * m, 100 * sd,
                 bold ? "**" : "");
}

static void fmt_count(char *buf, size_t cap, double v)
{
    if (isnan(v))
        snprintf(buf, cap, "–");
    else if (v >= 1e9)
        snprintf(buf, cap, "%.2fG", v / 1e9);
    else if (v >= 1e6)
        snprintf(buf, cap, "%.2fM", v / 1e6);
    else if (v >= 1e4)
        snprintf(buf, cap, "%.1fK", v / 1e3);
    else
        snprintf(buf, cap, "%.0f", v);
}

int rep_rows(const rep_set *s, const char *model, double *sp, int *st, int max)
{
    int n = 0;
    for (int i = 0; i < s->n_entries; i++) {
        const rep_entry *e = &s->entries[i];
        if (strcmp(e->g->model, model) != 0 || is_dense(e))
            continue;
        int k = 0;
        while (k < n && !(sp[k] == e->g->sparsity && st[k] == e->g->structured))
            k++;
        if (k < n || n == max)
            continue;
        sp[n] = e->g->sparsity, st[n] = e->g->structured; /* insertion sort */
        for (int j = n++; j > 0 && (st[j - 1] > st[j] || (st[j - 1] == st[j] &&
                                                         sp[j - 1] > sp[j])); j--) {
            double t = sp[j]; sp[j] = sp[j - 1]; sp[j - 1] = t;
            int u = st[j]; st[j] = st[j - 1]; st[j - 1] = u;
        }
    }
    return n;
}

static const rep_entry *cell(const rep_set *s, const char *model, const char *label, double sp,
                             int st)
{
    for (int i = 0; i < s->n_entries; i++) {
        const rep_entry *e = &s->entries[i];
        if (strcmp(e->g->model, model) == 0 && strcmp(e->label, label) == 0 &&
            (is_dense(e) || (e->g->sparsity == sp && e->g->structured == st)))
            return e;
    }
    return NULL;
}

static void model_table(const rep_set *s, const char *model, FILE *f)
{
    /* at most one column and one row per entry: nothing is left out */
    size_t cap = (size_t)s->n_entries + 1;
    const char **labels = malloc(cap * sizeof *labels);
    double *sp = malloc(cap * sizeof *sp);
    int *st = malloc(cap * sizeof *st);
    if (!labels || !sp || !st) {
        fprintf(stderr, "dpf: report: out of memory\n");
        free(labels), free(sp), free(st);
        return;
    }
    int nl = 0;
    for (int i = 0; i < s->n_entries; i++) {
        const rep_entry *e = &s->entries[i];
        if (strcmp(e->g->model, model) != 0)
            continue;
        int k = 0;
        while (k < nl && strcmp(labels[k], e->label) != 0)
            k++;
        if (k == nl)
            labels[nl++] = e->label;
    }
    int rows = rep_rows(s, model, sp, st, (int)cap);
    fprintf(f, "\n### %s\n\nTop-1 test accuracy (%%) of the sparse model, mean ± sample std over "
            "seeds; the best pruned result of a row in bold.\n\n| sparsity |", model);
    for (int c = 0; c < nl; c++)
        fprintf(f, " %s |", labels[c]);
    fprintf(f, "\n|---|");
    for (int c = 0; c < nl; c++)
        fprintf(f, "---|");
    fprintf(f, "\n");
    if (rows == 0) { /* dense runs only */
        sp[0] = 0, st[0] = 0;
        rows = 1;
    }
    for (int r = 0; r < rows; r++) {
        double best = -1;
        for (int c = 0; c < nl; c++) {
            const rep_entry *e = cell(s, model, labels[c], sp[r], st[r]);
            if (e && !is_dense(e)) {
                double m = rep_mean(e, rep_value_acc, NULL, NULL);
                if (!isnan(m) && m > best)
                    best = m;
            }
        }
        fprintf(f, "| %g%%%s |", 100 * sp[r], st[r] ? " of filters" : "");
        for (int c = 0; c < nl; c++) {
            const rep_entry *e = cell(s, model, labels[c], sp[r], st[r]);
            char buf[64] = "–";
            if (e)
                fmt_acc(buf, sizeof buf, e, !is_dense(e) &&
                        rep_mean(e, rep_value_acc, NULL, NULL) == best);
            fprintf(f, " %s |", buf);
        }
        fprintf(f, "\n");
    }
    free(labels), free(sp), free(st);
}

int rep_write_tables(const rep_set *s, FILE *f)
{
    fprintf(f, "## Accuracy tables\n");
    for (int m = 0; m < s->n_models; m++)
        model_table(s, s->models[m], f);
    fprintf(f, "\nDPF and Incremental runs with `--finetune` give two columns: the end of their "
            "training phase and, with +FT, the end of fine-tuning (paper Table 2).\n");
    rep_write_verdicts(s, f);
    fprintf(f, "\n## Every result\n\n| result | model | data | target | reached sparsity | "
            "nonzero params | MACs / image | test acc %% | seeds | wall (min) | runs |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < s->n_entries; i++) {
        const rep_entry *e = &s->entries[i];
        char acc[64], params[32], macs[32], seeds[128] = "", runs[512] = "";
        fmt_acc(acc, sizeof acc, e, 0);
        fmt_count(params, sizeof params, rep_mean(e, rep_value_params, NULL, NULL));
        fmt_count(macs, sizeof macs, rep_mean(e, rep_value_macs, NULL, NULL));
        for (int k = 0; k < e->g->n; k++) {
            const char *base = strrchr(e->g->runs[k]->dir, '/');
            rep_appendf(seeds, sizeof seeds, "%s%llu", k ? ", " : "",
                        (unsigned long long)e->g->runs[k]->seed);
            rep_appendf(runs, sizeof runs, "%s%s", k ? ", " : "",
                        base ? base + 1 : e->g->runs[k]->dir);
        }
        fprintf(f, "| %s | %s | %s | %g%% | %.2f%% | %s | %s | %s | %s | %.1f | %s |\n", e->label,
                e->g->model, e->g->data, 100 * e->g->sparsity,
                100 * rep_mean(e, rep_value_sparsity, NULL, NULL), params, macs, acc, seeds,
                rep_mean(e, rep_value_wall, NULL, NULL) / 60, runs);
    }
    return ferror(f) ? -1 : 0;
}
