/* logreg.c — l2-regularised multinomial logistic regression in double precision: the problem
 * (sparse features), f, its full-batch and mini-batch gradients, and a smoothness estimate. */
#include "theory/theory_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Full-batch sums are cut into this many pieces, added in piece order: the result does not
 * depend on the thread count. */
#define PIECES 16

static dpf_status logreg_alloc(dpf_logreg *p, int n, int64_t nnz)
{
    p->row = malloc((size_t)(n + 1) * sizeof *p->row);
    p->col = malloc((size_t)(nnz ? nnz : 1) * sizeof *p->col);
    p->val = malloc((size_t)(nnz ? nnz : 1) * sizeof *p->val);
    p->label = malloc((size_t)n * sizeof *p->label);
    if (!p->row || !p->col || !p->val || !p->label) {
        dpf_logreg_free(p);
        return dpf_error(DPF_ERR_NOMEM, "logistic regression: cannot allocate %lld features of "
                         "%d samples", (long long)nnz, n);
    }
    return DPF_OK;
}

static dpf_status check_shape(int n, int f, int classes, double lambda)
{
    if (n < 1 || f < 0 || f >= INT32_MAX / THEORY_MAX_CLASSES)
        return dpf_error(DPF_ERR_ARG, "logistic regression: bad shape (%d samples, %d features)",
                         n, f);
    if (classes < 2 || classes > THEORY_MAX_CLASSES)
        return dpf_error(DPF_ERR_ARG, "logistic regression: %d classes (2 to %d supported)",
                         classes, THEORY_MAX_CLASSES);
    if (!(lambda > 0) || !isfinite(lambda))
        return dpf_error(DPF_ERR_ARG, "logistic regression: lambda must be > 0 (the strong "
                         "convexity), got %g", lambda);
    return DPF_OK;
}

static dpf_status check_labels(const dpf_logreg *p)
{
    for (int i = 0; i < p->n; i++)
        if (p->label[i] < 0 || p->label[i] >= p->classes)
            return dpf_error(DPF_ERR_ARG, "logistic regression: sample %d has label %d, outside "
                             "[0, %d)", i, (int)p->label[i], p->classes);
    return DPF_OK;
}

dpf_status dpf_logreg_from_dataset(dpf_logreg *p, const dpf_dataset *ds, double lambda)
{
    memset(p, 0, sizeof *p);
    int64_t pixels = (int64_t)ds->c * ds->h * ds->w;
    if (pixels > INT32_MAX / THEORY_MAX_CLASSES)
        return dpf_error(DPF_ERR_ARG, "logistic regression: images of %lld pixels are too large",
                         (long long)pixels);
    dpf_status st = check_shape(ds->n, (int)pixels, ds->classes, lambda);
    if (st != DPF_OK)
        return st;
    int64_t nnz = ds->n; /* the bias feature */
    for (int64_t i = 0; i < (int64_t)ds->n * pixels; i++)
        nnz += ds->images[i] != 0;
    if ((st = logreg_alloc(p, ds->n, nnz)) != DPF_OK)
        return st;
    p->n = ds->n;
    p->features = (int)pixels + 1;
    p->classes = ds->classes;
    p->lambda = lambda;
    int64_t q = 0;
    for (int i = 0; i < ds->n; i++) {
        const uint8_t *img = ds->images + (int64_t)i * pixels;
        p->row[i] = q;
        for (int j = 0; j < (int)pixels; j++)
            if (img[j]) {
                p->col[q] = j;
                p->val[q++] = img[j] / 255.0;
            }
        p->col[q] = (int32_t)pixels;
        p->val[q++] = 1.0;
        p->label[i] = ds->labels[i];
    }
    p->row[ds->n] = q;
    if ((st = check_labels(p)) != DPF_OK)
        dpf_logreg_free(p);
    return st;
}

