/* report_plots.c — dpf report: the figures, drawn by gnuplot. Each figure NAME.png comes with
 * NAME.dat (its data, one block per line drawn, "# label" above each) and NAME.gp (its script).
 * Figures (per model where it applies): accuracy vs sparsity, nonzero parameters and MACs (paper
 * Fig. 3), mask convergence (Fig. 4), per-layer sparsity (Fig. 14), delta and mask IoU over
 * training (Fig. 7), loss and accuracy curves. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"
#include "report.h"

static const char *const colours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
                                      "#393b79", "#ad494a", "#637939", "#843c39"};

typedef struct fig {
    const char *dir;
    char name[96];
    FILE *dat;
    int blocks;
    char *gp;
    size_t len, cap;
    int items;      /* plot items of the panel being built */
} fig;

static void gp(fig *g, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(g->gp ? g->gp + g->len : NULL, g->gp ? g->cap - g->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (g->gp && g->len + (size_t)n < g->cap) {
            g->len += (size_t)n;
            return;
        }
        size_t cap = (g->cap + (size_t)n + 1) * 2;
        char *p = realloc(g->gp, cap);
        if (!p)
            return;
        g->gp = p, g->cap = cap;
    }
}

static int fig_open(fig *g, const char *dir, const char *name, int w, int h)
{
    memset(g, 0, sizeof *g);
    g->dir = dir;
    snprintf(g->name, sizeof g->name, "%s", name);
    char path[4200], pre[512];
    snprintf(path, sizeof path, "%s/%s.dat", dir, name);
    g->dat = fopen(path, "w");
    if (!g->dat) {
        fprintf(stderr, "dpf: %s: cannot write\n", path);
        return -1;
    }
    plot_preamble(pre, sizeof pre, name, w, h);
    gp(g, "%sset datafile missing 'NaN'\nset key inside top right font ',8' samplen 2\n", pre);
    return 0;
}

/* Starts a data block; returns its index for `index N` in the script. */
static int fig_block(fig *g, const char *label)
{
    if (g->blocks > 0)
        fprintf(g->dat, "\n\n");
    char t[400];
    fprintf(g->dat, "# %s\n", plot_quote(t, sizeof t, label)); /* one comment line */
    return g->blocks++;
}

/* One line of the panel being built (call panel_end after the last). */
static void item(fig *g, int block, const char *using, const char *style, const char *colour,
                 const char *label)
{
    char t[400];
    plot_quote(t, sizeof t, label);
    gp(g, "%s'%s.dat' index %d using %s with %s lc rgb '%s' lw 1.5 title '%s'",
       g->items++ ? ", \\\n     " : "plot ", g->name, block, using, style, colour, t);
}

/* A horizontal reference line at y (e.g. the dense accuracy) across the panel's x range. */
static void item_const(fig *g, double y, const char *colour, const char *label)
{
    char t[400];
    plot_quote(t, sizeof t, label);
    gp(g, "%s%g with lines dt 2 lc rgb '%s' lw 1.5 title '%s'", g->items++ ? ", \\\n     " : "plot ",
       y, colour, t);
}

static void panel_end(fig *g)
{
    if (g->items == 0)
        gp(g, "set label 1 'no data' at graph 0.5, 0.5 center\nplot NaN notitle\nunset label 1");
    gp(g, "\n");
    g->items = 0;
}

static int fig_close(fig *g, FILE *md, const char *caption)
{
    int bad = fclose(g->dat) != 0;
    int rc = bad ? -1 : plot_draw(g->dir, g->name, g->gp ? g->gp : "");
    if (bad)
        fprintf(stderr, "dpf: %s/%s.dat: write failed\n", g->dir, g->name);
    free(g->gp);
    if (rc == 0)
        fprintf(md, "\n![%s](%s.png)\n\n*%s* (data: [%s.dat](%s.dat))\n", caption, g->name,
                caption, g->name, g->name);
    return rc != 0;
}

/* ---- which entries to draw ---- */

