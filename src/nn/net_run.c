/* net_run.c — running a planned net: forward, loss, backward, and the accessors of net.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#include "nn/net_internal.h"

static const dpf_layer_ops *ops_of(dpf_op op)
{
    switch (op) {
    case DPF_OP_CONV: return &dpf_conv2d_ops;
    case DPF_OP_BN: return &dpf_batchnorm_ops;
    case DPF_OP_RELU: return &dpf_relu_ops;
    case DPF_OP_MAXPOOL: return &dpf_maxpool_ops;
    case DPF_OP_GAP: return &dpf_gap_ops;
    case DPF_OP_FLATTEN: return &dpf_flatten_ops;
    case DPF_OP_LINEAR: return &dpf_linear_ops;
    case DPF_OP_ADD: return &dpf_add_ops;
    case DPF_OP_INPUT:
    case DPF_OP_COUNT: break;
    }
    return NULL;
}

dpf_real *dpf_net_param_wf(dpf_net *net, int p)
{
    return p < 0 ? NULL : net->wf + net->params[p].offset;
}

dpf_real *dpf_net_param_g(dpf_net *net, int p)
{
    return p < 0 ? NULL : net->g + net->params[p].offset;
}

const dpf_real *dpf_node_x(const dpf_net *net, const dpf_node *nd, int k)
{
    return net->nodes[nd->in[k]].y;
}

dpf_real *dpf_node_dx(dpf_net *net, const dpf_node *nd, int k)
{
    (void)nd;
    return net->dx_to[k];
}

/* Hands the current forward weights to the convolutions, which prepare them (once) before
 * their next pass. */
static void sync_weights(dpf_net *net)
{
    if (!net->weights_dirty)
        return;
    for (int i = 1; i < net->n_nodes; i++) {
        dpf_node *nd = &net->nodes[i];
        if (nd->cv) {
            dpf_k_conv2d_set_weights(nd->cv, dpf_conv_node_weights(net, nd));
            dpf_k_conv2d_set_grad_mask(nd->cv, net->grad_mask && !net->inference
                                                   ? net->grad_mask + net->params[nd->param_w].offset
                                                   : NULL);
        }
        if (nd->lin)
            dpf_k_linear_layer_set_weights(nd->lin, dpf_net_param_wf(net, nd->param_w));
    }
    net->weights_dirty = 0;
}

void dpf_net_set_grad_mask(dpf_net *net, const uint8_t *mask)
{
    net->grad_mask = mask;
    net->weights_dirty = 1; /* handed to the kernels with the weights */
}

void dpf_net_forward(dpf_net *net, const dpf_real *x, int batch, int train)
{
    if (train && net->inference) {
        dpf_error(DPF_ERR_STATE, "model %s: a training forward pass on a net planned for "
                  "inference", net->model);
        return;
    }
    const int threads = dpf_threads_enter(net->threads);
    sync_weights(net);
    dpf_node *in = &net->nodes[0];
    if (net->input_buf) {
        dpf_k_act_from_nchw(net->input_buf, x, batch, in->c, in->h * in->w);
        in->y = net->input_buf;
    } else {
        in->y = (dpf_real *)x; /* same layout: the input is only read (also by backward) */
    }
    net->batch = batch;
    net->last_train = train;
    for (int i = 1; i < net->n_nodes; i++) {
        dpf_node *nd = &net->nodes[i];
        if (nd->alias >= 0) {
            nd->y = net->nodes[nd->alias].y; /* the input's buffer is only known now */
            continue;
        }
        double t0 = net->profiling ? dpf_now() : 0;
        ops_of(nd->op)->forward(net, nd, batch, train);
        if (net->profiling)
            nd->prof_fwd += dpf_now() - t0, nd->prof_nf++;
    }
    if (train)
        net->batches_tracked++;
    dpf_threads_leave(threads);
}

