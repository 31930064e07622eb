/* structured.c — channel-wise selection (paper A.4) over the net's channel groups (dpf/net.h):
 * channel c of a group is one unit, scored by the L2 norm of all the group's filters at c
 * together (or of g ⊙ w), and the lowest are pruned whole. Units are ranked globally across
 * the groups (default, DPF) or within each group (--scope layer, SFP, as its paper): globally
 * floor(s * units) of all the prunable groups' channels, per group floor(s * channels). A pruned
 * unit zeroes its producers' filters and the input channels of the layers that read it (those
 * with prunable weights; the classifier stays dense): the channel then only carries the constant
 * its batch norm makes of zero, which nothing but the classifier reads, so removing it
 * (dpf export --slim) leaves the function unchanged. The unit count is small: a sort is fine. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prune/method.h"

typedef struct unit_score {
    float norm;
    int group;
    int channel;
} unit_score;

static int by_norm(const void *a, const void *b)
{
    const unit_score *x = a, *y = b;
    if (x->norm != y->norm)
        return x->norm < y->norm ? -1 : 1;
    if (x->group != y->group)
        return x->group < y->group ? -1 : 1;
    return (x->channel > y->channel) - (x->channel < y->channel);
}

/* Visits the flat-buffer ranges of channel c in the slices of role `role` whose param is
 * prunable: fn(off, len, arg). */
static void for_unit(const dpf_net *net, const dpf_channel_group *g, int c, dpf_slice_role role,
                     void (*fn)(size_t off, size_t len, void *arg), void *arg)
{
    for (int k = 0; k < g->n_slices; k++) {
        const dpf_group_slice *s = &g->slices[k];
        if (s->role != role || !dpf_net_param(net, s->index)->prunable)
            continue;
        size_t base = dpf_net_param(net, s->index)->offset + (size_t)(c * s->chan_stride);
        for (int64_t o = 0; o < s->outer; o++)
            fn(base + (size_t)(o * s->outer_stride), (size_t)s->len, arg);
    }
}

typedef struct norm_arg {
    const dpf_real *src, *g;
    double sum;
} norm_arg;

static void add_squares(size_t off, size_t len, void *arg)
{
    norm_arg *a = arg;
    for (size_t i = off; i < off + len; i++) {
        double v = a->g ? (double)a->g[i] * (double)a->src[i] : (double)a->src[i];
        a->sum += v * v;
    }
}

static void zero_mask(size_t off, size_t len, void *arg)
{
    memset((uint8_t *)arg + off, 0, len);
}

static void prune_unit(dpf_pruner *p, const unit_score *u)
{
    const dpf_channel_group *g = dpf_net_group(p->net, u->group);
    for_unit(p->net, g, u->channel, DPF_SLICE_FILTER, zero_mask, p->mask);
    for_unit(p->net, g, u->channel, DPF_SLICE_INPUT, zero_mask, p->mask);
}

void *dpf_pruner_filter_scratch(const dpf_pruner *p)
{
    size_t total = 0;
    for (int i = 0; i < dpf_net_group_count(p->net); i++)
        if (dpf_net_group(p->net, i)->prunable)
            total += (size_t)dpf_net_group(p->net, i)->channels;
    return malloc((total ? total : 1) * sizeof(unit_score));
}

void dpf_pruner_select_filters(dpf_pruner *p, double s, const dpf_real *src, const dpf_real *g,
                               int per_layer)
{
    unit_score *us = p->filter_scratch;
    int m = 0;
    for (int t = 0; t < p->n_layers; t++)
        memset(p->mask + p->layers[t]->offset, 1, p->layers[t]->count);
    for (int i = 0; i < dpf_net_group_count(p->net); i++) {
        const dpf_channel_group *grp = dpf_net_group(p->net, i);
        for (int c = 0; c < grp->channels && grp->prunable; c++) {
            norm_arg a = {src, g, 0};
            for_unit(p->net, grp, c, DPF_SLICE_FILTER, add_squares, &a);
            us[m++] = (unit_score){(float)sqrt(a.sum), i, c};
        }
    }
    if (per_layer) {
        for (int start = 0; start < m;) {
            int end = start;
            while (end < m && us[end].group == us[start].group)
                end++;
            qsort(us + start, (size_t)(end - start), sizeof *us, by_norm);
            size_t k = dpf_prune_count(s, (size_t)(end - start));
            for (size_t j = 0; j < k; j++)
                prune_unit(p, &us[start + (int)j]);
            start = end;
        }
    } else {
        qsort(us, (size_t)m, sizeof *us, by_norm);
        size_t k = dpf_prune_count(s, (size_t)m);
        for (size_t j = 0; j < k; j++)
            prune_unit(p, &us[j]);
    }
}
