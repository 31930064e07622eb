/* groups.c — channel groups from the net's graph (dpf/net.h): channels that structured pruning
 * removes together. Every node's output is a channel space; batch norm, ReLU, pooling and flatten
 * keep their input's, a residual add joins its inputs' and its own into one, and a convolution
 * or linear layer starts a new one. Union-find over the nodes gives the spaces; each becomes a
 * group with its producers' filters (and biases), its batch norms, and its readers' input
 * channels. Nothing here knows a model: a ResNet stage's stream, coupled by its adds, comes out
 * as one group because the graph says so. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/net_internal.h"

static int find(int *parent, int i)
{
    while (parent[i] != i)
        i = parent[i] = parent[parent[i]];
    return i;
}

static void join(int *parent, int a, int b)
{
    a = find(parent, a), b = find(parent, b);
    if (a != b)
        parent[a > b ? a : b] = a < b ? a : b; /* the earlier node is the root */
}

static int produces(const dpf_node *nd)
{
    return nd->op == DPF_OP_CONV || nd->op == DPF_OP_LINEAR;
}

/* The slices of group root r (NULL out: only counts them). */
static int collect(const dpf_net *net, const int *root, int r, dpf_group_slice *out)
{
    int n = 0;
    for (int i = 0; i < net->n_nodes; i++) { /* producers and batch norms */
        const dpf_node *nd = &net->nodes[i];
        if (root[i] != r || !(produces(nd) || nd->op == DPF_OP_BN))
            continue;
        if (produces(nd) && out) {
            const dpf_param_info *pi = &net->params[nd->param_w];
            int64_t len = (int64_t)(pi->count / (size_t)pi->filters);
            out[n] = (dpf_group_slice){DPF_SLICE_FILTER, nd->param_w, 1, 0, len, len};
        }
        n += produces(nd);
        const int ch[2] = {nd->op == DPF_OP_BN ? nd->param_w : -1, nd->param_b};
        for (int k = 0; k < 2; k++) {
            if (ch[k] < 0)
                continue;
            if (out)
                out[n] = (dpf_group_slice){DPF_SLICE_CHANNEL, ch[k], 1, 0, 1, 1};
            n++;
        }
        const int bufs[2] = {nd->buf_mean, nd->buf_var};
        for (int k = 0; k < 2 && nd->op == DPF_OP_BN; k++) {
            if (out)
                out[n] = (dpf_group_slice){DPF_SLICE_BUFFER, bufs[k], 1, 0, 1, 1};
            n++;
        }
    }
    for (int i = 0; i < net->n_nodes; i++) { /* readers */
        const dpf_node *nd = &net->nodes[i];
        if (!produces(nd) || root[nd->in[0]] != r)
            continue;
        if (out) {
            const dpf_param_info *pi = &net->params[nd->param_w];
            const int64_t cols = pi->shape[1] * (pi->ndim == 4 ? pi->shape[2] * pi->shape[3] : 1);
            /* a conv's input channel is kh*kw weights per filter; a linear layer's is the
               h*w columns the flatten before it made of the channel */
            const int64_t len = pi->ndim == 4 ? pi->shape[2] * pi->shape[3]
                                              : (int64_t)net->nodes[nd->in[0]].size /
                                                    net->nodes[r].c;
            out[n] = (dpf_group_slice){DPF_SLICE_INPUT, nd->param_w, pi->shape[0], cols, len, len};
        }
        n++;
    }
    return n;
}

/* A group of root r: named after its first producer, prunable when every producer is and the
 * input is not in it. */
static dpf_status make_group(dpf_net *net, const int *root, int r, dpf_channel_group *g)
{
    int n = collect(net, root, r, NULL);
    g->slices = malloc((size_t)(n ? n : 1) * sizeof *g->slices);
    if (!g->slices)
        return dpf_error(DPF_ERR_NOMEM, "model %s: out of memory for its channel groups",
                         net->model);
    g->n_slices = collect(net, root, r, g->slices);
    g->channels = net->nodes[r].c;
    g->prunable = r != 0; /* node 0, the input, is the root of its own space */
    int producers = 0;
    for (int k = 0; k < g->n_slices; k++) {
        const dpf_group_slice *s = &g->slices[k];
        if (s->role != DPF_SLICE_FILTER)
            continue;
        const dpf_param_info *pi = &net->params[s->index];
        if (producers++ == 0)
            snprintf(g->name, sizeof g->name, "%.*s", (int)(strlen(pi->name) - 7), pi->name);
        g->prunable &= pi->prunable;
    }
    g->prunable &= producers > 0;
    return DPF_OK;
}

dpf_status dpf_groups_build(dpf_net *net)
{
    const int n = net->n_nodes;
    int *parent = malloc((size_t)(n ? n : 1) * sizeof *parent);
    if (!parent)
        return dpf_error(DPF_ERR_NOMEM, "model %s: out of memory for its channel groups",
                         net->model);
    for (int i = 0; i < n; i++)
        parent[i] = i;
    for (int i = 0; i < n; i++) {
        const dpf_node *nd = &net->nodes[i];
        if (produces(nd) || nd->op == DPF_OP_INPUT)
            continue;
        for (int k = 0; k < 2; k++)
            if (nd->in[k] >= 0)
                join(parent, i, nd->in[k]);
    }
    int roots = 0;
    for (int i = 0; i < n; i++) {
        parent[i] = find(parent, i);
        roots += parent[i] == i;
    }
    net->groups = calloc((size_t)(roots ? roots : 1), sizeof *net->groups);
    dpf_status st = net->groups ? DPF_OK
                                : dpf_error(DPF_ERR_NOMEM, "model %s: out of memory for its "
                                            "channel groups", net->model);
    for (int i = 0; i < n && st == DPF_OK; i++) /* the logits' space is a group too: unprunable */
        if (parent[i] == i)
            st = make_group(net, parent, i, &net->groups[net->n_groups++]);
    free(parent);
    return st;
}

void dpf_groups_free(dpf_net *net)
{
    for (int i = 0; i < net->n_groups; i++)
        free(net->groups[i].slices);
    free(net->groups);
}

int dpf_net_group_count(const dpf_net *net)
{
    return net->n_groups;
}

const dpf_channel_group *dpf_net_group(const dpf_net *net, int i)
{
    return &net->groups[i];
}