const dpf_real *dpf_net_logits(const dpf_net *net)
{
    return net->nodes[net->n_nodes - 1].y;
}

double dpf_net_loss(dpf_net *net, const int32_t *labels, int *correct)
{
    const dpf_real *logits = dpf_net_logits(net);
    int n = net->batch, k = net->classes;
    net->labels = labels;
    if (correct) {
        int hits = 0;
        for (int i = 0; i < n; i++) {
            const dpf_real *row = logits + (size_t)i * k;
            int best = 0;
            for (int j = 1; j < k; j++)
                if (row[j] > row[best])
                    best = j;
            hits += best == labels[i];
        }
        *correct = hits;
    }
    return dpf_k_softmax_ce_forward(net->probs, logits, labels, n, k);
}

int dpf_node_owner(const dpf_net *net, int i)
{
    while (net->nodes[i].alias >= 0)
        i = net->nodes[i].alias;
    return i;
}

/* Backward in reverse order. Each node writes (=) its input gradients; where an input was read
 * by two nodes, the second gradient goes to scratch and is added to the first. */
void dpf_net_backward(dpf_net *net)
{
    if (net->inference || !net->last_train) {
        dpf_error(DPF_ERR_STATE, "model %s: backward needs a training forward pass%s",
                  net->model, net->inference ? " (the net is planned for inference)" : "");
        return;
    }
    const int threads = dpf_threads_enter(net->threads);
    sync_weights(net);
    int batch = net->batch;
    memset(net->g, 0, net->n_weights * sizeof(dpf_real));
    memset(net->written, 0, (size_t)net->n_nodes);
    int last = dpf_node_owner(net, net->n_nodes - 1);
    dpf_k_softmax_ce_backward(net->nodes[last].dy, net->probs, net->labels, batch, net->classes,
                              1);
    net->written[last] = 1;
    for (int i = net->n_nodes - 1; i >= 1; i--) {
        dpf_node *nd = &net->nodes[i];
        if (nd->alias >= 0)
            continue;
        int to[2] = {-1, -1};
        for (int k = 0; k < 2; k++) {
            net->dx_to[k] = NULL;
            if (nd->in[k] < 0 || !net->nodes[nd->in[k]].dy)
                continue;
            to[k] = dpf_node_owner(net, nd->in[k]);
            net->dx_to[k] = net->written[to[k]] ? net->scratch[k] : net->nodes[to[k]].dy;
        }
        double t0 = net->profiling ? dpf_now() : 0;
        ops_of(nd->op)->backward(net, nd, batch);
        for (int k = 0; k < 2; k++) {
            if (to[k] < 0)
                continue;
            const dpf_node *src = &net->nodes[to[k]];
            if (net->dx_to[k] == net->scratch[k])
                dpf_k_accumulate(src->dy, net->scratch[k], (size_t)batch * src->size);
            net->written[to[k]] = 1;
        }
        if (net->profiling)
            nd->prof_bwd += dpf_now() - t0, nd->prof_nb++;
    }
    dpf_threads_leave(threads);
}

void dpf_net_set_profiling(dpf_net *net, int on)
{
    net->profiling = on;
    if (on)
        for (int i = 0; i < net->n_nodes; i++)
            net->nodes[i].prof_fwd = net->nodes[i].prof_bwd = 0, net->nodes[i].prof_nf =
                net->nodes[i].prof_nb = 0;
}

/* index of the i-th node that does work (not the input, not an alias), or -1 */
static int working_node(const dpf_net *net, int i)
{
    for (int j = 1; j < net->n_nodes; j++)
        if (net->nodes[j].alias < 0 && i-- == 0)
            return j;
    return -1;
}

int dpf_net_profile_count(const dpf_net *net)
{
    int n = 0;
    for (int j = 1; j < net->n_nodes; j++)
        n += net->nodes[j].alias < 0;
    return n;
}

