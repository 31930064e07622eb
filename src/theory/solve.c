/* solve.c — f* of the logistic regression by full-batch L-BFGS from w = 0 (deterministic). */
#include "theory/theory_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MEMORY 20
#define ARMIJO 1e-4
#define MAX_HALVINGS 60

static double dot(const double *a, const double *b, size_t d)
{
    double s = 0;
    for (size_t i = 0; i < d; i++)
        s += a[i] * b[i];
    return s;
}

/* dir = -H g by the two-loop recursion over the stored pairs, oldest first in ring order. */
static void two_loop(double *dir, const double *g, const double *S, const double *Y,
                     const double *rho, double *alpha, int count, int newest, size_t d)
{
    for (size_t i = 0; i < d; i++)
        dir[i] = -g[i];
    for (int c = 0; c < count; c++) {
        const int j = (newest - c + MEMORY) % MEMORY;
        alpha[j] = rho[j] * dot(S + (size_t)j * d, dir, d);
        for (size_t i = 0; i < d; i++)
            dir[i] -= alpha[j] * Y[(size_t)j * d + i];
    }
    if (count > 0) { /* H0 = (s'y / y'y) I of the newest pair */
        const double *s = S + (size_t)newest * d, *y = Y + (size_t)newest * d;
        const double h0 = dot(s, y, d) / dot(y, y, d);
        for (size_t i = 0; i < d; i++)
            dir[i] *= h0;
    }
    for (int c = count - 1; c >= 0; c--) {
        const int j = (newest - c + MEMORY) % MEMORY;
        const double beta = rho[j] * dot(Y + (size_t)j * d, dir, d);
        for (size_t i = 0; i < d; i++)
            dir[i] += (alpha[j] - beta) * S[(size_t)j * d + i];
    }
}

dpf_status dpf_logreg_solve(const dpf_logreg *p, double rel_tol, int max_iter, double *w,
                            dpf_fstar_info *info)
{
    const size_t d = dpf_logreg_dim(p);
    memset(info, 0, sizeof *info);
    if (!(rel_tol > 0) || max_iter < 1)
        return dpf_error(DPF_ERR_ARG, "f* solve: tolerance %g and iteration limit %d must be > 0",
                         rel_tol, max_iter);
    double *S = malloc(MEMORY * d * sizeof *S), *Y = malloc(MEMORY * d * sizeof *Y);
    double *g = malloc(d * sizeof *g), *gn = malloc(d * sizeof *gn), *wn = malloc(d * sizeof *wn);
    double *dir = malloc(d * sizeof *dir);
    double rho[MEMORY], alpha[MEMORY];
    dpf_status st = DPF_OK;
    if (!S || !Y || !g || !gn || !wn || !dir) {
        st = dpf_error(DPF_ERR_NOMEM, "f* solve: cannot allocate L-BFGS memory (%d x %zu)",
                       MEMORY, d);
        goto out;
    }
    memset(w, 0, d * sizeof *w);
    double f = dpf_logreg_value(p, w, g);
    info->evaluations = 1;
    if (!isfinite(f)) {
        st = dpf_error(DPF_ERR_NUMERIC, "f* solve: f(0) is not finite");
        goto out;
    }
    double gnorm = sqrt(dot(g, g, d));
    info->grad_norm0 = gnorm;
    int count = 0, newest = MEMORY - 1, it = 0;
    while (gnorm > rel_tol * info->grad_norm0 && it < max_iter) {
        two_loop(dir, g, S, Y, rho, alpha, count, newest, d);
        double gd = dot(g, dir, d);
        if (!(gd < 0)) { /* not a descent direction (rounding): restart from steepest descent */
            count = 0;
            for (size_t i = 0; i < d; i++)
                dir[i] = -g[i];
            gd = -gnorm * gnorm;
        }
        /* the first step has no curvature information: make it of length 1 / ||g|| at most */
        double step = count == 0 ? fmin(1.0, 1.0 / gnorm) : 1.0, fn = NAN, gnn = 0;
        int ok = 0;
        for (int h = 0; h < MAX_HALVINGS && !ok; h++, step *= 0.5) {
            for (size_t i = 0; i < d; i++)
                wn[i] = w[i] + step * dir[i];
            fn = dpf_logreg_value(p, wn, gn);
            info->evaluations++;
            if (!isfinite(fn))
                continue;
            gnn = sqrt(dot(gn, gn, d));
            /* Armijo; near f* where f's differences are rounding, a smaller gradient will do */
            ok = fn <= f + ARMIJO * step * gd ||
                 (fabs(fn - f) <= 1e-13 * fabs(f) && gnn < gnorm);
            if (ok)
                break;
        }
        if (!ok)
            break; /* no progress possible in double precision: keep the best point */
        newest = (newest + 1) % MEMORY;
        double *s = S + (size_t)newest * d, *y = Y + (size_t)newest * d;
        for (size_t i = 0; i < d; i++) {
            s[i] = wn[i] - w[i];
            y[i] = gn[i] - g[i];
        }
        const double sy = dot(s, y, d);
        if (sy > 0) { /* always, for a strongly convex f, unless rounding */
            rho[newest] = 1 / sy;
            count = count < MEMORY ? count + 1 : MEMORY;
        } else {
            newest = (newest - 1 + MEMORY) % MEMORY;
        }
        memcpy(w, wn, d * sizeof *w);
        memcpy(g, gn, d * sizeof *g);
        f = fn;
        gnorm = gnn;
        it++;
    }
    info->fstar = f;
    info->grad_norm = gnorm;
    info->gap_bound = gnorm * gnorm / (2 * p->lambda);
    info->iterations = it;
    info->converged = gnorm <= rel_tol * info->grad_norm0;
out:
    free(S);
    free(Y);
    free(g);
    free(gn);
    free(wn);
    free(dir);
    return st;
}
