/* cmd_theory.c — `dpf theory`: the convex case of the paper's §4 (Theorem 4.1). DPF and one-shot
 * pruning of SGD on l2-regularised logistic regression, gaps f - f* against the iterations. */
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_theory.h"
#include "dpf/data.h"
#include "dpf/util.h"

static void theory_defaults(theory_opts *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->data, sizeof o->data, "fashion-mnist");
    o->limit_train = 10000;
    o->lambda = 0.05;
    o->iterations = 20000;
    o->batch = 32;
    o->lr_shift = 2;
    o->seed = 1;
    o->log_points = 100;
    o->fstar_tol = 1e-8;
    o->progress = 1;
    static const double s[] = {0.5, 0.8, 0.9, 0.95};
    memcpy(o->sparsity, s, sizeof s);
    o->n_sparsity = 4;
}

static void theory_help(const theory_opts *d)
{
    printf("usage: dpf theory [options]\n"
           "\n"
           "The convex case of the paper's Section 4 (Theorem 4.1). On l2-regularised multinomial\n"
           "logistic regression (W: classes x (pixels + 1 bias), pixels / 255 in [0, 1], every\n"
           "weight prunable, double precision)\n"
           "  f(w) = mean cross-entropy over the training images + lambda/2 ||w||^2\n"
           "it computes f* by L-BFGS, then runs from w_0 = 0 with the same mini-batches:\n"
           "  DPF at each sparsity s: w~_t = top-k magnitude mask of w_t (global, keeping\n"
           "    (1-s) of all weights), w_{t+1} = w_t - gamma_t g(w~_t), g a mini-batch\n"
           "    gradient of f;\n"
           "  one-shot: plain SGD, and prune_s(w_t) at each logged t (at T: pruning at the\n"
           "    end),\n"
           "with the theorem's learning rate gamma_t = 4 / (mu (t + a)), mu = lambda. It\n"
           "prints f(w~_T) - f*, the theorem's E f(u~) - f* (u~ = w~_t with p_t ~ t + a - 1)\n"
           "and the mean delta_t = ||w_t - w~_t||^2 / ||w_t||^2 per sparsity; --out writes\n"
           "theory.dat (the logged curves), summary.json and theory.png.\n"
           "\n"
           "  --data NAME        mnist | fashion-mnist | cifar10 | cifar100   [%s]\n"
           "  --data-dir DIR     where the data set's files are   [the data set's default]\n"
           "  --limit-train N    use the first N training images (0 = all)   [%d]\n"
           "  --lambda F         l2 coefficient = the strong convexity mu, > 0   [%g]\n"
           "  --sparsities LIST  comma-separated, each in [0, 1)   [",
           d->data, d->limit_train, d->lambda);
    for (int i = 0; i < d->n_sparsity; i++)
        printf("%s%g", i ? "," : "", d->sparsity[i]);
    printf("]\n"
           "  --iterations T     SGD steps (w_0 .. w_T)   [%d]\n"
           "  --batch B          mini-batch size, drawn uniformly with replacement   [%d]\n"
           "  --lr-shift A       a in gamma_t = 4 / (mu (t + a)), >= 1   [%g, the theorem's]\n"
           "                     gamma_0 = 4 / (mu a): with a = 2 the first steps are far\n"
           "                     above 1/L and throw w far out (the early hump of the\n"
           "                     curves); a >= 4L/mu (L is printed) keeps every step <= 1/L.\n"
           "                     The O(1/T) rate holds for any a; the proof's iterate\n"
           "                     weights become p_t ~ t + a - 1.\n"
           "  --l2-at WHERE      pruned | dense   [%s]\n"
           "                     pruned: g(w~_t) is the mini-batch gradient of f at w~_t, l2 term\n"
           "                     lambda w~_t included, as the theorem assumes; the pruned weights\n"
           "                     of w then feel no l2 pull and grow until they re-enter the mask.\n"
           "                     dense: the l2 term is taken at w_t (weight decay on the dense w,\n"
           "                     as dpf train and the paper's code do); outside the theorem.\n"
           "  --seed N           seed of the mini-batch draws (the same for every run)   [%llu]\n"
           "  --log-points N     about N log-spaced iterations are logged   [%d]\n"
           "  --fstar-tol F      the f* solve stops at ||grad f|| <= F ||grad f(0)||   [%g]\n"
           "  --threads N        threads; the runs go in parallel (0 = all cores)   [%d]\n"
           "  -o, --out DIR      write theory.dat, summary.json, theory.png into DIR (refused if\n"
           "                     DIR already holds results)   [none: print the table only]\n"
           "  --force            overwrite the results in --out\n"
           "  --progress MODE    none | lines (on stderr)   [lines]\n"
           "  -h, --help         this help\n",
           d->iterations, d->batch, d->lr_shift, d->l2_dense ? "dense" : "pruned",
           (unsigned long long)d->seed, d->log_points, d->fstar_tol, d->threads);
}

