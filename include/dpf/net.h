/* dpf/net.h — networks: build a named model, run forward / loss / backward.
 *
 * Parameters live in flat buffers (design §3): the dense weights w, their gradients g and, when a
 * pruning method asks for it, the forward weights w~ (e.g. m ⊙ w) share one indexing; each tensor
 * is a view (name, shape, offset) described by dpf_param_info. Forward and backward read w~
 * (which is w itself unless dpf_net_use_forward_weights(net, 1) was called) and backward writes
 * dL/dw~ into g — exactly what DPF needs: the gradient at the pruned model, applied to w.
 * Names follow PyTorch state_dicts (conv1.weight, layer1.0.bn1.running_mean, fc.bias, ...).
 * All memory is planned when the net is created: nothing allocates in forward/backward. */
#ifndef DPF_NET_H
#define DPF_NET_H

#include <stddef.h>
#include <stdint.h>

#include "dpf/real.h"
#include "dpf/status.h"

typedef enum dpf_param_kind {
    DPF_PARAM_CONV_WEIGHT,
    DPF_PARAM_LINEAR_WEIGHT,
    DPF_PARAM_BIAS,
    DPF_PARAM_BN_WEIGHT,
    DPF_PARAM_BN_BIAS
} dpf_param_kind;

typedef struct dpf_param_info {
    char name[96];          /* PyTorch state_dict name */
    dpf_param_kind kind;
    int ndim;
    int64_t shape[4];
    size_t offset, count;   /* view into the flat buffers */
    int prunable;           /* conv/linear weight other than the final classifier (paper §5.1) */
    int64_t uses;           /* MACs per weight per image: OH*OW for conv, 1 for linear, 0 otherwise */
    int filters;            /* output filters (shape[0]) of a weight; filter f is count/filters
                               contiguous elements starting at offset + f*count/filters */
} dpf_param_info;

typedef struct dpf_buffer_info {
    char name[96];          /* e.g. "bn1.running_mean", "bn1.num_batches_tracked" */
    int ndim;
    int64_t shape[4];
    size_t offset, count;   /* into dpf_net_buffers() (running stats); counters: see below */
    int is_counter;         /* num_batches_tracked: int64 scalar, value dpf_net_batches_tracked() */
} dpf_buffer_info;

typedef struct dpf_net dpf_net;

/* Batch norm's running statistics: r = (1 - m) r + m * (batch statistic), as PyTorch's default,
 * and its epsilon. */
#define DPF_BN_MOMENTUM 0.1
#define DPF_BN_EPS 1e-5

/* Convolution algorithm of a net: DPF_CONV_AUTO (the float build runs 3x3 stride-1 layers with
 * 32+ channels as Winograd convolutions where that is faster: 30-55% on this kind of CPU,
 * rounding differently at ~1e-6 relative), DPF_CONV_DIRECT (every layer direct, PyTorch's
 * algorithm), DPF_CONV_WINOGRAD (Winograd wherever eligible, however small the batch: tests). */
typedef enum dpf_conv_algo { DPF_CONV_AUTO, DPF_CONV_DIRECT, DPF_CONV_WINOGRAD } dpf_conv_algo;
/* "auto", "direct", "winograd" -> the enum; DPF_ERR_ARG naming the known ones otherwise. */
dpf_status dpf_conv_algo_parse(const char *name, dpf_conv_algo *out);
const char *dpf_conv_algo_name(dpf_conv_algo algo);

/* How a net is built. Everything the net's kernels run with (oneDNN's engine and stream, the
 * primitives, the algorithm policy, the thread count) belongs to the net: two nets with
 * different options live side by side in one process. */
/* Which kernels a net's convolutions may run: dense only (oneDNN), sparse where the calibrated
 * rule says it is faster for the layer's shape, batch and density, or sparse always (tests).
 * Training nets run sparse kernels in the forward and backward-data passes of convolutions
 * (weight gradients and linear layers stay dense); inference nets in the forward pass of
 * convolutions and linear layers. */
typedef enum dpf_net_kernels {
    DPF_NET_KERNELS_DENSE,
    DPF_NET_KERNELS_AUTO,
    DPF_NET_KERNELS_SPARSE
} dpf_net_kernels;
/* "dense", "auto", "sparse" -> the enum; DPF_ERR_ARG naming the known ones otherwise. */
dpf_status dpf_net_kernels_parse(const char *name, dpf_net_kernels *out);
const char *dpf_net_kernels_name(dpf_net_kernels k);

typedef struct dpf_net_options {
    int max_batch;          /* bound on the batch of forward calls, >= 1 */
    int inference;          /* 1: planned for evaluation only: forward(train = 0) and the loss;
                               no gradients, gradient slots or training scratch, activations
                               sharing memory where they are never live at once */
    dpf_conv_algo conv_algo;
    int threads;            /* OpenMP threads of the net's kernels; 0: the caller's setting
                               (the caller's own setting is never changed) */
    int fold_bn;            /* inference: batch norm folded into the convolution before it,
                               with the residual add and ReLU after it fused in (rounding
                               differs from the unfolded net at ~1e-6 relative) */
    dpf_net_kernels kernels; /* DPF_NET_KERNELS_DENSE (0) unless set */
    const char *widths;     /* NULL: the model's own widths; else "name:width,..." of a slimmed
                               model (dpf_net_widths): the output channels (or features) of each
                               named convolution / linear layer and batch norm (which must equal
                               its input's); layers not named keep the model's width */
} dpf_net_options;

