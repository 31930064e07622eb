/* run.c — SGD and DPF trajectories on the logistic regression with Theorem 4.1's learning rate,
 * logged at chosen iterations; several trajectories at once on the OpenMP threads. */
#include "theory/theory_internal.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "dpf/prune.h"
#include "dpf/rng.h"

typedef struct scratch {
    dpf_selector sel;
    float *score;
    uint8_t *keep;
    double *wt, *grad;
    int32_t *idx;
} scratch;

static void scratch_free(scratch *s)
{
    dpf_selector_free(&s->sel);
    free(s->score);
    free(s->keep);
    free(s->wt);
    free(s->grad);
    free(s->idx);
}

static dpf_status scratch_init(scratch *s, size_t d, int batch)
{
    memset(s, 0, sizeof *s);
    dpf_status st = dpf_selector_init(&s->sel, d);
    s->score = malloc(d * sizeof *s->score);
    s->keep = malloc(d);
    s->wt = malloc(d * sizeof *s->wt);
    s->grad = malloc(d * sizeof *s->grad);
    s->idx = malloc((size_t)batch * sizeof *s->idx);
    if (st == DPF_OK && (!s->score || !s->keep || !s->wt || !s->grad || !s->idx))
        st = dpf_error(DPF_ERR_NOMEM, "theory run: cannot allocate scratch for %zu weights", d);
    if (st != DPF_OK)
        scratch_free(s);
    return st;
}

/* wt = prune_s(w): keeps the largest magnitudes (1 - s) of all d coordinates, exactly
 * d - floor(s d) of them (ties: the lower index is pruned). Returns ||w - wt||^2. */
static double prune_to(scratch *s, const double *w, double *wt, size_t d, double sparsity)
{
    const size_t k = dpf_prune_count(sparsity, d);
    for (size_t i = 0; i < d; i++)
        s->score[i] = (float)fabs(w[i]);
    dpf_select_smallest(&s->sel, s->keep, s->score, d, k);
    double err = 0;
    for (size_t i = 0; i < d; i++) {
        wt[i] = s->keep[i] ? w[i] : 0.0;
        err += (w[i] - wt[i]) * (w[i] - wt[i]);
    }
    return err;
}

static dpf_status record(const dpf_logreg *p, scratch *s, const double *w, double fstar,
                         dpf_theory_log *log, int i, int64_t t, double sparsity)
{
    const size_t d = dpf_logreg_dim(p);
    double n2 = 0;
    for (size_t j = 0; j < d; j++)
        n2 += w[j] * w[j];
    log->wnorm2[i] = n2;
    log->gap[i] = dpf_logreg_value(p, w, NULL) - fstar;
    for (int j = 0; j < log->n_prune; j++) {
        const double err = prune_to(s, w, s->wt, d, log->prune[j]);
        log->gap_pruned[(size_t)i * log->n_prune + j] = dpf_logreg_value(p, s->wt, NULL) - fstar;
        log->delta[(size_t)i * log->n_prune + j] = n2 > 0 ? err / n2 : 0.0;
    }
    if (!isfinite(log->gap[i]))
        return dpf_error(DPF_ERR_NUMERIC, "theory run at sparsity %g: f(w_t) is not finite at "
                         "iteration %lld (a larger --lambda or --lr-shift damps the first steps)",
                         sparsity, (long long)t);
    return DPF_OK;
}