enum { O_DATA = 256, O_DATA_DIR, O_LIMIT, O_LAMBDA, O_SPARSITIES, O_ITER, O_BATCH, O_SHIFT,
       O_L2AT, O_SEED, O_LOGPTS, O_TOL, O_THREADS, O_FORCE, O_PROGRESS };

static int parse_one(int opt, const char *v, theory_opts *o)
{
    switch (opt) {
    case O_DATA: return cli_string("--data", v, o->data, sizeof o->data);
    case O_DATA_DIR: return cli_path("--data-dir", v, o->data_dir, sizeof o->data_dir);
    case O_LIMIT: return cli_int("--limit-train", v, &o->limit_train);
    case O_LAMBDA: return cli_double("--lambda", v, &o->lambda);
    case O_SPARSITIES:
        return cli_doubles("--sparsities", v, o->sparsity, THEORY_MAX_SPARSITIES, &o->n_sparsity);
    case O_ITER: return cli_int("--iterations", v, &o->iterations);
    case O_BATCH: return cli_int("--batch", v, &o->batch);
    case O_SHIFT: return cli_double("--lr-shift", v, &o->lr_shift);
    case O_L2AT:
        if (strcmp(v, "pruned") == 0 || strcmp(v, "dense") == 0)
            return o->l2_dense = v[0] == 'd', 0;
        fprintf(stderr, "dpf: --l2-at: unknown value '%s' (pruned, dense)\n", v);
        return -1;
    case O_SEED: return cli_u64("--seed", v, &o->seed);
    case O_LOGPTS: return cli_int("--log-points", v, &o->log_points);
    case O_TOL: return cli_double("--fstar-tol", v, &o->fstar_tol);
    case O_THREADS: return cli_int_in("--threads", v, 0, 1024, &o->threads);
    case 'o': return cli_path("--out", v, o->out, sizeof o->out);
    case O_FORCE: o->force = 1; return 0;
    case O_PROGRESS:
        if (strcmp(v, "none") == 0 || strcmp(v, "lines") == 0)
            return o->progress = v[0] == 'l', 0;
        fprintf(stderr, "dpf: --progress: unknown mode '%s' (none, lines)\n", v);
        return -1;
    }
    return -1;
}

/* One line naming the option, or 0. */
static int check_opts(const theory_opts *o)
{
    const char *bad = NULL;
    char why[160];
    if (!dpf_dataset_known(o->data))
        bad = "--data", snprintf(why, sizeof why, "unknown data set '%s' (mnist, fashion-mnist, "
                                 "cifar10, cifar100)", o->data);
    else if (o->limit_train < 0)
        bad = "--limit-train", snprintf(why, sizeof why, "must be >= 0 (0 = all)");
    else if (!(o->lambda > 0))
        bad = "--lambda", snprintf(why, sizeof why, "must be > 0 (it is the strong convexity)");
    else if (o->n_sparsity < 1)
        bad = "--sparsities", snprintf(why, sizeof why, "give at least one sparsity");
    else if (o->iterations < 1)
        bad = "--iterations", snprintf(why, sizeof why, "must be >= 1");
    else if (o->batch < 1 || o->batch > 1000000)
        bad = "--batch", snprintf(why, sizeof why, "must be in [1, 1000000]");
    else if (!(o->lr_shift >= 1))
        bad = "--lr-shift", snprintf(why, sizeof why, "must be >= 1");
    else if (o->log_points < 2 || o->log_points > 100000)
        bad = "--log-points", snprintf(why, sizeof why, "must be in [2, 100000]");
    else if (!(o->fstar_tol > 0 && o->fstar_tol < 1))
        bad = "--fstar-tol", snprintf(why, sizeof why, "must be in (0, 1)");
    else if (o->threads < 0)
        bad = "--threads", snprintf(why, sizeof why, "must be >= 0 (0 = all cores)");
    for (int i = 0; !bad && i < o->n_sparsity; i++)
        if (!(o->sparsity[i] >= 0 && o->sparsity[i] < 1))
            bad = "--sparsities", snprintf(why, sizeof why, "%g is not in [0, 1)", o->sparsity[i]);
    if (!bad)
        return 0;
    fprintf(stderr, "dpf: %s: %s\n", bad, why);
    return -1;
}