/* Known models: mlp, lenet5, resnet20, resnet32, resnet56, resnet110, wrn-28-2, wrn-28-4,
 * wrn-28-8 (any wrn-28-K), vgg16. Input (c, h, w) and classes follow the data set. Errors name
 * the model and why it does not fit the input. */
dpf_status dpf_net_create_with(dpf_net **out, const char *model, int c, int h, int w,
                               int classes, const dpf_net_options *opt);
/* The same for training with the defaults: max_batch, DPF_CONV_AUTO, the caller's threads. */
dpf_status dpf_net_create(dpf_net **out, const char *model, int c, int h, int w, int classes,
                          int max_batch);
void dpf_net_free(dpf_net *net);
int dpf_model_known(const char *model);
const char *dpf_model_list(void);   /* "mlp, lenet5, ..." for help texts */

dpf_conv_algo dpf_net_conv_algo(const dpf_net *net);
int dpf_net_threads(const dpf_net *net);
int dpf_net_is_inference(const dpf_net *net);
size_t dpf_net_memory(const dpf_net *net);   /* bytes planned for activations, weights, ... */
/* Which passes of the net's first convolution with (c_in, c_out) channels, stride 1, run as
 * Winograd at batch n: bits as forward 1, backward-data 2, backward-weights 4; -1 if there is
 * none (for tests and `dpf bench`). */
int dpf_net_conv_winograd(dpf_net *net, int c_in, int c_out, int n);

/* PyTorch reference initialisation: conv Kaiming normal (fan_out, relu), linear PyTorch default
 * (uniform ±1/sqrt(fan_in) for weight and bias), conv bias 0, BN weight 1 / bias 0, running
 * mean 0 / var 1, counters 0. Deterministic in seed. */
void dpf_net_init(dpf_net *net, uint64_t seed);

const char *dpf_net_model(const dpf_net *net);
void dpf_net_input_shape(const dpf_net *net, int *c, int *h, int *w, int *classes);
int dpf_net_max_batch(const dpf_net *net);

int dpf_net_param_count(const dpf_net *net);
const dpf_param_info *dpf_net_param(const dpf_net *net, int i);
size_t dpf_net_size(const dpf_net *net);            /* elements of the flat parameter buffers */
/* The weights. The kernels keep them prepared (packed for their layout): asking for a writable
 * pointer, as below, counts as changing them, and they are prepared again, once, by the next
 * forward or backward. Write only through a pointer asked for since the last forward, or call
 * dpf_net_weights_changed after writing. */
dpf_real *dpf_net_weights(dpf_net *net);            /* dense w */
dpf_real *dpf_net_grads(dpf_net *net);              /* dL/dw~ after backward; NULL: inference */
dpf_real *dpf_net_forward_weights(dpf_net *net);    /* w~ (== w unless enabled below) */
void dpf_net_weights_changed(dpf_net *net);
/* on = 1: forward/backward read a separate buffer w~ (allocated now, initialised to w) that the
 * caller fills; on = 0: they read w directly. */
dpf_status dpf_net_use_forward_weights(dpf_net *net, int on);
/* mask (dpf_net_size() bytes, over the flat parameters; NULL: none): backward may compute the
 * gradient of a convolution's weights only where mask is nonzero, leaving 0 elsewhere, when its
 * kernel policy and the calibrated rule say that is faster (a method that discards the
 * gradient of its pruned weights says so). Read at every pass; the caller keeps it alive. */
void dpf_net_set_grad_mask(dpf_net *net, const uint8_t *mask);

int dpf_net_buffer_count(const dpf_net *net);
const dpf_buffer_info *dpf_net_buffer(const dpf_net *net, int i);
dpf_real *dpf_net_buffers(dpf_net *net);            /* BN running means and variances */
size_t dpf_net_buffers_size(const dpf_net *net);
/* Exchanges the net's running statistics with those in other (dpf_net_buffers_size values). */
void dpf_net_swap_buffers(dpf_net *net, dpf_real *other);
int64_t dpf_net_batches_tracked(const dpf_net *net);
void dpf_net_set_batches_tracked(dpf_net *net, int64_t n);

/* Forward pass on x (batch, C, H, W); train = 1 uses batch statistics and updates running stats
 * (not in an inference plan). 1 <= batch <= max_batch. */
void dpf_net_forward(dpf_net *net, const dpf_real *x, int batch, int train);
const dpf_real *dpf_net_logits(const dpf_net *net);  /* (batch, classes) of the last forward */
/* Mean softmax cross-entropy of the last forward against labels (each in [0, classes)); also
 * stores what backward needs. *correct (may be NULL) gets the number of argmax hits. */
