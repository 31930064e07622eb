/* slim.c — structured slimming (dpf_net_slim, dpf/net.h): the channels a structured pruning
 * zeroed are removed for real, giving the same model with narrower layers (built through
 * dpf_net_options.widths, so it is an ordinary net). A channel of a prunable group is removed
 * when every filter that produces it is zero and every convolution that reads it has zero
 * weights for it: it then carries only the constant its bias or batch norm makes of zero (beta
 * - gamma * mean / sqrt(var + eps), through the ReLU and the residual adds), which nothing reads
 * but linear layers; for those the constant is folded into their bias (b += W[:, c] * k_c,
 * exact: a linear layer has no padding). A convolution would see the constant through its zero
 * padding differently at the borders, so a channel a convolution still reads stays. A group
 * whose every channel goes keeps one, of zeros: its block then computes its shortcut plus the
 * batch norm's constant, as the masked net did. A group of 16k channels keeps a multiple of 16
 * (oneDNN's fast kernels need both sides of a convolution in one layout), the extra ones pruned
 * channels of zeros: the function is the same. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/net_internal.h"

typedef struct slim_plan {
    uint8_t **keep;         /* per group, per channel: stays */
    int **index;            /* per group: the kept channels, in order */
    int *kept;              /* per group: how many */
    int *out_group, *in_group; /* per param: its FILTER/CHANNEL group, its INPUT group (-1) */
    int64_t *in_len;        /* per param: the columns per input channel (linear: h*w) */
    int *buf_group;         /* per buffer: its group (-1: a counter) */
} slim_plan;

static int is_zero(const dpf_real *w, const dpf_param_info *pi, const dpf_group_slice *s, int c)
{
    for (int64_t o = 0; o < s->outer; o++) {
        const dpf_real *x = w + pi->offset + o * s->outer_stride + c * s->chan_stride;
        for (int64_t j = 0; j < s->len; j++)
            if (x[j] != 0)
                return 0;
    }
    return 1;
}

/* Channel c of g can go: its filters are zero, and so is every convolution's input channel c;
 * a linear reader with a nonzero input for it needs a bias to fold the constant into. */
static int removable(const dpf_net *net, const dpf_real *w, const dpf_channel_group *g, int c)
{
    for (int k = 0; k < g->n_slices; k++) {
        const dpf_group_slice *s = &g->slices[k];
        const dpf_param_info *pi = &net->params[s->index];
        if (s->role == DPF_SLICE_FILTER && !is_zero(w, pi, s, c))
            return 0;
        if (s->role == DPF_SLICE_INPUT && !is_zero(w, pi, s, c) &&
            (pi->kind == DPF_PARAM_CONV_WEIGHT || pi + 1 >= net->params + net->n_params ||
             pi[1].kind != DPF_PARAM_BIAS))
            return 0;
    }
    return 1;
}

static void plan_free(slim_plan *sp, int groups)
{
    for (int i = 0; i < groups && sp->keep; i++) {
        free(sp->keep[i]);
        if (sp->index)
            free(sp->index[i]);
    }
    free(sp->keep), free(sp->index), free(sp->kept);
    free(sp->out_group), free(sp->in_group), free(sp->in_len), free(sp->buf_group);
}