/* Creates --out and refuses one that holds results, before anything is computed. */
static int prepare_out(const theory_opts *o)
{
    static const char *const markers[] = {"summary.json", "theory.dat", "theory.png"};
    if (dpf_mkdir_p(o->out) != DPF_OK) {
        fprintf(stderr, "dpf: --out: %s\n", dpf_last_error());
        return -1;
    }
    for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", o->out, markers[i]);
        if (!dpf_file_exists(path))
            continue;
        if (!o->force) {
            fprintf(stderr, "dpf: --out %s already holds results (%s); choose another directory "
                    "or pass --force to overwrite them\n", o->out, markers[i]);
            return -1;
        }
        if (remove(path) != 0) { /* a stale figure must not pass for the new one */
            fprintf(stderr, "dpf: %s: cannot remove\n", path);
            return -1;
        }
    }
    return 0;
}

static void run_done(void *ctx, int i, double seconds)
{
    const theory_opts *o = ctx;
    if (!o->progress)
        return;
    if (i == 0)
        fprintf(stderr, "dpf theory: SGD (one-shot) done in %.1f s\n", seconds);
    else
        fprintf(stderr, "dpf theory: DPF at sparsity %g done in %.1f s\n", o->sparsity[i - 1],
                seconds);
}

static int alloc_logs(theory_result *r)
{
    const int m = r->o->n_sparsity, np = r->n_points;
    for (int i = 0; i <= m; i++) {
        dpf_theory_log *l = &r->logs[i];
        l->n_points = np;
        l->t = r->t;
        l->n_prune = i == 0 ? m : 1;
        l->prune = i == 0 ? r->o->sparsity : &r->o->sparsity[i - 1];
        l->gap = calloc((size_t)np, sizeof *l->gap);
        l->wnorm2 = calloc((size_t)np, sizeof *l->wnorm2);
        l->gap_pruned = calloc((size_t)np * l->n_prune, sizeof *l->gap_pruned);
        l->delta = calloc((size_t)np * l->n_prune, sizeof *l->delta);
        if (!l->gap || !l->wnorm2 || !l->gap_pruned || !l->delta)
            return -1;
        if (i > 0 && !(r->expected_gap[i - 1] = calloc((size_t)np, sizeof(double))))
            return -1;
    }
    return 0;
}

static void free_result(theory_result *r)
{
    for (int i = 0; i <= THEORY_MAX_SPARSITIES; i++) {
        free(r->logs[i].gap);
        free(r->logs[i].wnorm2);
        free(r->logs[i].gap_pruned);
        free(r->logs[i].delta);
        if (i < THEORY_MAX_SPARSITIES)
            free(r->expected_gap[i]);
    }
    free(r->t);
}

