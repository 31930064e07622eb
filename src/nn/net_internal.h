/* net_internal.h — the network's inside: a list of nodes in topological order, each with its
 * activation and gradient buffers planned once at creation, plus the builder that models use.
 * Layers (one file each in src/nn/) implement dpf_layer_ops for their node kind. */
#ifndef DPF_NET_INTERNAL_H
#define DPF_NET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "dpf/net.h"
#include "kernels/kernels.h"

typedef enum dpf_op {
    DPF_OP_INPUT,
    DPF_OP_CONV,
    DPF_OP_BN,
    DPF_OP_RELU,
    DPF_OP_MAXPOOL,
    DPF_OP_GAP,
    DPF_OP_FLATTEN,
    DPF_OP_LINEAR,
    DPF_OP_ADD,
    DPF_OP_COUNT
} dpf_op;

typedef struct dpf_node {
    dpf_op op;
    int in[2];              /* input node indices (-1: none) */
    int c, h, w;            /* output shape per sample */
    size_t size;            /* c*h*w */
    dpf_real *y, *dy;       /* (max_batch, c, h, w) activation and its gradient, in the
                               activation layout (kernels.h) */
    int alias;              /* >= 0: shares y / dy with that node and does no work itself (a
                               flatten that moves no data, a ReLU fused into its input) */
    int relu;               /* BN / add: a ReLU is fused into the output */
    int dy_slot;            /* the gradient slot dy lives in (net.c plan_gradients), -1 none */
    double prof_fwd, prof_bwd;    /* seconds, while profiling */
    int64_t prof_nf, prof_nb;
    int param_w, param_b;   /* indices into the param table (-1: none) */
    int buf_mean, buf_var;  /* BN running statistics (indices into the buffer table) */
    dpf_conv_shape conv;    /* conv: geometry (n: the net's largest batch) */
    dpf_conv *cv;           /* conv: its kernel state (weights prepared for its kernel) */
    dpf_linear *lin;        /* linear of an inference net that may run sparse kernels */
    int fold;               /* conv: the batch norm folded into it (-1: none); then its input
                               in[1] is the residual and relu the ReLU after the batch norm */
    dpf_real *wfold;        /* conv with a fold: (K, C, KH, KW) folded weights, then K biases */
    int pool_k, pool_stride;
    dpf_real *save_mean, *save_invstd;  /* BN: per channel, saved by training forward */
    int32_t *argmax;        /* max-pool: (max_batch, c, oh, ow) */
} dpf_node;

/* One "name:width" of dpf_net_options.widths (widths.c). */
typedef struct dpf_width_entry {
    char name[96];
    int width;
    int used;
} dpf_width_entry;

typedef struct dpf_layer_ops {
    void (*forward)(dpf_net *net, dpf_node *nd, int batch, int train);
    void (*backward)(dpf_net *net, dpf_node *nd, int batch);
} dpf_layer_ops;

struct dpf_net {
    char model[32];
    int in_c, in_h, in_w, classes, max_batch;

    dpf_node *nodes;
    int n_nodes, cap_nodes;

    dpf_param_info *params;
    int n_params, cap_params;
    size_t n_weights;               /* elements of w / g / wf */
    dpf_real *w, *g, *wf_own;       /* wf_own: separate forward weights when enabled; g: NULL
                                       in an inference plan */
    dpf_real *wf;                   /* what forward reads: w or wf_own */

    dpf_buffer_info *buffers;
    int n_buffers, cap_buffers;
    size_t n_buffer_values;
    dpf_real *buf;
    int64_t batches_tracked;

    dpf_kctx *kctx;                 /* the backend context the net's kernels run with */
    dpf_conv_algo conv_algo;
    int threads;                    /* OpenMP threads of its kernels; 0: the caller's */
    int inference;                  /* planned for evaluation only: no gradients, no scratch */
    int fold_bn;                    /* inference: batch norms folded into convolutions */
    dpf_kernel_policy kernels;      /* which conv kernels may run (dpf_net_kernels) */
    int weights_dirty;              /* the weights may have changed since the kernels saw them */
    const uint8_t *grad_mask;       /* dpf_net_set_grad_mask (NULL: dense weight gradients) */
    size_t arena_bytes;

