/* builder.c — how models describe themselves: append nodes with their shapes, register the
 * parameters and buffers they own (PyTorch names). Memory is planned afterwards in net.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/net_internal.h"

static int grow(void **items, int *cap, int need, size_t item_size)
{
    if (need <= *cap)
        return 0;
    int ncap = *cap ? *cap * 2 : 32;
    while (ncap < need)
        ncap *= 2;
    void *p = realloc(*items, (size_t)ncap * item_size);
    if (!p)
        return -1;
    memset((char *)p + (size_t)*cap * item_size, 0, (size_t)(ncap - *cap) * item_size);
    *items = p;
    *cap = ncap;
    return 0;
}

static int fail(dpf_net *net, dpf_status code, const char *msg_fmt, const char *a)
{
    if (net->build_status == DPF_OK)
        net->build_status = dpf_error(code, msg_fmt, net->model, a);
    return -1;
}

static int add_node(dpf_net *net, dpf_op op, int in0, int in1, int c, int h, int w)
{
    if (net->build_status != DPF_OK)
        return -1;
    if (grow((void **)&net->nodes, &net->cap_nodes, net->n_nodes + 1, sizeof(dpf_node)))
        return fail(net, DPF_ERR_NOMEM, "model %s: out of memory building the network%s", "");
    dpf_node *nd = &net->nodes[net->n_nodes];
    memset(nd, 0, sizeof *nd);
    nd->op = op;
    nd->in[0] = in0;
    nd->in[1] = in1;
    nd->c = c;
    nd->h = h;
    nd->w = w;
    nd->size = (size_t)c * (size_t)h * (size_t)w;
    nd->param_w = nd->param_b = nd->buf_mean = nd->buf_var = -1;
    return net->n_nodes++;
}

static int add_param(dpf_net *net, const char *prefix, const char *suffix, dpf_param_kind kind,
                     int ndim, const int64_t *shape)
{
    if (grow((void **)&net->params, &net->cap_params, net->n_params + 1, sizeof(dpf_param_info)))
        return fail(net, DPF_ERR_NOMEM, "model %s: out of memory building the network%s", "");
    dpf_param_info *p = &net->params[net->n_params];
    snprintf(p->name, sizeof p->name, "%s.%s", prefix, suffix);
    p->kind = kind;
    p->ndim = ndim;
    p->count = 1;
    for (int i = 0; i < ndim; i++) {
        p->shape[i] = shape[i];
        p->count *= (size_t)shape[i];
    }
    p->offset = net->n_weights;
    p->filters = (int)shape[0];
    net->n_weights += p->count;
    return net->n_params++;
}

static int add_buffer(dpf_net *net, const char *prefix, const char *suffix, int64_t count,
                      int is_counter)
{
    if (grow((void **)&net->buffers, &net->cap_buffers, net->n_buffers + 1,
             sizeof(dpf_buffer_info)))
        return fail(net, DPF_ERR_NOMEM, "model %s: out of memory building the network%s", "");
    dpf_buffer_info *b = &net->buffers[net->n_buffers];
    snprintf(b->name, sizeof b->name, "%s.%s", prefix, suffix);
    b->is_counter = is_counter;
    b->ndim = is_counter ? 0 : 1;
    b->shape[0] = is_counter ? 0 : count;
    b->count = is_counter ? 1 : (size_t)count;
    if (!is_counter) {
        b->offset = net->n_buffer_values;
        net->n_buffer_values += (size_t)count;
    }
    return net->n_buffers++;
}

int dpf_nb_input(dpf_net *net)
{
    return add_node(net, DPF_OP_INPUT, -1, -1, net->in_c, net->in_h, net->in_w);
}

int dpf_nb_conv(dpf_net *net, int in, const char *name, int out_c, int k, int stride, int pad,
                int bias)
{
    if (in < 0)
        return -1;
    out_c = dpf_widths_lookup(net, name, out_c);
    const dpf_node *x = &net->nodes[in];
    dpf_conv_shape s = {.n = 1, .c = x->c, .h = x->h, .w = x->w, .k = out_c, .kh = k, .kw = k,
                        .stride = stride, .pad = pad};
    if (dpf_conv_shape_finish(&s) != 0) {
        char what[160];
        snprintf(what, sizeof what, "%s (%dx%d kernel, stride %d, padding %d) on a %dx%d input",
                 name, k, k, stride, pad, x->h, x->w);
        return fail(net, DPF_ERR_ARG, "model %s does not fit the data: layer %s is too small", what);
    }
    int id = add_node(net, DPF_OP_CONV, in, -1, out_c, s.oh, s.ow);
    if (id < 0)
        return -1;
    int64_t wshape[4] = {out_c, s.c, k, k}; /* x may have moved: add_node reallocates */
    int pw = add_param(net, name, "weight", DPF_PARAM_CONV_WEIGHT, 4, wshape);
    if (pw >= 0)
        net->params[pw].uses = (int64_t)s.oh * s.ow;
    net->nodes[id].param_w = pw;
    if (bias) {
        int64_t bshape[1] = {out_c};
        net->nodes[id].param_b = add_param(net, name, "bias", DPF_PARAM_BIAS, 1, bshape);
    }
    net->nodes[id].conv = s;
    return net->build_status == DPF_OK ? id : -1;
}