/* The theorem's weighted means for each DPF run. */
static int summarise(theory_result *r)
{
    const int np = r->n_points;
    double *tmp = malloc((size_t)np * 2 * sizeof *tmp);
    if (!tmp)
        return -1;
    for (int i = 0; i < r->o->n_sparsity; i++) {
        const dpf_theory_log *l = &r->logs[i + 1];
        dpf_theory_weighted_mean(r->t, l->gap_pruned, np, r->o->lr_shift, r->expected_gap[i]);
        dpf_theory_weighted_mean(r->t, l->delta, np, r->o->lr_shift, tmp);
        r->mean_delta[i] = tmp[np - 1];
        for (int k = 0; k < np; k++)
            tmp[np + k] = l->delta[k] * l->wnorm2[k];
        dpf_theory_weighted_mean(r->t, tmp + np, np, r->o->lr_shift, tmp);
        r->pruning_error[i] = tmp[np - 1];
    }
    free(tmp);
    return 0;
}

static void print_table(const theory_result *r)
{
    const theory_opts *o = r->o;
    const int last = r->n_points - 1, m = o->n_sparsity;
    printf("%s, %d images, %d weights, lambda = mu = %g, L ~ %.4g, gamma_t = 4/(mu (t + %g)), "
           "T = %d, batch %d%s\n", o->data, r->samples, r->features * r->classes, o->lambda,
           r->smoothness, o->lr_shift, o->iterations, o->batch,
           o->l2_dense ? ", l2 at the dense w" : "");
    printf("f* = %.15g (L-BFGS, %d iterations, ||grad f|| = %.2e, f - f* <= %.1e)\n",
           r->fstar.fstar, r->fstar.iterations, r->fstar.grad_norm, r->fstar.gap_bound);
    printf("dense SGD: f(w_T) - f* = %.4g\n", r->logs[0].gap[last]);
    printf("%-9s %15s %15s %15s %11s\n", "sparsity", "DPF f(w~_T)-f*", "DPF Ef(u~)-f*",
           "one-shot gap", "DPF delta");
    for (int i = 0; i < m; i++)
        printf("%-9g %15.4g %15.4g %15.4g %11.4f\n", o->sparsity[i],
               r->logs[i + 1].gap_pruned[last], r->expected_gap[i][last],
               r->logs[0].gap_pruned[(size_t)last * m + i], r->mean_delta[i]);
    printf("(one-shot gap: f(prune_s(w_T)) - f* of the SGD iterate; DPF delta: the theorem's "
           "p_t-weighted mean of delta_t)\n");
}

static int parse_theory(int argc, char **argv, theory_opts *o)
{
    static const struct option opts[] = {
        {"data", required_argument, 0, O_DATA},
        {"data-dir", required_argument, 0, O_DATA_DIR},
        {"limit-train", required_argument, 0, O_LIMIT},
        {"lambda", required_argument, 0, O_LAMBDA},
        {"sparsities", required_argument, 0, O_SPARSITIES},
        {"iterations", required_argument, 0, O_ITER},
        {"batch", required_argument, 0, O_BATCH},
        {"lr-shift", required_argument, 0, O_SHIFT},
        {"l2-at", required_argument, 0, O_L2AT},
        {"seed", required_argument, 0, O_SEED},
        {"log-points", required_argument, 0, O_LOGPTS},
        {"fstar-tol", required_argument, 0, O_TOL},
        {"threads", required_argument, 0, O_THREADS},
        {"out", required_argument, 0, 'o'},
        {"force", no_argument, 0, O_FORCE},
        {"progress", required_argument, 0, O_PROGRESS},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    for (int opt; (opt = getopt_long(argc, argv, "ho:", opts, NULL)) != -1;) {
        if (opt == 'h') {
            theory_help(o);
            return 1;
        }
        if (opt == '?' || opt == ':') {
            cli_bad_option("theory", argv[optind - 1]);
            return 2;
        }
        if (parse_one(opt, optarg, o))
            return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "dpf theory: unexpected argument '%s' (see dpf theory --help)\n",
                argv[optind]);
        return 2;
    }
    return check_opts(o) ? 2 : 0;
}

