/* cmd_theory_files.c — the files of `dpf theory --out DIR`: theory.dat (the logged curves),
 * summary.json (settings, the f* solve, per-sparsity results) and theory.png (gnuplot). */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_theory.h"
#include "dpf/util.h"
#include "plot.h"

/* theory.dat columns: 1 t, 2 SGD f(w_t) - f*, 3 SGD ||w_t||^2, then 7 per sparsity i from
 * column 4 + 7 i: DPF f(w~_t) - f*, DPF f(w_t) - f*, DPF delta_t, DPF E f(u~) - f* up to t,
 * DPF ||w_t||^2, one-shot f(prune_s(w_t)) - f*, one-shot delta. */
#define COLS_PER_SPARSITY 7
static int col(int i, int k) { return 4 + COLS_PER_SPARSITY * i + k; }

static int write_text(const char *dir, const char *name, const char *text, size_t len)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (dpf_write_file_atomic(path, text, len) != DPF_OK) {
        fprintf(stderr, "dpf: %s\n", dpf_last_error());
        return -1;
    }
    return 0;
}

static int write_dat(const theory_result *r)
{
    const theory_opts *o = r->o;
    const int m = o->n_sparsity;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return fprintf(stderr, "dpf: theory.dat: out of memory\n"), -1;
    fprintf(f, "# dpf theory: %s, %d images, lambda = mu = %g, gamma_t = 4/(mu (t + %g)), batch "
            "%d, seed %llu, f* = %.17g\n# columns: 1 t, 2 sgd_gap = f(w_t)-f* of plain SGD, "
            "3 sgd_wnorm2, then for each sparsity s (7 columns from 4 + 7 i): dpf_gap = "
            "f(w~_t)-f*, dpf_dense_gap = f(w_t)-f*, dpf_delta, dpf_expected_gap = E f(u~)-f* up to "
            "t, dpf_wnorm2, oneshot_gap = f(prune_s(w_t))-f* of the SGD iterate, oneshot_delta\n"
            "# t sgd_gap sgd_wnorm2", o->data, r->samples, o->lambda, o->lr_shift, o->batch,
            (unsigned long long)o->seed, r->fstar.fstar);
    static const char *const names[COLS_PER_SPARSITY] = {"dpf_gap", "dpf_dense_gap", "dpf_delta",
                                                         "dpf_expected_gap", "dpf_wnorm2",
                                                         "oneshot_gap", "oneshot_delta"};
    for (int i = 0; i < m; i++)
        for (int k = 0; k < COLS_PER_SPARSITY; k++)
            fprintf(f, " %s@%g", names[k], o->sparsity[i]);
    fprintf(f, "\n");
    for (int p = 0; p < r->n_points; p++) {
        const dpf_theory_log *sgd = &r->logs[0];
        fprintf(f, "%lld %.10g %.10g", (long long)r->t[p], sgd->gap[p], sgd->wnorm2[p]);
        for (int i = 0; i < m; i++) {
            const dpf_theory_log *l = &r->logs[i + 1];
            fprintf(f, " %.10g %.10g %.10g %.10g %.10g %.10g %.10g", l->gap_pruned[p], l->gap[p],
                    l->delta[p], r->expected_gap[i][p], l->wnorm2[p],
                    sgd->gap_pruned[(size_t)p * m + i], sgd->delta[(size_t)p * m + i]);
        }
        fprintf(f, "\n");
    }
    if (fclose(f) != 0) {
        free(buf);
        return fprintf(stderr, "dpf: theory.dat: out of memory\n"), -1;
    }
    int rc = write_text(o->out, "theory.dat", buf, len);
    free(buf);
    return rc;
}

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static int write_summary(const theory_result *r)
{
    const theory_opts *o = r->o;
    const int m = o->n_sparsity, last = r->n_points - 1;
    json_t *root = json_object(), *fs = json_object(), *per = json_array();
    json_object_set_new(root, "data", json_string(o->data));
    json_object_set_new(root, "samples", json_integer(r->samples));
    json_object_set_new(root, "features", json_integer(r->features));
    json_object_set_new(root, "classes", json_integer(r->classes));
    json_object_set_new(root, "weights", json_integer((json_int_t)r->features * r->classes));
    json_object_set_new(root, "normalisation", json_string("pixel / 255 in [0, 1], plus a "
                        "constant-1 bias feature; every weight prunable"));
    json_object_set_new(root, "lambda", num(o->lambda));
    json_object_set_new(root, "mu", num(o->lambda));
    json_object_set_new(root, "L_estimate", num(r->smoothness));
    json_object_set_new(root, "iterations", json_integer(o->iterations));
    json_object_set_new(root, "batch", json_integer(o->batch));
    json_object_set_new(root, "lr", json_string("gamma_t = 4 / (mu (t + a))"));
    json_object_set_new(root, "lr_shift", num(o->lr_shift));
    json_object_set_new(root, "l2_at", json_string(o->l2_dense ? "dense" : "pruned"));
    json_object_set_new(root, "seed", json_integer((json_int_t)o->seed));
    json_object_set_new(root, "logged_iterations", json_integer(r->n_points));
    json_object_set_new(fs, "method", json_string("L-BFGS (memory 20, Armijo backtracking) from "
                        "w = 0, full batch"));
    json_object_set_new(fs, "value", num(r->fstar.fstar));
    json_object_set_new(fs, "iterations", json_integer(r->fstar.iterations));
    json_object_set_new(fs, "evaluations", json_integer(r->fstar.evaluations));
    json_object_set_new(fs, "grad_norm", num(r->fstar.grad_norm));
    json_object_set_new(fs, "grad_norm_relative", num(r->fstar.grad_norm / r->fstar.grad_norm0));
    json_object_set_new(fs, "gap_bound", num(r->fstar.gap_bound));
    json_object_set_new(fs, "converged", json_boolean(r->fstar.converged));
    json_object_set_new(fs, "seconds", num(r->fstar_seconds));
    json_object_set_new(root, "fstar", fs);
    json_object_set_new(root, "sgd_final_gap", num(r->logs[0].gap[last]));
    json_object_set_new(root, "expected_gap_method", json_string(
        "sum_t p_t (f(w~_t) - f*) over t = 0..T, p_t proportional to t + a - 1 (a = 2: the "
        "theorem's t + 1), f(w~_t) interpolated linearly between the logged iterations"));
    for (int i = 0; i < m; i++) {
        const dpf_theory_log *l = &r->logs[i + 1], *sgd = &r->logs[0];
        json_t *e = json_object();
        json_object_set_new(e, "sparsity", num(o->sparsity[i]));
        json_object_set_new(e, "dpf_final_gap", num(l->gap_pruned[last]));
        json_object_set_new(e, "dpf_final_dense_gap", num(l->gap[last]));
        json_object_set_new(e, "dpf_expected_gap", num(r->expected_gap[i][last]));
        json_object_set_new(e, "dpf_mean_delta", num(r->mean_delta[i]));
        json_object_set_new(e, "dpf_final_delta", num(l->delta[last]));
        json_object_set_new(e, "dpf_mean_pruning_error", num(r->pruning_error[i]));
        json_object_set_new(e, "oneshot_final_gap", num(sgd->gap_pruned[(size_t)last * m + i]));
        json_object_set_new(e, "oneshot_final_delta", num(sgd->delta[(size_t)last * m + i]));
        json_array_append_new(per, e);
    }
    json_object_set_new(root, "per_sparsity", per);
    json_object_set_new(root, "wall_s", num(r->wall_s));
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    json_decref(root);
    if (!text)
        return fprintf(stderr, "dpf: summary.json: out of memory\n"), -1;
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps leaves room for the terminator; overwrite it */
    int rc = write_text(o->out, "summary.json", text, len + 1);
    free(text);
    return rc;
}