static int is_dense(const rep_entry *e) { return strcmp(e->g->method, "dense") == 0; }

/* One entry per group for per-run figures: DPF/Incremental's pre-fine-tuning entry stands for
 * the run. */
static int primary(const rep_entry *e)
{
    int two = e->g->finetune > 0 &&
              (strcmp(e->g->method, "dpf") == 0 || strcmp(e->g->method, "incremental") == 0);
    return e->pre_ft || !two;
}

static const char *colour_of(const rep_set *s, const rep_entry *e)
{
    if (is_dense(e))
        return "#000000";
    int k = 0;
    for (int i = 0; i < s->n_entries && &s->entries[i] != e; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = strcmp(s->entries[j].label, s->entries[i].label) == 0;
        k += !seen && !is_dense(&s->entries[i]) && strcmp(s->entries[i].label, e->label) != 0;
    }
    return colours[k % (int)(sizeof colours / sizeof colours[0])];
}

static void panel_title(fig *g, const char *what, double sp, int st)
{
    char q[200];
    gp(g, "set title '%s, %g%% sparsity%s'\n", plot_quote(q, sizeof q, what), 100 * sp,
       st ? " of filters" : "");
}

/* ---- Fig. 3: accuracy against sparsity, nonzero parameters, MACs ---- */

static int accuracy_figure(const rep_set *s, const char *dir, FILE *md, int axis)
{
    static const char *names[] = {"accuracy_vs_sparsity", "accuracy_vs_params",
                                  "accuracy_vs_macs"};
    static const char *xl[] = {"sparsity of the prunable weights (%)", "nonzero parameters",
                               "MACs per image (sparse)"};
    fig g;
    if (fig_open(&g, dir, names[axis], 640, 420 * s->n_models) != 0)
        return 1;
    gp(&g, "set multiplot layout %d,1\nset ylabel 'test accuracy (%%)'\nset xlabel '%s'\n"
       "set key bottom left\nset offsets graph 0.03, graph 0.03, 0, 0\n%s",
       s->n_models, xl[axis], axis ? "set logscale x\nset format x '%.0s%c'\n" : "");
    for (int m = 0; m < s->n_models; m++) {
        char q[200];
        gp(&g, "set title '%s'\n", plot_quote(q, sizeof q, s->models[m]));
        for (int i = 0; i < s->n_entries; i++) {
            const rep_entry *e = &s->entries[i];
            int first = 1;
            for (int j = 0; j < i && first; j++)
                first = strcmp(s->entries[j].label, e->label) != 0 ||
                        strcmp(s->entries[j].g->model, s->models[m]) != 0;
            if (!first || strcmp(e->g->model, s->models[m]) != 0)
                continue;
            /* every entry of this label and model is one point */
            int b = fig_block(&g, e->label);
            for (int j = i; j < s->n_entries; j++) {
                const rep_entry *o = &s->entries[j];
                if (strcmp(o->label, e->label) != 0 || strcmp(o->g->model, s->models[m]) != 0)
                    continue;
                double sd, acc = rep_mean(o, rep_value_acc, &sd, NULL);
                fprintf(g.dat, "%g %g %g %g %g\n", 100 * o->g->sparsity, 100 * acc, 100 * sd,
                        rep_mean(o, rep_value_params, NULL, NULL),
                        rep_mean(o, rep_value_macs, NULL, NULL));
            }
            static const char *cols[] = {"1:2:3", "4:2:3", "5:2:3"};
            if (is_dense(e) && axis == 0) /* a line, so the x range fits the pruned results */
                item_const(&g, 100 * rep_mean(e, rep_value_acc, NULL, NULL), "#000000", e->label);
            else
                item(&g, b, cols[axis], "yerrorlines pt 7 ps 0.8", colour_of(s, e), e->label);
        }
        panel_end(&g);
    }
    gp(&g, "unset multiplot\n");
    static const char *caps[] = {
        "Test accuracy against sparsity (paper Fig. 3a); error bars: std over seeds",
        "Test accuracy against nonzero parameters (paper Fig. 3b)",
        "Test accuracy against MACs per image of the sparse model (paper Fig. 3c)"};
    return fig_close(&g, md, caps[axis]);
}