int dpf_nb_bn(dpf_net *net, int in, const char *name)
{
    if (in < 0)
        return -1;
    const dpf_node *x = &net->nodes[in];
    int c = x->c;
    if (dpf_widths_lookup(net, name, c) != c) {
        if (net->build_status == DPF_OK)
            net->build_status = dpf_error(DPF_ERR_ARG, "widths: model %s: batch norm %s has "
                                          "width %d, its input %d channels", net->model, name,
                                          dpf_widths_lookup(net, name, c), c);
        return -1;
    }
    int id = add_node(net, DPF_OP_BN, in, -1, c, x->h, x->w);
    if (id < 0)
        return -1;
    int64_t shape[1] = {c};
    net->nodes[id].param_w = add_param(net, name, "weight", DPF_PARAM_BN_WEIGHT, 1, shape);
    net->nodes[id].param_b = add_param(net, name, "bias", DPF_PARAM_BN_BIAS, 1, shape);
    net->nodes[id].buf_mean = add_buffer(net, name, "running_mean", c, 0);
    net->nodes[id].buf_var = add_buffer(net, name, "running_var", c, 0);
    add_buffer(net, name, "num_batches_tracked", 1, 1);
    return net->build_status == DPF_OK ? id : -1;
}

int dpf_nb_relu(dpf_net *net, int in)
{
    if (in < 0)
        return -1;
    const dpf_node *x = &net->nodes[in];
    return add_node(net, DPF_OP_RELU, in, -1, x->c, x->h, x->w);
}

int dpf_nb_maxpool(dpf_net *net, int in, int k, int stride)
{
    if (in < 0)
        return -1;
    const dpf_node *x = &net->nodes[in];
    if (x->h < k || x->w < k) {
        char what[96];
        snprintf(what, sizeof what, "a %dx%d max-pool on a %dx%d input", k, k, x->h, x->w);
        return fail(net, DPF_ERR_ARG, "model %s does not fit the data: %s", what);
    }
    int id = add_node(net, DPF_OP_MAXPOOL, in, -1, x->c, (x->h - k) / stride + 1,
                      (x->w - k) / stride + 1);
    if (id >= 0) {
        net->nodes[id].pool_k = k;
        net->nodes[id].pool_stride = stride;
    }
    return id;
}

int dpf_nb_gap(dpf_net *net, int in)
{
    if (in < 0)
        return -1;
    return add_node(net, DPF_OP_GAP, in, -1, net->nodes[in].c, 1, 1);
}

int dpf_nb_flatten(dpf_net *net, int in)
{
    if (in < 0)
        return -1;
    return add_node(net, DPF_OP_FLATTEN, in, -1, (int)net->nodes[in].size, 1, 1);
}

int dpf_nb_linear(dpf_net *net, int in, const char *name, int out, int bias)
{
    if (in < 0)
        return -1;
    int in_features = (int)net->nodes[in].size;
    out = dpf_widths_lookup(net, name, out);
    int id = add_node(net, DPF_OP_LINEAR, in, -1, out, 1, 1);
    if (id < 0)
        return -1;
    int64_t wshape[2] = {out, in_features};
    int pw = add_param(net, name, "weight", DPF_PARAM_LINEAR_WEIGHT, 2, wshape);
    if (pw >= 0)
        net->params[pw].uses = 1;
    net->nodes[id].param_w = pw;
    if (bias) {
        int64_t bshape[1] = {out};
        net->nodes[id].param_b = add_param(net, name, "bias", DPF_PARAM_BIAS, 1, bshape);
    }
    return net->build_status == DPF_OK ? id : -1;
}

int dpf_nb_add(dpf_net *net, int a, int b)
{
    if (a < 0 || b < 0)
        return -1;
    const dpf_node *x = &net->nodes[a], *z = &net->nodes[b];
    if (x->c != z->c || x->h != z->h || x->w != z->w)
        return fail(net, DPF_ERR_STATE, "model %s: residual add of mismatched shapes%s", "");
    return add_node(net, DPF_OP_ADD, a, b, x->c, x->h, x->w);
}

int dpf_nb_conv_bn(dpf_net *net, int in, const char *conv_name, const char *bn_name, int out_c,
                   int k, int stride, int pad, int relu)
{
    int x = dpf_nb_conv(net, in, conv_name, out_c, k, stride, pad, 0);
    x = dpf_nb_bn(net, x, bn_name);
    return relu ? dpf_nb_relu(net, x) : x;
}