typedef struct script {
    char *s;
    size_t len, cap;
    int bad;
} script;

static void gp(script *g, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(g->s + g->len, g->cap - g->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            g->bad = 1;
            return;
        }
        if ((size_t)n < g->cap - g->len) {
            g->len += (size_t)n;
            return;
        }
        char *s = realloc(g->s, g->cap * 2 + (size_t)n);
        if (!s) {
            g->bad = 1;
            return;
        }
        g->s = s;
        g->cap = g->cap * 2 + (size_t)n;
    }
}

static const char *colour(int i)
{
    static const char *const c[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                    "#9467bd", "#8c564b", "#e377c2", "#17becf"};
    return c[i % 8];
}

/* y > 0 only (log axes); t = 0 is left off the log t axis */
static void series(script *g, int first, int column, const char *style, const char *c,
                   const char *title)
{
    gp(g, "%s'theory.dat' using ($1 > 0 ? $1 : 1/0):($%d > 0 ? $%d : 1/0) with lines %s "
       "lc rgb '%s' title '%s'", first ? "plot " : ", \\\n     ", column, column, style, c, title);
}

static int draw(const theory_result *r)
{
    const theory_opts *o = r->o;
    const int m = o->n_sparsity;
    script g = {malloc(8192), 0, 8192, 0};
    if (!g.s)
        return fprintf(stderr, "dpf: theory.gp: out of memory\n"), -1;
    char pre[512], t[160];
    plot_preamble(pre, sizeof pre, "theory", 1200, 950);
    gp(&g, "%s", pre);
    gp(&g, "set multiplot title \"DPF vs one-shot pruning on l2-regularised logistic regression "
       "(the convex case, Theorem 4.1)\\n%s, %d images, %d weights, lambda = mu = %g, "
       "gamma_t = 4/(mu (t + %g)), batch %d%s\" font ',12'\n", o->data, r->samples,
       r->features * r->classes, o->lambda, o->lr_shift, o->batch,
       o->l2_dense ? "\\n--l2-at dense: the l2 gradient taken at the dense w (weight decay on w; "
                     "outside the theorem)" : "");
    gp(&g, "set lmargin at screen 0.08\nset rmargin at screen 0.78\n"
       "set key outside right top Left reverse samplen 3\nset logscale x\nset format x '%%g'\n"
       "set xrange [1:%d]\n", o->iterations);
    /* top: the gaps */
    gp(&g, "set tmargin at screen 0.87\nset bmargin at screen 0.44\n"
       "set logscale y\nset format y '%%.0e'\nset xlabel 'iteration t'\n"
       "set ylabel 'f(.) - f*  (log scale)'\n"
       "set title 'optimality gap: DPF f(w~_t) - f* (solid), one-shot f(prune_s(w_t)) - f* of the "
       "SGD iterate (dashed)'\n");
    for (int i = 0; i < m; i++) {
        snprintf(t, sizeof t, "DPF s = %g", o->sparsity[i]);
        series(&g, i == 0, col(i, 0), "lw 1.6", colour(i), t);
        snprintf(t, sizeof t, "one-shot s = %g", o->sparsity[i]);
        series(&g, 0, col(i, 5), "dt 2 lw 1.6", colour(i), t);
    }
    series(&g, 0, 2, "lw 2", "#000000", "dense SGD f(w_t) - f*");
    gp(&g, "\n");
    /* bottom: delta_t */
    gp(&g, "set tmargin at screen 0.33\nset bmargin at screen 0.06\nunset key\n"
       "unset logscale y\nset format y '%%g'\nset yrange [0:1]\n"
       "set ylabel 'delta_t'\nset xlabel 'iteration t' offset 0, 0.5\n"
       "set title 'delta_t = ||w_t - w~_t||^2 / ||w_t||^2: DPF (solid), pruning the SGD iterate "
       "(dashed)'\n");
    for (int i = 0; i < m; i++) {
        snprintf(t, sizeof t, "DPF s = %g", o->sparsity[i]);
        series(&g, i == 0, col(i, 2), "lw 1.6", colour(i), t);
        snprintf(t, sizeof t, "one-shot s = %g", o->sparsity[i]);
        series(&g, 0, col(i, 6), "dt 2 lw 1.6", colour(i), t);
    }
    gp(&g, "\nunset multiplot\n");
    int rc = g.bad ? (fprintf(stderr, "dpf: theory.gp: out of memory\n"), -1)
                   : plot_draw(o->out, "theory", g.s);
    free(g.s);
    return rc;
}

int theory_write_files(const theory_result *r)
{
    if (write_dat(r) || write_summary(r))
        return -1;
    /* without gnuplot the PNG is left out (plot_draw said so) but the data is complete */
    if (draw(r) && plot_available())
        return -1;
    return 0;
}