void dpf_net_profile_row(const dpf_net *net, int i, dpf_layer_time *out)
{
    static const char *const kinds[DPF_OP_COUNT] = {"input", "conv", "bn", "relu", "maxpool",
                                                    "avgpool", "flatten", "linear", "add"};
    memset(out, 0, sizeof *out);
    int j = working_node(net, i);
    if (j < 0)
        return;
    const dpf_node *nd = &net->nodes[j];
    const dpf_node *in = &net->nodes[nd->in[0]];
    const char *param = nd->param_w >= 0 ? net->params[nd->param_w].name : "";
    char what[64] = "";
    if (nd->op == DPF_OP_CONV)
        snprintf(what, sizeof what, " %d->%d %dx%d/%d", in->c, nd->c, nd->conv.kh, nd->conv.kw,
                 nd->conv.stride);
    else if (nd->op == DPF_OP_LINEAR)
        snprintf(what, sizeof what, " %zu->%d", in->size, nd->c);
    out->density = 1;
    if (nd->cv || nd->lin) {
        const int sp = dpf_net_layer_sparse(net, i, 0);
        snprintf(out->kernel, sizeof out->kernel, "%s", sp & 1 ? "sparse" : "dense");
        if (nd->cv && !net->inference) { /* the net's input gets no gradient */
            snprintf(out->bwd_kernel, sizeof out->bwd_kernel, "%s",
                     nd->in[0] == 0 ? "none" : sp & 2 ? "sparse" : "dense");
            snprintf(out->wgrad_kernel, sizeof out->wgrad_kernel, "%s", sp & 4 ? "sparse" : "dense");
        }
        out->density = nd->cv ? dpf_k_conv2d_density(nd->cv) : dpf_k_linear_layer_density(nd->lin);
    } else if (nd->op == DPF_OP_LINEAR) {
        snprintf(out->kernel, sizeof out->kernel, "dense");
    }
    int len = snprintf(out->name, sizeof out->name, "%s%s%s%s %.*s", kinds[nd->op],
                       nd->fold >= 0 ? "+bn" : "",
                       (nd->op == DPF_OP_BN || nd->op == DPF_OP_CONV) && nd->in[1] >= 0 ? "+add" : "",
                       nd->relu ? "+relu" : "",
                       (int)(strlen(param) > 6 ? strlen(param) - 7 : 0), param);
    if (len > 0 && (size_t)len < sizeof out->name)
        snprintf(out->name + len, sizeof out->name - (size_t)len, "%.40s @%dx%d", what, in->h,
                 in->w);
    out->forward_s = nd->prof_fwd;
    out->backward_s = nd->prof_bwd;
    out->forwards = nd->prof_nf;
    out->backwards = nd->prof_nb;
}

int dpf_net_layer_sparse(const dpf_net *net, int i, int n)
{
    const int j = working_node(net, i);
    const dpf_node *nd = j < 0 ? NULL : &net->nodes[j];
    if (!nd || (!nd->cv && !nd->lin) || net->kernels == DPF_KERNELS_DENSE)
        return 0;
    if (n <= 0)
        n = net->batch > 0 ? net->batch : 1;
    if (nd->lin)
        return dpf_k_linear_layer_kind(nd->lin, n) == DPF_WEIGHTS_SPARSE;
    return (dpf_k_conv2d_kind(nd->cv, n) == DPF_WEIGHTS_SPARSE) |
           (!net->inference && nd->in[0] != 0 &&
            dpf_k_conv2d_bwd_kind(nd->cv, n) == DPF_WEIGHTS_SPARSE) << 1 |
           (!net->inference && dpf_k_conv2d_wgrad_kind(nd->cv, n) == DPF_WEIGHTS_SPARSE) << 2;
}