/* Data, f*, the runs, the summary. */
static int compute(theory_result *r, theory_opts *o)
{
    const double t0 = dpf_now();
    dpf_dataset ds = {0};
    dpf_logreg p = {0};
    double *w = NULL;
    int rc = 1;
    dpf_status st = dpf_dataset_load(&ds, o->data, o->data_dir[0] ? o->data_dir : NULL, 1);
    if (st != DPF_OK)
        goto out;
    dpf_dataset_truncate(&ds, o->limit_train);
    if ((st = dpf_logreg_from_dataset(&p, &ds, o->lambda)) != DPF_OK)
        goto out;
    dpf_dataset_free(&ds);
    r->samples = p.n;
    r->features = p.features;
    r->classes = p.classes;
    r->smoothness = dpf_logreg_smoothness(&p);
    if (o->progress)
        fprintf(stderr, "dpf theory: %s, %d images, %zu weights, lambda %g, L ~ %.4g (L/mu %.0f); "
                "solving for f*\n", o->data, p.n, dpf_logreg_dim(&p), o->lambda, r->smoothness,
                r->smoothness / o->lambda);
    if (!(w = malloc(dpf_logreg_dim(&p) * sizeof *w))) {
        st = dpf_error(DPF_ERR_NOMEM, "cannot allocate %zu weights", dpf_logreg_dim(&p));
        goto out;
    }
    double t1 = dpf_now();
    if ((st = dpf_logreg_solve(&p, o->fstar_tol, 100000, w, &r->fstar)) != DPF_OK)
        goto out;
    r->fstar_seconds = dpf_now() - t1;
    if (o->progress || !r->fstar.converged)
        fprintf(stderr, "dpf theory: f* = %.15g after %d L-BFGS iterations, ||grad f|| = %.2e "
                "(%.1e of ||grad f(0)||%s), %.1f s\n", r->fstar.fstar, r->fstar.iterations,
                r->fstar.grad_norm, r->fstar.grad_norm / r->fstar.grad_norm0,
                r->fstar.converged ? "" : ": --fstar-tol NOT reached, f* is the best value found",
                r->fstar_seconds);
    if (!(r->t = malloc((size_t)o->log_points * sizeof *r->t))) {
        st = dpf_error(DPF_ERR_NOMEM, "cannot allocate the log");
        goto out;
    }
    r->n_points = dpf_theory_log_points(o->iterations, o->log_points, r->t);
    if (alloc_logs(r)) {
        st = dpf_error(DPF_ERR_NOMEM, "cannot allocate the log");
        goto out;
    }
    dpf_theory_run_config c[THEORY_MAX_SPARSITIES + 1];
    for (int i = 0; i <= o->n_sparsity; i++)
        c[i] = (dpf_theory_run_config){.iterations = o->iterations, .batch = o->batch,
                                       .lr_shift = o->lr_shift, .seed = o->seed,
                                       .sparsity = i == 0 ? 0 : o->sparsity[i - 1],
                                       .l2_dense = o->l2_dense};
    if (o->progress)
        fprintf(stderr, "dpf theory: SGD and DPF at %d sparsities, %d iterations each, on %d "
                "threads\n", o->n_sparsity, o->iterations, omp_get_max_threads());
    st = dpf_theory_run_all(&p, c, r->logs, o->n_sparsity + 1, r->fstar.fstar, NULL, run_done, o);
    if (st != DPF_OK)
        goto out;
    if (summarise(r)) {
        st = dpf_error(DPF_ERR_NOMEM, "cannot allocate the summary");
        goto out;
    }
    r->wall_s = dpf_now() - t0;
    rc = 0;
out:
    if (st != DPF_OK)
        cli_report_error();
    free(w);
    dpf_logreg_free(&p);
    dpf_dataset_free(&ds);
    return rc;
}

int cmd_theory(int argc, char **argv)
{
    theory_opts o;
    theory_defaults(&o);
    int rc = parse_theory(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (o.threads > 0)
        omp_set_num_threads(o.threads);
    if (o.out[0] && prepare_out(&o))
        return 1;
    theory_result r;
    memset(&r, 0, sizeof r);
    r.o = &o;
    rc = compute(&r, &o);
    if (rc == 0) {
        print_table(&r);
        if (o.out[0]) {
            rc = theory_write_files(&r) ? 1 : 0;
            if (rc == 0)
                printf("results in %s (theory.dat, summary.json, theory.png)\n", o.out);
        }
    }
    free_result(&r);
    return rc;
}