dpf_status dpf_logreg_from_dense(dpf_logreg *p, const double *x, const int32_t *y, int n, int f,
                                 int classes, double lambda)
{
    memset(p, 0, sizeof *p);
    dpf_status st = check_shape(n, f, classes, lambda);
    if (st != DPF_OK)
        return st;
    int64_t nnz = n;
    for (int64_t i = 0; i < (int64_t)n * f; i++)
        nnz += x[i] != 0;
    if ((st = logreg_alloc(p, n, nnz)) != DPF_OK)
        return st;
    p->n = n;
    p->features = f + 1;
    p->classes = classes;
    p->lambda = lambda;
    int64_t q = 0;
    for (int i = 0; i < n; i++) {
        p->row[i] = q;
        for (int j = 0; j < f; j++)
            if (x[(int64_t)i * f + j] != 0) {
                p->col[q] = j;
                p->val[q++] = x[(int64_t)i * f + j];
            }
        p->col[q] = f;
        p->val[q++] = 1.0;
        p->label[i] = y[i];
    }
    p->row[n] = q;
    if ((st = check_labels(p)) != DPF_OK)
        dpf_logreg_free(p);
    return st;
}

void dpf_logreg_free(dpf_logreg *p)
{
    free(p->row);
    free(p->col);
    free(p->val);
    free(p->label);
    memset(p, 0, sizeof *p);
}

size_t dpf_logreg_dim(const dpf_logreg *p)
{
    return (size_t)p->features * (size_t)p->classes;
}

/* z = W x_i, and g[col * K + k] += x_iq * r[k] over sample i's features. Even and odd nonzeros
 * go to two accumulators (two independent FMA chains), added at the end. The common K = 10 gets
 * its own copy with a constant trip count (unrolled, vectorised); the arithmetic is the same. */
#define LOGITS(K)                                                                                 \
    double za[THEORY_MAX_CLASSES], zb[THEORY_MAX_CLASSES];                                        \
    for (int k = 0; k < (K); k++)                                                                 \
        za[k] = zb[k] = 0;                                                                        \
    int64_t q = p->row[i];                                                                        \
    const int64_t end = p->row[i + 1];                                                            \
    for (; q + 1 < end; q += 2) {                                                                 \
        const double va = p->val[q], vb = p->val[q + 1];                                          \
        const double *wa = w + (size_t)p->col[q] * (K), *wb = w + (size_t)p->col[q + 1] * (K);    \
        for (int k = 0; k < (K); k++) {                                                           \
            za[k] = fma(va, wa[k], za[k]);                                                        \
            zb[k] = fma(vb, wb[k], zb[k]);                                                        \
        }                                                                                         \
    }                                                                                             \
    if (q < end) {                                                                                \
        const double va = p->val[q], *wa = w + (size_t)p->col[q] * (K);                           \
        for (int k = 0; k < (K); k++)                                                             \
            za[k] = fma(va, wa[k], za[k]);                                                        \
    }                                                                                             \
    for (int k = 0; k < (K); k++)                                                                 \
        z[k] = za[k] + zb[k];
#define OUTER(K)                                                                                  \
    for (int64_t q = p->row[i]; q < p->row[i + 1]; q++) {                                         \
        const double v = p->val[q];                                                               \
        double *gj = g + (size_t)p->col[q] * (K);                                                 \
        for (int k = 0; k < (K); k++)                                                             \
            gj[k] = fma(v, r[k], gj[k]);                                                          \
    }

static void logits10(const dpf_logreg *p, const double *restrict w, int i, double *restrict z)
{
    LOGITS(10)
}
static void logitsK(const dpf_logreg *p, const double *restrict w, int i, double *restrict z,
                    int K)
{
    LOGITS(K)
}
static void outer10(const dpf_logreg *p, int i, const double *restrict r, double *restrict g)
{
    OUTER(10)
}
static void outerK(const dpf_logreg *p, int i, const double *restrict r, double *restrict g,
                   int K)
{
    OUTER(K)
}

static void add_outer(const dpf_logreg *p, int i, const double *r, double *g)
{
    if (p->classes == 10)
        outer10(p, i, r, g);
    else
        outerK(p, i, r, g, p->classes);
}

/* Cross-entropy of sample i at w (stable log-sum-exp). With r != NULL, r = softmax - onehot. */
static double sample_loss(const dpf_logreg *p, const double *w, int i, double *r)
{
    const int K = p->classes, y = p->label[i];
    double z[THEORY_MAX_CLASSES];
    if (K < 2 || K > THEORY_MAX_CLASSES || y < 0 || y >= K)
        return NAN; /* never: checked when the problem is made */
    if (K == 10)
        logits10(p, w, i, z);
    else
        logitsK(p, w, i, z, K);
    double m = z[0];
    for (int k = 1; k < K; k++)
        m = z[k] > m ? z[k] : m;
    double s = 0;
    for (int k = 0; k < K; k++)
        s += exp(z[k] - m);
    const double loss = m + log(s) - z[y];
    if (r) {
        for (int k = 0; k < K; k++)
            r[k] = exp(z[k] - m) / s;
        r[y] -= 1;
    }
    return loss;
}

