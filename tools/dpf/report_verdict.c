/* report_verdict.c — dpf report: DPF against every other result of its table row, with issue 19's
 * rule: a difference holds when the means differ by more than twice the pooled sample standard
 * deviation of the two results' seeds; otherwise it is within noise. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

static int is_dpf(const rep_entry *e) { return strcmp(e->g->method, "dpf") == 0; }
static int is_dense(const rep_entry *e) { return strcmp(e->g->method, "dense") == 0; }

void rep_verdict(const rep_entry *a, const rep_entry *b, rep_verdict_t *v)
{
    double sa, sb;
    int na, nb;
    v->diff = rep_mean(a, rep_value_acc, &sa, &na) - rep_mean(b, rep_value_acc, &sb, &nb);
    int df = na + nb - 2;
    v->noise = df >= 1 ? 2 * sqrt(((na - 1) * sa * sa + (nb - 1) * sb * sb) / df) : NAN;
    if (na == 0 || nb == 0 || isnan(v->diff))
        v->text = "no result";
    else if (df < 1)
        v->text = "one seed each: no verdict";
    else if (fabs(v->diff) > v->noise)
        v->text = v->diff > 0 ? "DPF better" : "DPF worse";
    else
        v->text = "within noise";
}

/* Whether entry e sits in the table row (sp, st) of model: dense results belong to every row. */
static int in_row(const rep_entry *e, const char *model, double sp, int st)
{
    return strcmp(e->g->model, model) == 0 &&
           (is_dense(e) || (e->g->sparsity == sp && e->g->structured == st));
}

static const char *const section =
    "\n## DPF against the others\n\nEach DPF result against every other result of its row: the "
    "difference of the mean test accuracies (DPF minus the other) holds when it exceeds twice the "
    "pooled sample standard deviation of the two results' seeds; otherwise it is within noise.\n";

/* The model's comparisons; the section heading goes first when *started is 0 and there is one. */
static void model_verdicts(const rep_set *s, const char *model, FILE *f, int *started)
{
    double sp[256];
    int st[256];
    int rows = rep_rows(s, model, sp, st, 256), header = 0;
    for (int r = 0; r < rows; r++)
        for (int i = 0; i < s->n_entries; i++) {
            const rep_entry *a = &s->entries[i];
            if (!is_dpf(a) || !in_row(a, model, sp[r], st[r]))
                continue;
            for (int j = 0; j < s->n_entries; j++) {
                const rep_entry *b = &s->entries[j];
                if (is_dpf(b) || !in_row(b, model, sp[r], st[r]))
                    continue;
                if (!*started)
                    fputs(section, f), *started = 1;
                if (!header++)
                    fprintf(f, "\n### %s\n\n| sparsity | DPF result | against | difference "
                            "(points) | 2 × pooled std | verdict |\n|---|---|---|---|---|---|\n",
                            model);
                rep_verdict_t v;
                rep_verdict(a, b, &v);
                char noise[32] = "–";
                if (!isnan(v.noise))
                    snprintf(noise, sizeof noise, "%.2f", 100 * v.noise);
                fprintf(f, "| %g%%%s | %s | %s | %+.2f | %s | %s |\n", 100 * sp[r],
                        st[r] ? " of filters" : "", a->label, b->label, 100 * v.diff, noise,
                        v.text);
            }
        }
}

int rep_write_verdicts(const rep_set *s, FILE *f)
{
    int started = 0;
    for (int m = 0; m < s->n_models; m++)
        model_verdicts(s, s->models[m], f, &started);
    return ferror(f) ? -1 : 0;
}
