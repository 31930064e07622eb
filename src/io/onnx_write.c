/* onnx_write.c — writes a net as an ONNX model (dpf/onnx.h, docs/onnx.md): one pass over the
 * net's nodes in their topological order, each becoming the ONNX operators that compute the same
 * thing (Conv, BatchNormalization, Relu, Add, MaxPool, GlobalAveragePool, Flatten, Gemm), with
 * the weights as float32 initializers under their state_dict names. Nodes that the net fused for
 * speed (a ReLU or residual add taken into the batch norm before it, a batch norm folded into
 * its convolution) are written out again as the separate operators they stand for, so the file
 * is the same whatever plan the net was built with. The messages are protobuf-c's, generated at
 * build time from the onnx.proto of Debian's libonnx-dev; without it only the stub at the end
 * is compiled. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpf/onnx.h"

#ifdef DPF_HAVE_ONNX

#include "dpf/util.h"
#include "nn/net_internal.h"
#include "onnx.pb-c.h"

#ifndef DPF_LIB_VERSION
#define DPF_LIB_VERSION "unknown"
#endif

#define ONNX_OPSET 13
#define ONNX_IR_VERSION 7       /* the IR of opset 13 (ONNX 1.8) */
#define MAX_OPS_PER_NODE 5      /* flatten + conv + batch norm + add + relu */
#define MAX_INITS_PER_NODE 7    /* weight, bias, and a folded batch norm's four */
#define MAX_ATTRS 3
#define MAX_META 16

_Static_assert(sizeof(dpf_real) == 4, "ONNX export writes float32 weights");

/* What is being built. Every message and string is allocated through ob_alloc and freed, all
 * together, by ob_free; tensors point at the net's own memory (read while packing). */
typedef struct ob {
    dpf_net *net;
    void **owned;
    size_t n_owned, cap_owned;
    int failed;
    Onnx__NodeProto **ops;
    size_t n_ops, cap_ops;
    Onnx__TensorProto **inits;
    size_t n_inits, cap_inits;
    Onnx__StringStringEntryProto **meta;
    size_t n_meta;
    const char **name;          /* per net node: the ONNX tensor holding its output */
    int *rank;                  /* per net node: 4 (N, C, H, W) or 2 (N, features) */
} ob;

static void *ob_alloc(ob *b, size_t size)
{
    if (b->failed)
        return NULL;
    if (b->n_owned == b->cap_owned) {
        size_t cap = b->cap_owned ? 2 * b->cap_owned : 256;
        void **p = realloc(b->owned, cap * sizeof *p);
        if (!p) {
            b->failed = 1;
            return NULL;
        }
        b->owned = p;
        b->cap_owned = cap;
    }
    void *m = calloc(1, size ? size : 1);
    if (!m) {
        b->failed = 1;
        return NULL;
    }
    return b->owned[b->n_owned++] = m;
}

static char *ob_str(ob *b, const char *s)
{
    char *d = ob_alloc(b, strlen(s) + 1);
    if (d)
        memcpy(d, s, strlen(s) + 1);
    return d;
}