dpf_status dpf_theory_run(const dpf_logreg *p, const dpf_theory_run_config *c, double fstar,
                          dpf_theory_log *log, double *w)
{
    if (c->iterations < 0 || c->batch < 1 || !(c->lr_shift >= 1) || !(c->sparsity >= 0) ||
        !(c->sparsity < 1))
        return dpf_error(DPF_ERR_ARG, "theory run: bad configuration (iterations %lld, batch %d, "
                         "lr shift %g, sparsity %g)", (long long)c->iterations, c->batch,
                         c->lr_shift, c->sparsity);
    for (int i = 0; i < log->n_points; i++)
        if (log->t[i] < 0 || log->t[i] > c->iterations || (i > 0 && log->t[i] <= log->t[i - 1]))
            return dpf_error(DPF_ERR_ARG, "theory run: logged iteration %lld is out of order or "
                             "outside [0, %lld]", (long long)log->t[i], (long long)c->iterations);
    const size_t d = dpf_logreg_dim(p);
    scratch s;
    dpf_status st = scratch_init(&s, d, c->batch);
    if (st != DPF_OK)
        return st;
    dpf_rng rng;
    dpf_rng_seed(&rng, c->seed);
    const double mu = p->lambda;
    int next = 0;
    for (int64_t t = 0;; t++) {
        if (next < log->n_points && log->t[next] == t) {
            if ((st = record(p, &s, w, fstar, log, next, t, c->sparsity)) != DPF_OK)
                break;
            next++;
        }
        if (t == c->iterations)
            break;
        const double *wt = w; /* w~_t: w itself for plain SGD */
        if (c->sparsity > 0) {
            prune_to(&s, w, s.wt, d, c->sparsity);
            wt = s.wt;
        }
        for (int b = 0; b < c->batch; b++)
            s.idx[b] = (int32_t)dpf_rng_below(&rng, (uint32_t)p->n);
        const double loss = dpf_logreg_batch_grad(p, wt, s.idx, c->batch, s.grad);
        if (!isfinite(loss)) {
            st = dpf_error(DPF_ERR_NUMERIC, "theory run at sparsity %g: the mini-batch loss is "
                           "not finite at iteration %lld", c->sparsity, (long long)t);
            break;
        }
        const double gamma = 4.0 / (mu * ((double)t + c->lr_shift));
        if (c->l2_dense) /* the l2 part at w_t instead of w~_t: weight decay on the dense w */
            for (size_t j = 0; j < d; j++)
                w[j] -= gamma * (s.grad[j] + p->lambda * (w[j] - wt[j]));
        else
            for (size_t j = 0; j < d; j++)
                w[j] -= gamma * s.grad[j];
    }
    scratch_free(&s);
    return st;
}

dpf_status dpf_theory_run_all(const dpf_logreg *p, const dpf_theory_run_config *c,
                              dpf_theory_log *logs, int n, double fstar, double *w_final,
                              void (*done)(void *ctx, int i, double seconds), void *ctx)
{
    const size_t d = dpf_logreg_dim(p);
    dpf_status first = DPF_OK;
    char why[512] = "";
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < n; i++) {
        double *w = w_final ? w_final + (size_t)i * d : calloc(d, sizeof *w);
        dpf_status st;
        const double t0 = dpf_now();
        if (!w) {
            st = dpf_error(DPF_ERR_NOMEM, "theory run: cannot allocate %zu weights", d);
        } else {
            memset(w, 0, d * sizeof *w);
            st = dpf_theory_run(p, &c[i], fstar, &logs[i], w);
        }
        if (!w_final)
            free(w);
        if (st == DPF_OK && done)
            done(ctx, i, dpf_now() - t0);
#pragma omp critical(dpf_theory_error)
        if (st != DPF_OK && first == DPF_OK) { /* messages are per thread: carry it over */
            first = st;
            snprintf(why, sizeof why, "%s", dpf_last_error());
        }
    }
    return first == DPF_OK ? DPF_OK : dpf_error(first, "%s", why);
}

int dpf_theory_log_points(int64_t T, int requested, int64_t *t)
{
    int n = 0;
    if (requested < 1)
        return 0;
    t[n++] = 0;
    if (T <= 0 || requested < 2)
        return n;
    const int inner = requested - 2; /* besides 0 and T */
    for (int i = 0; i <= inner; i++) {
        int64_t v = inner > 0 ? (int64_t)llround(pow((double)T, (double)i / inner)) : T;
        if (i == inner || v > T)
            v = T;
        if (v > t[n - 1])
            t[n++] = v;
    }
    return n;
}

void dpf_theory_weighted_mean(const int64_t *t, const double *gap, int n, double a, double *out)
{
    double num = 0, den = 0;
    for (int i = 0; i < n; i++) {
        /* s in (t[i-1], t[i]], or s = t[0] for the first point */
        const int64_t from = i == 0 ? t[0] : t[i - 1] + 1;
        for (int64_t s = from; s <= t[i]; s++) {
            double g = gap[i];
            if (i > 0 && t[i] > t[i - 1]) {
                const double u = (double)(s - t[i - 1]) / (double)(t[i] - t[i - 1]);
                g = (1 - u) * gap[i - 1] + u * gap[i];
            }
            const double weight = (double)s + a - 1;
            num += weight * g;
            den += weight;
        }
        out[i] = den > 0 ? num / den : gap[i];
    }
}