/* Decides what stays; fills the report's counts. */
static dpf_status plan_slim(const dpf_net *net, const dpf_real *w, slim_plan *sp,
                            dpf_slim_report *rep)
{
    const int ng = net->n_groups;
    sp->keep = calloc((size_t)ng, sizeof *sp->keep);
    sp->index = calloc((size_t)ng, sizeof *sp->index);
    sp->kept = calloc((size_t)ng, sizeof *sp->kept);
    sp->out_group = malloc((size_t)net->n_params * sizeof(int));
    sp->in_group = malloc((size_t)net->n_params * sizeof(int));
    sp->in_len = calloc((size_t)net->n_params, sizeof(int64_t));
    sp->buf_group = malloc((size_t)(net->n_buffers ? net->n_buffers : 1) * sizeof(int));
    if (!sp->keep || !sp->index || !sp->kept || !sp->out_group || !sp->in_group || !sp->in_len ||
        !sp->buf_group)
        return dpf_error(DPF_ERR_NOMEM, "slim: out of memory");
    memset(sp->in_group, 0xff, (size_t)net->n_params * sizeof(int));
    memset(sp->buf_group, 0xff, (size_t)(net->n_buffers ? net->n_buffers : 1) * sizeof(int));
    for (int gi = 0; gi < ng; gi++) {
        const dpf_channel_group *g = &net->groups[gi];
        sp->keep[gi] = malloc((size_t)g->channels);
        sp->index[gi] = malloc((size_t)g->channels * sizeof(int));
        if (!sp->keep[gi] || !sp->index[gi])
            return dpf_error(DPF_ERR_NOMEM, "slim: out of memory");
        int kept = 0;
        for (int c = 0; c < g->channels; c++)
            kept += sp->keep[gi][c] = !g->prunable || !removable(net, w, g, c);
        if (kept == 0 && rep->groups_emptied++ == 0) /* emptied: channels of zeros stay */
            snprintf(rep->first_emptied, sizeof rep->first_emptied, "%s", g->name);
        /* a width of 16's multiple stays one (16 at least): oneDNN runs a convolution between
           the blocked layout (16k channels) and NHWC (other counts) on its reference kernel
           only, 50-500x slower; the extra channels are pruned ones, of zeros */
        int want = g->channels % 16 == 0 ? (kept + 15) / 16 * 16 : kept;
        want = want ? want : g->channels % 16 == 0 ? 16 : 1;
        for (int c = 0; c < g->channels && kept < want; c++)
            if (!sp->keep[gi][c])
                sp->keep[gi][c] = 1, kept++;
        for (int c = 0; c < g->channels; c++)
            if (sp->keep[gi][c])
                sp->index[gi][sp->kept[gi]++] = c;
        if (g->prunable) {
            rep->channels_total += g->channels;
            rep->channels_removed += g->channels - sp->kept[gi];
        }
        for (int k = 0; k < g->n_slices; k++) {
            const dpf_group_slice *s = &g->slices[k];
            if (s->role == DPF_SLICE_BUFFER)
                sp->buf_group[s->index] = gi;
            else if (s->role == DPF_SLICE_INPUT)
                sp->in_group[s->index] = gi, sp->in_len[s->index] = s->len;
            else
                sp->out_group[s->index] = gi;
        }
    }
    return DPF_OK;
}

/* "name:width,..." of every conv, linear layer and batch norm, their kept channels. */
static char *widths_spec(const dpf_net *net, const slim_plan *sp)
{
    size_t cap = 1, used = 0;
    for (int i = 0; i < net->n_nodes; i++)
        cap += net->nodes[i].param_w >= 0 ? sizeof net->params[0].name + 12 : 0;
    char *spec = malloc(cap);
    if (!spec)
        return NULL;
    spec[0] = '\0';
    for (int i = 0; i < net->n_nodes; i++) {
        const dpf_node *nd = &net->nodes[i];
        if (nd->param_w < 0)
            continue;
        const char *name = net->params[nd->param_w].name;
        used += (size_t)snprintf(spec + used, cap - used, "%s%.*s:%d", used ? "," : "",
                                 (int)(strlen(name) - 7), name,
                                 sp->kept[sp->out_group[nd->param_w]]);
    }
    return spec;
}

/* Copies param p of the old net into the new one, keeping the planned rows and input
 * channels (for a linear layer, in_len columns per input channel). */
static void copy_param(const dpf_real *src, const dpf_param_info *pi, dpf_real *dst,
                       const dpf_param_info *po, const slim_plan *sp, int p)
{
    const int *rows = sp->index[sp->out_group[p]];
    const int n_rows = sp->kept[sp->out_group[p]];
    const int ig = sp->in_group[p];
    const int64_t old_row = (int64_t)(pi->count / (size_t)pi->shape[0]);
    const int64_t new_row = (int64_t)(po->count / (size_t)po->shape[0]);
    const int64_t len = ig >= 0 ? sp->in_len[p] : new_row; /* copied run per input channel */
    const int n_in = ig >= 0 ? sp->kept[ig] : 1;
    for (int a = 0; a < n_rows; a++)
        for (int b = 0; b < n_in; b++) {
            const int64_t from = ig >= 0 ? sp->index[ig][b] * len : 0;
            memcpy(dst + po->offset + a * new_row + b * len,
                   src + pi->offset + rows[a] * old_row + from, (size_t)len * sizeof *dst);
        }
}