static char *ob_fmt(ob *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static char *ob_fmt(ob *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *d = n >= 0 ? ob_alloc(b, (size_t)n + 1) : NULL;
    if (d) {
        va_start(ap, fmt);
        vsnprintf(d, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    return d ? d : "";
}

static void ob_free(ob *b)
{
    for (size_t i = 0; i < b->n_owned; i++)
        free(b->owned[i]);
    free(b->owned);
}

/* ---- messages ---- */

static Onnx__AttributeProto *attr_ints(ob *b, const char *name, int n, const int64_t *v)
{
    Onnx__AttributeProto *a = ob_alloc(b, sizeof *a);
    int64_t *ints = ob_alloc(b, (size_t)n * sizeof *ints);
    char *nm = ob_str(b, name);
    if (!a || !ints || !nm)
        return NULL;
    onnx__attribute_proto__init(a);
    a->name = nm;
    a->has_type = 1;
    a->type = n == 1 ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT
                     : ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    if (n == 1) {
        a->has_i = 1;
        a->i = v[0];
    } else {
        memcpy(ints, v, (size_t)n * sizeof *ints);
        a->n_ints = (size_t)n;
        a->ints = ints;
    }
    return a;
}

static Onnx__AttributeProto *attr_float(ob *b, const char *name, float v)
{
    Onnx__AttributeProto *a = ob_alloc(b, sizeof *a);
    char *nm = ob_str(b, name);
    if (!a || !nm)
        return NULL;
    onnx__attribute_proto__init(a);
    a->name = nm;
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    a->has_f = 1;
    a->f = v;
    return a;
}

/* Appends operator type reading n_in tensors (NULL entries: an absent optional input, written
 * as "") into the tensor out, which also names the operator. Returns it for its attributes. */
static Onnx__NodeProto *op(ob *b, const char *type, const char *out, int n_in,
                           const char *const *in)
{
    Onnx__NodeProto *o = ob_alloc(b, sizeof *o);
    char **ins = ob_alloc(b, (size_t)n_in * sizeof *ins);
    char **outs = ob_alloc(b, sizeof *outs);
    Onnx__AttributeProto **attrs = ob_alloc(b, MAX_ATTRS * sizeof *attrs);
    if (!o || !ins || !outs || !attrs || b->n_ops == b->cap_ops) {
        b->failed = 1;
        return NULL;
    }
    onnx__node_proto__init(o);
    for (int k = 0; k < n_in; k++)
        ins[k] = ob_str(b, in[k] ? in[k] : "");
    outs[0] = ob_str(b, out);
    o->op_type = ob_str(b, type);
    o->name = outs[0];
    o->n_input = (size_t)n_in;
    o->input = ins;
    o->n_output = 1;
    o->output = outs;
    o->attribute = attrs;
    b->ops[b->n_ops++] = o;
    return b->failed ? NULL : o;
}

static void op_attr(ob *b, Onnx__NodeProto *o, Onnx__AttributeProto *a)
{
    if (!o || !a || o->n_attribute == MAX_ATTRS)
        b->failed = 1;
    else
        o->attribute[o->n_attribute++] = a;
}

/* A float32 initializer named name over the net's memory v. */
static void init_tensor(ob *b, const char *name, int ndim, const int64_t *shape,
                        const dpf_real *v)
{
    Onnx__TensorProto *t = ob_alloc(b, sizeof *t);
    int64_t *dims = ob_alloc(b, (size_t)ndim * sizeof *dims);
    char *nm = ob_str(b, name);
    if (!t || !dims || !nm || b->n_inits == b->cap_inits) {
        b->failed = 1;
        return;
    }
    onnx__tensor_proto__init(t);
    size_t count = 1;
    for (int i = 0; i < ndim; i++)
        count *= (size_t)(dims[i] = shape[i]);
    t->name = nm;
    t->n_dims = (size_t)ndim;
    t->dims = dims;
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->has_raw_data = 1;    /* little-endian float32, as the net holds them on x86-64/arm64 */
    t->raw_data.len = count * sizeof(float);
    t->raw_data.data = (uint8_t *)v;
    b->inits[b->n_inits++] = t;
}

static const char *init_param(ob *b, int p)
{
    const dpf_param_info *pi = &b->net->params[p];
    init_tensor(b, pi->name, pi->ndim, pi->shape, dpf_net_param_wf(b->net, p));
    return pi->name;
}

static const char *init_buffer(ob *b, int i)
{
    const dpf_buffer_info *bi = &b->net->buffers[i];
    init_tensor(b, bi->name, bi->ndim, bi->shape, b->net->buf + bi->offset);
    return bi->name;
}

static void meta_put(ob *b, const char *key, const char *value)
{
    Onnx__StringStringEntryProto *e = ob_alloc(b, sizeof *e);
    if (!e || b->n_meta == MAX_META) {
        b->failed = 1;
        return;
    }
    onnx__string_string_entry_proto__init(e);
    e->key = ob_str(b, key);
    e->value = ob_str(b, value);
    b->meta[b->n_meta++] = e;
}

/* A graph input or output: float32 (batch, d1, ..., dn) with a symbolic batch. */
static Onnx__ValueInfoProto *value_info(ob *b, const char *name, int n, const int64_t *dims)
{
    Onnx__ValueInfoProto *vi = ob_alloc(b, sizeof *vi);
    Onnx__TypeProto *tp = ob_alloc(b, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = ob_alloc(b, sizeof *tt);
    Onnx__TensorShapeProto *sh = ob_alloc(b, sizeof *sh);
    Onnx__TensorShapeProto__Dimension **d = ob_alloc(b, (size_t)(n + 1) * sizeof *d);
    if (!vi || !tp || !tt || !sh || !d)
        return NULL;
    onnx__value_info_proto__init(vi);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sh);
    for (int i = 0; i <= n; i++) {
        if (!(d[i] = ob_alloc(b, sizeof *d[i])))
            return NULL;
        onnx__tensor_shape_proto__dimension__init(d[i]);
        if (i == 0) {
            d[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d[i]->dim_param = ob_str(b, "batch");
        } else {
            d[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d[i]->dim_value = dims[i - 1];
        }
    }
    sh->n_dim = (size_t)(n + 1);
    sh->dim = d;
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt->shape = sh;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->name = ob_str(b, name);
    vi->type = tp;
    return vi;
}

/* ---- the graph ---- */

/* The layer name of node i: its weight's state_dict name without ".weight", else what + i. */
static const char *layer_name(ob *b, int i, const char *what)
{
    const dpf_node *nd = &b->net->nodes[i];
    if (nd->param_w < 0)
        return ob_fmt(b, "%s%d", what, i);
    const char *w = b->net->params[nd->param_w].name;
    const char *dot = strrchr(w, '.');
    int len = dot && strcmp(dot, ".weight") == 0 ? (int)(dot - w) : (int)strlen(w);
    return ob_fmt(b, "%.*s", len, w);
}

/* Batch norm node bn in evaluation form, reading x; returns its output. */
static const char *emit_bn(ob *b, int bn, const char *x)
{
    const dpf_node *nd = &b->net->nodes[bn];
    const char *in[5] = {x, init_param(b, nd->param_w), init_param(b, nd->param_b),
                         init_buffer(b, nd->buf_mean), init_buffer(b, nd->buf_var)};
    Onnx__NodeProto *o = op(b, "BatchNormalization", layer_name(b, bn, "bn"), 5, in);
    op_attr(b, o, attr_float(b, "epsilon", (float)DPF_BN_EPS));
    return o ? o->output[0] : "";
}

/* What a node adds after its own operation to its output cur: the residual input in[1] (a fused
 * add). A fused ReLU is written by its own node (emit_node), so it has one name in every plan.
 * Returns the final output. */
static const char *emit_post(ob *b, int i, const char *cur)
{
    const dpf_node *nd = &b->net->nodes[i];
    if (nd->op != DPF_OP_ADD && nd->in[1] >= 0) {
        const char *in[2] = {cur, b->name[nd->in[1]]};
        Onnx__NodeProto *o = op(b, "Add", ob_fmt(b, "%s.add", cur), 2, in);
        cur = o ? o->output[0] : "";
    }
    return cur;
}

static const char *emit_conv(ob *b, int i)
{
    const dpf_node *nd = &b->net->nodes[i];
    const dpf_conv_shape *s = &nd->conv;
    const char *in[3] = {b->name[nd->in[0]], init_param(b, nd->param_w),
                         nd->param_b >= 0 ? init_param(b, nd->param_b) : NULL};
    Onnx__NodeProto *o = op(b, "Conv", layer_name(b, i, "conv"), nd->param_b >= 0 ? 3 : 2, in);
    const int64_t k[2] = {s->kh, s->kw}, st[2] = {s->stride, s->stride},
                  pad[4] = {s->pad, s->pad, s->pad, s->pad};
    op_attr(b, o, attr_ints(b, "kernel_shape", 2, k));
    op_attr(b, o, attr_ints(b, "strides", 2, st));
    op_attr(b, o, attr_ints(b, "pads", 4, pad));
    const char *out = o ? o->output[0] : "";
    return nd->fold >= 0 ? emit_bn(b, nd->fold, out) : out; /* a folded batch norm, separate */
}

/* A 2-D view (N, features) of node x's output, flattening it if it is 4-D. */
static const char *as_matrix(ob *b, int x, int i)
{
    if (b->rank[x] == 2)
        return b->name[x];
    Onnx__NodeProto *o = op(b, "Flatten", ob_fmt(b, "flatten%d", i), 1, &b->name[x]);
    const int64_t axis = 1;
    op_attr(b, o, attr_ints(b, "axis", 1, &axis));
    return o ? o->output[0] : "";
}

static const char *emit_pool(ob *b, int i, const char *x)
{
    const dpf_node *nd = &b->net->nodes[i];
    if (nd->op == DPF_OP_GAP) {
        Onnx__NodeProto *o = op(b, "GlobalAveragePool", ob_fmt(b, "avgpool%d", i), 1, &x);
        return o ? o->output[0] : "";
    }
    Onnx__NodeProto *o = op(b, "MaxPool", ob_fmt(b, "maxpool%d", i), 1, &x);
    const int64_t k[2] = {nd->pool_k, nd->pool_k}, st[2] = {nd->pool_stride, nd->pool_stride};
    op_attr(b, o, attr_ints(b, "kernel_shape", 2, k));
    op_attr(b, o, attr_ints(b, "strides", 2, st));
    return o ? o->output[0] : "";
}

static const char *emit_linear(ob *b, int i)
{
    const dpf_node *nd = &b->net->nodes[i];
    const char *in[3] = {as_matrix(b, nd->in[0], i), init_param(b, nd->param_w),
                         nd->param_b >= 0 ? init_param(b, nd->param_b) : NULL};
    Onnx__NodeProto *o = op(b, "Gemm", layer_name(b, i, "linear"), nd->param_b >= 0 ? 3 : 2, in);
    const int64_t trans_b = 1;
    op_attr(b, o, attr_ints(b, "transB", 1, &trans_b));
    return o ? o->output[0] : "";
}

/* Node i into ONNX operators; the name of its output tensor into b->name[i]. */
static dpf_status emit_node(ob *b, int i)
{
    const dpf_node *nd = &b->net->nodes[i];
    const char *x = nd->in[0] >= 0 ? b->name[nd->in[0]] : NULL, *out = NULL;
    b->rank[i] = nd->in[0] >= 0 ? b->rank[nd->in[0]] : 4;
    if (nd->op == DPF_OP_FLATTEN) {   /* an alias in memory, still a reshape in the graph */
        b->name[i] = as_matrix(b, nd->in[0], i);
        b->rank[i] = 2;
        return DPF_OK;
    }
    if (nd->op == DPF_OP_RELU) { /* fused into the node before it or not: one operator */
        Onnx__NodeProto *o = op(b, "Relu", ob_fmt(b, "relu%d", i), 1, &x);
        b->name[i] = o ? o->output[0] : "";
        return DPF_OK; /* a failed op is recorded in b->failed */
    }
    if (nd->alias >= 0) {    /* fused into an earlier node, which wrote it out */
        b->name[i] = b->name[nd->alias];
        b->rank[i] = b->rank[nd->alias];
        return DPF_OK;
    }
    switch (nd->op) {
    case DPF_OP_INPUT:
        b->name[i] = "input";
        return DPF_OK;
    case DPF_OP_CONV:
        out = emit_conv(b, i);
        break;
    case DPF_OP_BN:
        out = emit_bn(b, i, x);
        break;
    case DPF_OP_ADD: {
        const char *in[2] = {x, b->name[nd->in[1]]};
        Onnx__NodeProto *o = op(b, "Add", ob_fmt(b, "add%d", i), 2, in);
        out = o ? o->output[0] : "";
        break;
    }
    case DPF_OP_MAXPOOL:
    case DPF_OP_GAP:
        out = emit_pool(b, i, x);
        break;
    case DPF_OP_LINEAR:
        out = emit_linear(b, i);
        b->rank[i] = 2;
        break;
    default:
        return dpf_error(DPF_ERR_STATE, "ONNX export: model %s: node %d has no ONNX form",
                         b->net->model, i);
    }
    b->name[i] = emit_post(b, i, out);
    return DPF_OK;
}

/* metadata_props: what a user of the file needs to feed it (docs/onnx.md). */
static void emit_meta(ob *b, const dpf_model_meta *m)
{
    char buf[160];
    meta_put(b, "dpf_version", DPF_LIB_VERSION);
    meta_put(b, "model", m->model);
    meta_put(b, "data", m->data);
    snprintf(buf, sizeof buf, "%d,%d,%d", m->c, m->h, m->w);
    meta_put(b, "input_shape", buf);
    snprintf(buf, sizeof buf, "%d", m->classes);
    meta_put(b, "classes", buf);
    for (int k = 0; k < 2; k++) {
        const float *v = k ? m->std : m->mean;
        size_t used = 0;
        buf[0] = '\0';
        for (int c = 0; c < m->c && c < 3; c++) {
            int digits = 6;   /* the fewest that read back as the same float (9 always do) */
            char num[32];
            snprintf(num, sizeof num, "%.*g", digits, (double)v[c]);
            while ((float)strtod(num, NULL) != v[c] && digits < 9)
                snprintf(num, sizeof num, "%.*g", ++digits, (double)v[c]);
            used += (size_t)snprintf(buf + used, sizeof buf - used, c ? ",%s" : "%s", num);
        }
        meta_put(b, k ? "normalize_std" : "normalize_mean", buf);
    }
    meta_put(b, "input_format", "float32 NCHW; pixel values scaled to [0, 1], then per channel "
                                "(x - normalize_mean) / normalize_std");
    if (m->class_names[0])
        meta_put(b, "class_names", m->class_names);
    if (m->method[0])
        meta_put(b, "method", m->method);
    snprintf(buf, sizeof buf, "%.6f", m->sparsity);
    meta_put(b, "sparsity", buf);
    if (dpf_net_widths(b->net)[0]) /* a slimmed model: every layer's width (docs/onnx.md) */
        meta_put(b, "widths", dpf_net_widths(b->net));
}

static dpf_status pack_and_write(ob *b, const dpf_model_meta *m, const char *path)
{
    const dpf_net *net = b->net;
    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    Onnx__OperatorSetIdProto *opsets[1] = {&opset};
    Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
    const int64_t in_dims[3] = {net->in_c, net->in_h, net->in_w}, out_dims[1] = {net->classes};
    Onnx__ValueInfoProto *in = value_info(b, "input", 3, in_dims);
    Onnx__ValueInfoProto *out = value_info(b, b->name[net->n_nodes - 1], 1, out_dims);
    if (b->failed || !in || !out)
        return dpf_error(DPF_ERR_NOMEM, "%s: out of memory writing the ONNX model", path);
    g.name = (char *)net->model;
    g.n_node = b->n_ops;
    g.node = b->ops;
    g.n_initializer = b->n_inits;
    g.initializer = b->inits;
    g.n_input = 1;
    g.input = &in;
    g.n_output = 1;
    g.output = &out;
    opset.domain = (char *)"";
    opset.has_version = 1;
    opset.version = ONNX_OPSET;
    model.has_ir_version = 1;
    model.ir_version = ONNX_IR_VERSION;
    model.n_opset_import = 1;
    model.opset_import = opsets;
    model.producer_name = (char *)"dpf";
    model.producer_version = (char *)DPF_LIB_VERSION;
    model.graph = &g;
    model.n_metadata_props = b->n_meta;
    model.metadata_props = b->meta;
    size_t size = onnx__model_proto__get_packed_size(&model);
    if (size >= ((size_t)1 << 31))
        return dpf_error(DPF_ERR_ARG, "%s: model %s needs %zu bytes, more than one ONNX protobuf "
                         "holds (2 GiB)", path, m->model, size);
    uint8_t *data = malloc(size);
    if (!data)
        return dpf_error(DPF_ERR_NOMEM, "%s: out of memory (%zu bytes)", path, size);
    onnx__model_proto__pack(&model, data);
    dpf_status st = dpf_write_file_atomic(path, data, size);
    free(data);
    return st;
}

int dpf_onnx_available(void)
{
    return 1;
}

dpf_status dpf_model_save_onnx(dpf_net *net, const dpf_model_meta *meta, const char *path)
{
    const size_t n = (size_t)net->n_nodes;
    ob b = {.net = net, .cap_ops = n * MAX_OPS_PER_NODE, .cap_inits = n * MAX_INITS_PER_NODE};
    b.ops = ob_alloc(&b, b.cap_ops * sizeof *b.ops);
    b.inits = ob_alloc(&b, b.cap_inits * sizeof *b.inits);
    b.meta = ob_alloc(&b, MAX_META * sizeof *b.meta);
    b.name = ob_alloc(&b, n * sizeof *b.name);
    b.rank = ob_alloc(&b, n * sizeof *b.rank);
    dpf_status st = b.failed || n == 0
                        ? dpf_error(DPF_ERR_NOMEM, "%s: out of memory writing the ONNX model", path)
                        : DPF_OK;
    for (int i = 0; i < net->n_nodes && st == DPF_OK; i++)
        st = emit_node(&b, i);
    if (st == DPF_OK) {
        /* the logits tensor: its operator is the last one when the last node did work */
        Onnx__NodeProto *last = b.n_ops ? b.ops[b.n_ops - 1] : NULL;
        if (last && strcmp(last->output[0], b.name[n - 1]) == 0) {
            last->output[0] = ob_str(&b, "logits");
            b.name[n - 1] = "logits";
        }
        emit_meta(&b, meta);
        st = pack_and_write(&b, meta, path);
    }
    ob_free(&b);
    return st;
}

#else /* no protobuf-c / onnx.proto at configure time */

int dpf_onnx_available(void)
{
    return 0;
}

dpf_status dpf_model_save_onnx(dpf_net *net, const dpf_model_meta *meta, const char *path)
{
    (void)net, (void)meta;
    return dpf_error(DPF_ERR_STATE, "%s: this dpf was built without ONNX export (install "
                     "protobuf-c-compiler, libprotobuf-c-dev and libonnx-dev, then rebuild)",
                     path);
}

#endif