static double sq_norm(const double *w, size_t d)
{
    double s = 0;
    for (size_t i = 0; i < d; i++)
        s += w[i] * w[i];
    return s;
}

double dpf_logreg_value(const dpf_logreg *p, const double *w, double *grad)
{
    const size_t d = dpf_logreg_dim(p);
    double *pg = NULL;
    if (grad) {
        pg = calloc(PIECES * d, sizeof *pg);
        if (!pg) {
            dpf_error(DPF_ERR_NOMEM, "logistic regression: cannot allocate the gradient pieces");
            return NAN;
        }
    }
    double piece_loss[PIECES];
#pragma omp parallel for schedule(dynamic, 1)
    for (int c = 0; c < PIECES; c++) {
        const int lo = (int)((int64_t)p->n * c / PIECES);
        const int hi = (int)((int64_t)p->n * (c + 1) / PIECES);
        double r[THEORY_MAX_CLASSES], sum = 0;
        for (int i = lo; i < hi; i++) {
            sum += sample_loss(p, w, i, pg ? r : NULL);
            if (pg)
                add_outer(p, i, r, pg + (size_t)c * d);
        }
        piece_loss[c] = sum;
    }
    double loss = 0;
    for (int c = 0; c < PIECES; c++)
        loss += piece_loss[c];
    if (grad) {
        for (size_t j = 0; j < d; j++) {
            double s = 0;
            for (int c = 0; c < PIECES; c++)
                s += pg[(size_t)c * d + j];
            grad[j] = s / p->n + p->lambda * w[j];
        }
        free(pg);
    }
    return loss / p->n + 0.5 * p->lambda * sq_norm(w, d);
}

double dpf_logreg_batch_grad(const dpf_logreg *p, const double *w, const int32_t *idx, int b,
                             double *grad)
{
    const size_t d = dpf_logreg_dim(p);
    memset(grad, 0, d * sizeof *grad);
    double r[THEORY_MAX_CLASSES], loss = 0;
    for (int i = 0; i < b; i++) {
        loss += sample_loss(p, w, idx[i], r);
        add_outer(p, idx[i], r, grad);
    }
    for (size_t j = 0; j < d; j++)
        grad[j] = grad[j] / b + p->lambda * w[j];
    return loss / b;
}

double dpf_logreg_smoothness(const dpf_logreg *p)
{
    const int D = p->features;
    double *v = malloc((size_t)D * sizeof *v), *u = malloc((size_t)D * sizeof *u);
    double ev = 0;
    if (!v || !u) {
        free(v);
        free(u);
        return NAN;
    }
    for (int j = 0; j < D; j++)
        v[j] = 1 / sqrt((double)D);
    /* u = X^T X v / N; ||v|| = 1, so v.u is the Rayleigh quotient */
    for (int it = 0; it < 200; it++) {
        memset(u, 0, (size_t)D * sizeof *u);
        for (int i = 0; i < p->n; i++) {
            double xv = 0;
            for (int64_t q = p->row[i]; q < p->row[i + 1]; q++)
                xv += p->val[q] * v[p->col[q]];
            for (int64_t q = p->row[i]; q < p->row[i + 1]; q++)
                u[p->col[q]] += p->val[q] * xv;
        }
        double rq = 0, nu = 0;
        for (int j = 0; j < D; j++) {
            u[j] /= p->n;
            rq += v[j] * u[j];
            nu += u[j] * u[j];
        }
        nu = sqrt(nu);
        if (!(nu > 0))
            break;
        for (int j = 0; j < D; j++)
            v[j] = u[j] / nu;
        const int done = fabs(rq - ev) <= 1e-9 * rq;
        ev = rq;
        if (done)
            break;
    }
    free(v);
    free(u);
    return p->lambda + 0.5 * ev;
}