/* ---- per model, one panel per sparsity: mask convergence, layer sparsity, dynamics, curves --- */

typedef void (*panel_fn)(const rep_set *s, fig *g, const rep_entry *e, int row);

/* A per-model figure: rows of panels (one panel per sparsity), each row drawn by draw. */
typedef struct model_fig {
    const char *name, *caption;
    int rows;
    const char *what[2], *ylabel[2], *xlabel;
    int with_dense;             /* the dense run is drawn in every panel */
    panel_fn draw;
    const char *extra;          /* gnuplot settings of the figure */
} model_fig;

static int panels(const rep_set *s, const char *dir, FILE *md, const char *model,
                  const model_fig *mf, const double *sp, const int *st, int np)
{
    char fname[96], q[200];
    snprintf(fname, sizeof fname, "%s_%s", mf->name, model);
    for (char *c = fname; *c; c++) /* "resnet20 on cifar10" -> resnet20_on_cifar10 */
        if (!(isalnum((unsigned char)*c) || *c == '-' || *c == '.'))
            *c = '_';
    fig g;
    if (fig_open(&g, dir, fname, 460 * np, 360 * mf->rows) != 0)
        return 1;
    gp(&g, "set multiplot layout %d,%d\nset xlabel '%s'\n%s", mf->rows, np,
       plot_quote(q, sizeof q, mf->xlabel), mf->extra);
    for (int r = 0; r < mf->rows; r++) {
        gp(&g, "set ylabel '%s'\n", plot_quote(q, sizeof q, mf->ylabel[r]));
        for (int p = 0; p < np; p++) {
            panel_title(&g, mf->what[r], sp[p], st[p]);
            for (int i = 0; i < s->n_entries; i++) {
                const rep_entry *e = &s->entries[i];
                if (strcmp(e->g->model, model) != 0 || !primary(e))
                    continue;
                if (is_dense(e) ? !mf->with_dense
                                : !(e->g->sparsity == sp[p] && e->g->structured == st[p]))
                    continue;
                mf->draw(s, &g, e, r);
            }
            panel_end(&g);
        }
    }
    gp(&g, "unset multiplot\n");
    char cap[256];
    snprintf(cap, sizeof cap, "%s: %s", model, mf->caption);
    return fig_close(&g, md, cap);
}

static int model_figure(const rep_set *s, const char *dir, FILE *md, const char *model,
                        const model_fig *mf)
{
    size_t cap = (size_t)s->n_entries + 1; /* a panel per sparsity: none left out */
    double *sp = malloc(cap * sizeof *sp);
    int *st = malloc(cap * sizeof *st);
    int np = sp && st ? rep_rows(s, model, sp, st, (int)cap) : -1;
    int rc = np < 0    ? 1
             : np == 0 ? 0 /* dense runs only: nothing pruned to show */
                       : panels(s, dir, md, model, mf, sp, st, np);
    if (np < 0)
        fprintf(stderr, "dpf: report: out of memory\n");
    free(sp);
    free(st);
    return rc;
}

static void draw_mask_convergence(const rep_set *s, fig *g, const rep_entry *e, int row)
{
    (void)row;
    const json_t *first = json_object_get(json_object_get(e->g->runs[0]->summary, "pruning"),
                                          "mask_changing_after_epoch");
    size_t len = json_array_size(first);
    if (len == 0)
        return;
    int b = fig_block(g, e->label);
    for (size_t k = 0; k < len; k++) { /* mean over the seeds */
        double sum = 0;
        int n = 0;
        for (int i = 0; i < e->g->n; i++) {
            const json_t *a = json_object_get(
                json_object_get(e->g->runs[i]->summary, "pruning"), "mask_changing_after_epoch");
            const json_t *v = json_array_get(a, k);
            if (json_is_number(v))
                sum += json_number_value(v), n++;
        }
        fprintf(g->dat, "%zu %g\n", k + 1, n ? 100 * sum / n : NAN);
    }
    item(g, b, "1:2", "linespoints pt 7 ps 0.6", colour_of(s, e), e->label);
}