/* b += W[:, removed] * k over the linear layers' removed input columns, k the input the masked
 * net gives them (any input: they are constant). */
static dpf_status fold_constants(dpf_net *net, const dpf_real *w, const slim_plan *sp,
                                 dpf_net *slim)
{
    dpf_real *x = calloc((size_t)net->in_c * net->in_h * net->in_w, sizeof *x);
    if (!x)
        return dpf_error(DPF_ERR_NOMEM, "slim: out of memory");
    dpf_net_forward(net, x, 1, 0);
    free(x);
    for (int i = 0; i < net->n_nodes; i++) {
        const dpf_node *nd = &net->nodes[i];
        const int p = nd->param_w, ig = p >= 0 ? sp->in_group[p] : -1;
        if (nd->op != DPF_OP_LINEAR || nd->param_b < 0 || ig < 0)
            continue;
        const dpf_param_info *pi = &net->params[p];
        const dpf_real *k = dpf_node_x(net, nd, 0); /* (1, in_features) */
        const int64_t len = sp->in_len[p], cols = pi->shape[1];
        dpf_real *bias = slim->w + slim->params[nd->param_b].offset;
        for (int64_t o = 0; o < pi->shape[0]; o++) {
            double sum = 0;
            for (int c = 0; c < net->groups[ig].channels; c++)
                for (int64_t j = 0; j < len && !sp->keep[ig][c]; j++)
                    sum += (double)w[pi->offset + o * cols + c * len + j] * (double)k[c * len + j];
            bias[o] = (dpf_real)((double)bias[o] + sum);
        }
    }
    return DPF_OK;
}

static void copy_all(dpf_net *net, const dpf_real *w, const slim_plan *sp, dpf_net *slim)
{
    for (int p = 0; p < net->n_params; p++)
        copy_param(w, &net->params[p], slim->w, &slim->params[p], sp, p);
    for (int b = 0; b < net->n_buffers; b++) {
        const dpf_buffer_info *bi = &net->buffers[b], *bo = &slim->buffers[b];
        if (bi->is_counter)
            continue;
        const int gi = sp->buf_group[b];
        for (int j = 0; j < sp->kept[gi]; j++)
            slim->buf[bo->offset + (size_t)j] = net->buf[bi->offset + (size_t)sp->index[gi][j]];
    }
    slim->batches_tracked = net->batches_tracked;
    slim->weights_dirty = 1;
}

dpf_status dpf_net_slim(dpf_net *net, const dpf_net_options *opt, dpf_net **out,
                        dpf_slim_report *rep)
{
    *out = NULL;
    memset(rep, 0, sizeof *rep);
    const dpf_real *w = net->wf;
    slim_plan sp = {0};
    dpf_status st = plan_slim(net, w, &sp, rep);
    char *spec = st == DPF_OK ? widths_spec(net, &sp) : NULL;
    if (st == DPF_OK && !spec)
        st = dpf_error(DPF_ERR_NOMEM, "slim: out of memory");
    dpf_net_options o = *opt;
    o.widths = spec;
    dpf_net *slim = NULL;
    if (st == DPF_OK)
        st = dpf_net_create_with(&slim, net->model, net->in_c, net->in_h, net->in_w,
                                 net->classes, &o);
    if (st == DPF_OK && (slim->n_params != net->n_params || slim->n_buffers != net->n_buffers))
        st = dpf_error(DPF_ERR_STATE, "slim: model %s rebuilt with other tensors", net->model);
    if (st == DPF_OK) {
        copy_all(net, w, &sp, slim);
        st = fold_constants(net, w, &sp, slim);
    }
    free(spec);
    plan_free(&sp, net->n_groups);
    if (st != DPF_OK) {
        dpf_net_free(slim);
        return st;
    }
    if (slim->wf_own)
        memcpy(slim->wf_own, slim->w, slim->n_weights * sizeof(dpf_real));
    *out = slim;
    return DPF_OK;
}
