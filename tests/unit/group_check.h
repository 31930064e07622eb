/* group_check.h — checks a structured mask against the net's channel groups, by an independent
 * reading of the rule: every channel of a prunable group scored by the L2 norm (double) of the
 * group's prunable filters in w0; the floor(s * channels) smallest pruned, across all groups or
 * within each; pruning a channel zeroes its filters and its readers' prunable input channels,
 * every other element of the mask is 1. The mask must equal the one this gives. */
#ifndef DPF_TEST_GROUP_CHECK_H
#define DPF_TEST_GROUP_CHECK_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dpf/net.h"
#include "dpf/prune.h"

typedef struct gc_unit {
    double norm;
    int group, channel;
    int take;       /* pruned by the rule */
} gc_unit;

/* Channel c's slices of `role` with prunable params: returns the sum of w0^2 (w0 may be NULL);
 * zeroes them in `expected` when it is not NULL. */
static inline double gc_slices(const dpf_net *net, const dpf_channel_group *g, int c,
                               dpf_slice_role role, const dpf_real *w0, uint8_t *expected)
{
    double sum = 0;
    for (int k = 0; k < g->n_slices; k++) {
        const dpf_group_slice *s = &g->slices[k];
        const dpf_param_info *pi = dpf_net_param(net, s->index);
        if (s->role != role || !pi->prunable)
            continue;
        for (int64_t o = 0; o < s->outer; o++)
            for (int64_t j = 0; j < s->len; j++) {
                size_t i = pi->offset + (size_t)(o * s->outer_stride + c * s->chan_stride + j);
                sum += w0 ? (double)w0[i] * (double)w0[i] : 0;
                if (expected)
                    expected[i] = 0;
            }
    }
    return sum;
}

static inline int gc_by_norm(const void *a, const void *b)
{
    const gc_unit *x = a, *y = b;
    if (x->norm != y->norm)
        return x->norm < y->norm ? -1 : 1;
    return x->group != y->group ? (x->group < y->group ? -1 : 1) : x->channel - y->channel;
}

/* Returns the number of pruned channels; pruned_per_group (may be NULL) gets each group's. */
static inline size_t gc_check(const dpf_net *net, const uint8_t *mask, const dpf_real *w0,
                              double s, int per_group, size_t *pruned_per_group)
{
    size_t n = dpf_net_size(net), m = 0;
    uint8_t *expected = malloc(n);
    gc_unit *u = malloc(n * sizeof *u);
    assert_non_null(expected);
    assert_non_null(u);
    memset(expected, 1, n);
    for (int gi = 0; gi < dpf_net_group_count(net); gi++) {
        const dpf_channel_group *g = dpf_net_group(net, gi);
        size_t start = m;
        for (int c = 0; c < g->channels && g->prunable; c++)
            u[m++] = (gc_unit){sqrt(gc_slices(net, g, c, DPF_SLICE_FILTER, w0, NULL)), gi, c, 0};
        if (per_group) { /* the k smallest of each group */
            qsort(u + start, m - start, sizeof *u, gc_by_norm);
            for (size_t j = start; j < start + dpf_prune_count(s, m - start); j++)
                u[j].take = 1;
        }
        if (pruned_per_group)
            pruned_per_group[gi] = 0;
    }
    if (!per_group) { /* the k smallest of all */
        qsort(u, m, sizeof *u, gc_by_norm);
        for (size_t j = 0; j < dpf_prune_count(s, m); j++)
            u[j].take = 1;
    }
    size_t total = 0;
    for (size_t j = 0; j < m; j++) {
        if (!u[j].take)
            continue;
        const dpf_channel_group *g = dpf_net_group(net, u[j].group);
        gc_slices(net, g, u[j].channel, DPF_SLICE_FILTER, NULL, expected);
        gc_slices(net, g, u[j].channel, DPF_SLICE_INPUT, NULL, expected);
        total++;
        if (pruned_per_group)
            pruned_per_group[u[j].group]++;
    }
    for (size_t i = 0; i < n; i++)
        if (mask[i] != expected[i]) {
            print_message("mask[%zu] = %d, the rule gives %d\n", i, mask[i], expected[i]);
            fail();
        }
    free(expected);
    free(u);
    return total;
}

#endif