static void draw_layers(const rep_set *s, fig *g, const rep_entry *e, int row)
{
    (void)row;
    const json_t *ls = json_object_get(json_object_get(e->g->runs[0]->summary, "pruning"),
                                       "layer_sparsity");
    if (json_object_size(ls) == 0)
        return;
    int b = fig_block(g, e->label), k = 0;
    const char *layer;
    const json_t *v;
    json_object_foreach((json_t *)ls, layer, v)
        fprintf(g->dat, "%d %g %s\n", k++, 100 * json_number_value(v), layer); /* checked names */
    item(g, b, "1:2:xtic(3)", "linespoints pt 7 ps 0.6", colour_of(s, e), e->label);
}

static void draw_dynamics(const rep_set *s, fig *g, const rep_entry *e, int row)
{
    const rep_run *r = e->g->runs[0];
    if (r->n_updates < 3)
        return; /* a fixed mask: nothing moves */
    int b = fig_block(g, e->label);
    for (int i = 0; i < r->n_updates; i++)
        fprintf(g->dat, "%g %g %g\n", r->updates[i].epoch, r->updates[i].delta,
                r->updates[i].iou);
    item(g, b, row == 0 ? "1:2" : "1:3", "lines", colour_of(s, e), e->label);
}

static void draw_curves(const rep_set *s, fig *g, const rep_entry *e, int row)
{
    const rep_run *r = e->g->runs[0];
    if (r->n_epochs == 0)
        return;
    int b = fig_block(g, e->label);
    for (int i = 0; i < r->n_epochs; i++)
        fprintf(g->dat, "%d %g %g\n", r->epochs[i].epoch, r->epochs[i].train_loss,
                100 * r->epochs[i].test_acc);
    item(g, b, row == 0 ? "1:2" : "1:3", "linespoints pt 7 ps 0.5", colour_of(s, e), e->label);
}

int rep_write_plots(const rep_set *s, const char *dir, FILE *md)
{
    static const model_fig figs[] = {
        {"mask_convergence", "share of the mask that still changes after each epoch, mean over "
         "seeds (paper Fig. 4)", 1, {"mask elements still changing"},
         {"% of the mask changing after the epoch"}, "epoch", 0, draw_mask_convergence,
         "set yrange [0:*]\n"},
        {"layer_sparsity", "sparsity of each prunable layer at the end, first seed (paper "
         "Fig. 14)", 1, {"per-layer sparsity"}, {"sparsity of the layer (%)"}, "", 0,
         draw_layers, "set xtics rotate by -60 font ',7'\nset yrange [0:100]\n"},
        {"dynamics", "delta and the IoU of consecutive masks at each mask update, first seed "
         "(paper Fig. 7)", 2, {"delta = |w - w~|^2 / |w|^2", "IoU of consecutive masks"},
         {"delta", "IoU"}, "epoch (of the training phase)", 0, draw_dynamics,
         "set yrange [0:1]\n"},
        {"curves", "training loss and test accuracy per epoch, first seed (fine-tuning epochs "
         "follow training)", 2, {"training loss", "test accuracy"},
         {"training loss", "test accuracy (%)"}, "epoch", 1, draw_curves, ""},
    };
    int failed = 0;
    fprintf(md, "\n## Figures\n");
    for (int axis = 0; axis < 3; axis++)
        failed += accuracy_figure(s, dir, md, axis);
    for (int m = 0; m < s->n_models; m++)
        for (size_t k = 0; k < sizeof figs / sizeof figs[0]; k++)
            failed += model_figure(s, dir, md, s->models[m], &figs[k]);
    return failed;
}