double dpf_net_loss(dpf_net *net, const int32_t *labels, int *correct);
/* Gradients of the last loss w.r.t. the forward weights, written (not accumulated) into g.
 * Does nothing in an inference plan (error recorded). */
void dpf_net_backward(dpf_net *net);

/* Channel groups (groups.c), derived from the graph: channels that must be removed together.
 * A group is one channel space: the output of the convolutions / linear layers that feed it
 * (several where a residual add sums them: the stem, each block's last convolution and the
 * projection of one ResNet stage), the batch norms on it, and the input channels of the layers
 * that read it (through ReLU, pooling, flatten). Channel c of a group is, in each slice below,
 * the elements offset + o * outer_stride + c * chan_stride + [0, len) for o in [0, outer), where
 * offset is the param's (dpf_param_info) or the buffer's (dpf_buffer_info). */
typedef enum dpf_slice_role {
    DPF_SLICE_FILTER,       /* a producer's output filter (conv) or row (linear) */
    DPF_SLICE_INPUT,        /* a reader's input channel (conv) or columns (linear) */
    DPF_SLICE_CHANNEL,      /* a producer's bias, a batch norm's weight or bias */
    DPF_SLICE_BUFFER        /* a batch norm's running mean or variance (index: buffer) */
} dpf_slice_role;

typedef struct dpf_group_slice {
    dpf_slice_role role;
    int index;              /* param index, or buffer index for DPF_SLICE_BUFFER */
    int64_t outer, outer_stride, chan_stride, len;
} dpf_group_slice;

typedef struct dpf_channel_group {
    char name[96];          /* the first producer's layer name, e.g. "layer1.0.conv2" */
    int channels;
    int prunable;           /* every producer's weight is prunable: not the input's channels,
                               not the classifier's outputs */
    int n_slices;
    dpf_group_slice *slices; /* producers' filters first */
} dpf_channel_group;

int dpf_net_group_count(const dpf_net *net);
const dpf_channel_group *dpf_net_group(const dpf_net *net, int i);
/* The widths of a net built with dpf_net_options.widths ("name:width,..." of every convolution,
 * linear layer and batch norm, in node order); "" for a net of the model's own widths. */
const char *dpf_net_widths(const dpf_net *net);

/* Structured slimming (slim.c): *out is net's model with narrower layers (opt's plan; its
 * widths are ignored) computing what net's forward weights compute: each channel of a prunable
 * group whose filters are all zero, and whose input channel in every convolution reading it is
 * zero too, is removed; the constant such a channel carries (its batch norm's output for a zero
 * input) is folded into the bias of the linear layers that read it. A group left with no channel
 * keeps one of zeros (a block then computes its shortcut plus its batch norm's constant). */
typedef struct dpf_slim_report {
    int64_t channels_total;     /* of the prunable groups */
    int64_t channels_removed;
    int groups_emptied;         /* prunable groups every channel of which was pruned */
    char first_emptied[96];     /* the first of them */
} dpf_slim_report;
dpf_status dpf_net_slim(dpf_net *net, const dpf_net_options *opt, dpf_net **out,
                        dpf_slim_report *rep);

/* Multiply-accumulates of one forward pass per image over conv and linear weights: dense, and
 * counting only nonzero forward weights (for a sparse model). */
int64_t dpf_net_macs_dense(const dpf_net *net);
int64_t dpf_net_macs_nonzero(dpf_net *net);

/* Per-layer timing (for `dpf bench`): while on, every forward / backward adds each layer's wall
 * time to its row; turning it on clears the rows. Layers are the nodes that do work, in order. */
typedef struct dpf_layer_time {
    char name[80];          /* "conv layer1.0.conv1 16->16 3x3/1", "bn+relu layer1.0.bn1", ... */
    double forward_s, backward_s;
    int64_t forwards, backwards;
    char kernel[8];         /* conv / linear: "dense" or "sparse" at the last forward's batch */
    char bwd_kernel[8];     /* conv of a training net: backward-data's, the same way ("none"
                               for the first layer, whose input gets no gradient); else "" */
    char wgrad_kernel[8];   /* conv of a training net: the weight gradient's ("sparse": at the
                               grad mask's positions only, dpf_net_set_grad_mask); else "" */
    double density;         /* conv / linear: share of nonzero weights as prepared; else 1 */
} dpf_layer_time;
void dpf_net_set_profiling(dpf_net *net, int on);
int dpf_net_profile_count(const dpf_net *net);
void dpf_net_profile_row(const dpf_net *net, int i, dpf_layer_time *out);
/* Which passes of profile row i run sparse kernels at batch n (n <= 0: the last forward's; as
 * the weights were last prepared): bit 0 the forward, bit 1 backward-data, bit 2 the weight
 * gradient; 0 for layers without kernels to choose. */
int dpf_net_layer_sparse(const dpf_net *net, int i, int n);

#endif