    dpf_real *workspace;            /* kernel scratch, sized for the largest need */
    size_t workspace_size;
    dpf_real *probs;                /* (max_batch, classes) softmax of the last loss */
    dpf_real *input_buf;            /* the input in the activation layout, where it differs */
    int input_nchw;                 /* the convolutions reading the input read it as NCHW */
    dpf_real *scratch[2];           /* input gradients of a node whose input already holds one */
    int n_grad_slots;               /* gradient memory shared by nodes not live at once */
    size_t *grad_slot_bytes;
    dpf_real *dx_to[2];             /* where the running backward writes its input gradients */
    unsigned char *written;         /* per node: its dy holds a gradient in this backward */
    int profiling;
    const int32_t *labels;          /* labels of the last loss */
    int batch;                      /* batch of the last forward */
    int last_train;

    dpf_status build_status;        /* first error met while building */

    dpf_width_entry *wspec;         /* the widths asked for (dpf_net_options.widths) */
    int n_wspec;
    char *widths;                   /* dpf_net_widths: "" unless built with widths */
    dpf_channel_group *groups;      /* groups.c */
    int n_groups;
};

/* ---- builder (builder.c): each returns the new node index, or -1 after recording an error ---- */
int dpf_nb_input(dpf_net *net);
int dpf_nb_conv(dpf_net *net, int in, const char *name, int out_c, int k, int stride, int pad,
                int bias);
int dpf_nb_bn(dpf_net *net, int in, const char *name);
int dpf_nb_relu(dpf_net *net, int in);
int dpf_nb_maxpool(dpf_net *net, int in, int k, int stride);
int dpf_nb_gap(dpf_net *net, int in);
int dpf_nb_flatten(dpf_net *net, int in);
int dpf_nb_linear(dpf_net *net, int in, const char *name, int out, int bias);
int dpf_nb_add(dpf_net *net, int a, int b);
/* conv -> bn (-> relu): the common triple; returns the last node */
int dpf_nb_conv_bn(dpf_net *net, int in, const char *conv_name, const char *bn_name, int out_c,
                   int k, int stride, int pad, int relu);

/* ---- models (src/nn/models) ---- */
dpf_status dpf_model_build_mlp(dpf_net *net);
dpf_status dpf_model_build_lenet5(dpf_net *net);
dpf_status dpf_model_build_resnet(dpf_net *net, int depth);
dpf_status dpf_model_build_wrn(dpf_net *net, int depth, int width);
dpf_status dpf_model_build_vgg16(dpf_net *net);

/* ---- widths (widths.c) and channel groups (groups.c) ---- */
/* Parses spec into net->wspec (DPF_ERR_ARG naming the bad item). */
dpf_status dpf_widths_parse(dpf_net *net, const char *spec);
/* The width of layer `name`: the spec's, else def (marks the entry used). */
int dpf_widths_lookup(dpf_net *net, const char *name, int def);
/* After building: every entry used, the classifier's width the classes; fills net->widths. */
dpf_status dpf_widths_finish(dpf_net *net);
dpf_status dpf_groups_build(dpf_net *net);
void dpf_groups_free(dpf_net *net);

/* ---- layers: one ops table per node kind ---- */
extern const dpf_layer_ops dpf_conv2d_ops, dpf_batchnorm_ops, dpf_relu_ops, dpf_maxpool_ops,
    dpf_gap_ops, dpf_flatten_ops, dpf_linear_ops, dpf_add_ops;

/* The weights a convolution node hands its kernels (folded with its batch norm, if any). */
const dpf_real *dpf_conv_node_weights(dpf_net *net, dpf_node *nd);
/* Forward weights / gradient of a param index (NULL for -1). */
dpf_real *dpf_net_param_wf(dpf_net *net, int p);
dpf_real *dpf_net_param_g(dpf_net *net, int p);
/* The input activation of a node's k-th input, and where its backward writes (=) the gradient
 * for that input (NULL when the input needs none). */
const dpf_real *dpf_node_x(const dpf_net *net, const dpf_node *nd, int k);
dpf_real *dpf_node_dx(dpf_net *net, const dpf_node *nd, int k);
/* The node whose buffers node i uses (i itself unless it is an alias). */
int dpf_node_owner(const dpf_net *net, int i);

#endif