const char *dpf_net_model(const dpf_net *net) { return net->model; }
int dpf_net_max_batch(const dpf_net *net) { return net->max_batch; }
int dpf_net_param_count(const dpf_net *net) { return net->n_params; }
const dpf_param_info *dpf_net_param(const dpf_net *net, int i) { return &net->params[i]; }
size_t dpf_net_size(const dpf_net *net) { return net->n_weights; }
dpf_real *dpf_net_grads(dpf_net *net) { return net->g; }
dpf_conv_algo dpf_net_conv_algo(const dpf_net *net) { return net->conv_algo; }
int dpf_net_threads(const dpf_net *net) { return net->threads; }
int dpf_net_is_inference(const dpf_net *net) { return net->inference; }
size_t dpf_net_memory(const dpf_net *net) { return net->arena_bytes; }
void dpf_net_weights_changed(dpf_net *net) { net->weights_dirty = 1; }

dpf_real *dpf_net_weights(dpf_net *net)
{
    net->weights_dirty = 1;
    return net->w;
}

dpf_real *dpf_net_forward_weights(dpf_net *net)
{
    net->weights_dirty = 1;
    return net->wf;
}

int dpf_net_conv_winograd(dpf_net *net, int c_in, int c_out, int n)
{
    for (int i = 1; i < net->n_nodes; i++) {
        const dpf_node *nd = &net->nodes[i];
        if (nd->cv && nd->conv.c == c_in && nd->conv.k == c_out && nd->conv.stride == 1)
            return dpf_k_conv2d_is_winograd(nd->cv, n);
    }
    return -1;
}
int dpf_net_buffer_count(const dpf_net *net) { return net->n_buffers; }
const dpf_buffer_info *dpf_net_buffer(const dpf_net *net, int i) { return &net->buffers[i]; }
dpf_real *dpf_net_buffers(dpf_net *net)
{
    net->weights_dirty = 1; /* folded batch norms read them */
    return net->buf;
}
size_t dpf_net_buffers_size(const dpf_net *net) { return net->n_buffer_values; }
void dpf_net_swap_buffers(dpf_net *net, dpf_real *other)
{
    dpf_real *bn = dpf_net_buffers(net);
    for (size_t i = 0; i < net->n_buffer_values; i++) {
        dpf_real t = bn[i];
        bn[i] = other[i], other[i] = t;
    }
}
int64_t dpf_net_batches_tracked(const dpf_net *net) { return net->batches_tracked; }
void dpf_net_set_batches_tracked(dpf_net *net, int64_t n) { net->batches_tracked = n; }

void dpf_net_input_shape(const dpf_net *net, int *c, int *h, int *w, int *classes)
{
    if (c) *c = net->in_c;
    if (h) *h = net->in_h;
    if (w) *w = net->in_w;
    if (classes) *classes = net->classes;
}

dpf_status dpf_net_use_forward_weights(dpf_net *net, int on)
{
    net->weights_dirty = 1;
    if (!on) {
        net->wf = net->w;
        return DPF_OK;
    }
    if (!net->wf_own) {
        net->wf_own = malloc(net->n_weights * sizeof(dpf_real));
        if (!net->wf_own)
            return dpf_error(DPF_ERR_NOMEM, "model %s: cannot allocate forward weights",
                             net->model);
    }
    memcpy(net->wf_own, net->w, net->n_weights * sizeof(dpf_real));
    net->wf = net->wf_own;
    return DPF_OK;
}

int64_t dpf_net_macs_dense(const dpf_net *net)
{
    int64_t macs = 0;
    for (int p = 0; p < net->n_params; p++)
        macs += (int64_t)net->params[p].count * net->params[p].uses;
    return macs;
}

int64_t dpf_net_macs_nonzero(dpf_net *net)
{
    int64_t macs = 0;
    for (int p = 0; p < net->n_params; p++) {
        const dpf_param_info *pi = &net->params[p];
        if (!pi->uses)
            continue;
        int64_t nnz = 0;
        for (size_t i = 0; i < pi->count; i++)
            nnz += net->wf[pi->offset + i] != 0;
        macs += nnz * pi->uses;
    }
    return macs;
}
