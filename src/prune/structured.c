/* structured.c — filter-wise selection (paper A.4): each output filter of a prunable tensor gets
 * one score, the L2 norm of its weights (or of g ⊙ w); filters are ranked globally across layers
 * (default) or within each layer (--scope layer, as SFP), and the lowest are pruned whole.
 * Globally, filters are pruned in ascending order while the pruned weights stay within
 * floor(s * N); per layer, floor(s * filters) filters of each tensor. The filter count is small,
 * so a sort is fine here. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prune/method.h"

typedef struct filter_score {
    float norm;
    int tensor;      /* index into p->layers */
    int filter;
} filter_score;

static int by_norm(const void *a, const void *b)
{
    const filter_score *x = a, *y = b;
    if (x->norm != y->norm)
        return x->norm < y->norm ? -1 : 1;
    if (x->tensor != y->tensor)
        return x->tensor < y->tensor ? -1 : 1;
    return (x->filter > y->filter) - (x->filter < y->filter);
}

static float filter_norm(const dpf_real *src, const dpf_real *g, size_t off, size_t len)
{
    double s = 0;
    for (size_t i = off; i < off + len; i++) {
        double v = g ? (double)g[i] * (double)src[i] : (double)src[i];
        s += v * v;
    }
    return (float)sqrt(s);
}

static void set_filter(dpf_pruner *p, const dpf_param_info *pi, int f, uint8_t keep)
{
    size_t len = pi->count / (size_t)pi->filters;
    memset(p->mask + pi->offset + (size_t)f * len, keep, len);
}

void *dpf_pruner_filter_scratch(const dpf_pruner *p)
{
    size_t total = 0;
    for (int l = 0; l < p->n_layers; l++)
        total += (size_t)p->layers[l]->filters;
    return malloc((total ? total : 1) * sizeof(filter_score));
}

void dpf_pruner_select_filters(dpf_pruner *p, double s, const dpf_real *src, const dpf_real *g,
                               int per_layer)
{
    filter_score *fs = p->filter_scratch;
    int m = 0;
    for (int t = 0; t < p->n_layers; t++) {
        const dpf_param_info *pi = p->layers[t];
        size_t len = pi->count / (size_t)pi->filters;
        for (int f = 0; f < pi->filters; f++) {
            fs[m++] = (filter_score){filter_norm(src, g, pi->offset + (size_t)f * len, len), t, f};
            set_filter(p, pi, f, 1);
        }
    }
    if (per_layer) {
        for (int start = 0; start < m;) {
            int t = fs[start].tensor, end = start;
            while (end < m && fs[end].tensor == t)
                end++;
            qsort(fs + start, (size_t)(end - start), sizeof *fs, by_norm);
            size_t k = dpf_prune_count(s, (size_t)(end - start));
            for (size_t j = 0; j < k; j++)
                set_filter(p, p->layers[t], fs[start + (int)j].filter, 0);
            start = end;
        }
    } else {
        qsort(fs, (size_t)m, sizeof *fs, by_norm);
        size_t budget = dpf_prune_count(s, p->n_prunable), pruned = 0;
        for (int j = 0; j < m; j++) {
            const dpf_param_info *pi = p->layers[fs[j].tensor];
            size_t len = pi->count / (size_t)pi->filters;
            if (pruned + len > budget)
                break;
            set_filter(p, pi, fs[j].filter, 0);
            pruned += len;
        }
    }
}
