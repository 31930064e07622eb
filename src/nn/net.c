/* net.c — build a named model, plan all its memory once (one arena), and run forward, loss and
 * backward over the node list. Nothing here knows which pruning method runs: it only reads the
 * forward weights w~ and writes gradients. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "dpf/rng.h"
#include "nn/net_internal.h"


const char *dpf_model_list(void)
{
    return "mlp, lenet5, resnet20, resnet32, resnet56, resnet110, wrn-28-2, wrn-28-4, wrn-28-8, "
           "vgg16";
}

/* Parses "wrn-D-K" (D = 6n+4, K >= 1); returns 0 on success. */
static int parse_wrn(const char *model, int *depth, int *width)
{
    char tail;
    if (sscanf(model, "wrn-%d-%d%c", depth, width, &tail) != 2)
        return -1;
    return (*depth >= 10 && (*depth - 4) % 6 == 0 && *width >= 1 && *width <= 16) ? 0 : -1;
}

int dpf_model_known(const char *model)
{
    int d, k;
    static const char *const fixed[] = {"mlp",      "lenet5",    "resnet20", "resnet32",
                                        "resnet56", "resnet110", "vgg16"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (strcmp(model, fixed[i]) == 0)
            return 1;
    return parse_wrn(model, &d, &k) == 0;
}

static dpf_status build_model(dpf_net *net, const char *model)
{
    int depth, width;
    if (strcmp(model, "mlp") == 0)
        return dpf_model_build_mlp(net);
    if (strcmp(model, "lenet5") == 0)
        return dpf_model_build_lenet5(net);
    if (strcmp(model, "vgg16") == 0)
        return dpf_model_build_vgg16(net);
    if (sscanf(model, "resnet%d", &depth) == 1 && dpf_model_known(model))
        return dpf_model_build_resnet(net, depth);
    if (parse_wrn(model, &depth, &width) == 0)
        return dpf_model_build_wrn(net, depth, width);
    return dpf_error(DPF_ERR_ARG, "unknown model '%s' (known: %s)", model, dpf_model_list());
}

/* The final classifier (the last linear layer) stays dense; every other conv/linear weight is
 * prunable (paper §5.1). Biases and batch norm are never prunable. */
static void mark_prunable(dpf_net *net)
{
    int last_linear = -1;
    for (int i = 0; i < net->n_nodes; i++)
        if (net->nodes[i].op == DPF_OP_LINEAR)
            last_linear = net->nodes[i].param_w;
    for (int p = 0; p < net->n_params; p++) {
        dpf_param_kind k = net->params[p].kind;
        net->params[p].prunable =
            (k == DPF_PARAM_CONV_WEIGHT || k == DPF_PARAM_LINEAR_WEIGHT) && p != last_linear;
    }
}

/* Carves aligned pieces out of one arena; with base == NULL it only measures. */
typedef struct arena {
    char *base;
    size_t used;
} arena;

static void *carve(arena *a, size_t bytes)
{
    size_t at = a->used;
    a->used += (bytes + 63) & ~(size_t)63;
    return a->base ? a->base + at : NULL;
}

/* Does node `in` need its own buffer to hold its activation in the net's layout? Only where
 * NCHW and the activation layout differ: more than one channel and more than one pixel. */
static int layouts_differ(const dpf_node *in)
{
#ifdef DPF_ACT_BLOCKED
    return in->c > 1 && in->h * in->w > 1;
#else
    (void)in;
    return 0;
#endif
}

/* Inference: a batch norm whose input is a convolution read by nothing else is folded into it
 * (w' = w * g / sqrt(v + eps), b' = (b - m) * g / sqrt(v + eps) + beta, computed when the
 * weights are handed to the kernels); the convolution takes over the batch norm's residual
 * input and ReLU, and the batch norm becomes an alias of it. */
static void fold_bn(dpf_net *net, int i, const int *readers)
{
    dpf_node *bn = &net->nodes[i];
    if (bn->op != DPF_OP_BN || bn->alias >= 0 || bn->in[0] <= 0)
        return;
    dpf_node *conv = &net->nodes[bn->in[0]];
    if (conv->op != DPF_OP_CONV || conv->alias >= 0 || readers[bn->in[0]] != 1 ||
        (bn->in[1] >= 0 && bn->in[1] >= bn->in[0]))
        return;
    conv->fold = i;
    conv->in[1] = bn->in[1];
    conv->relu = bn->relu;
    bn->alias = bn->in[0];
}

/* Decides which nodes share their input's buffers: a flatten whose data need not move, a
 * residual add fused into a batch norm whose only reader it is (the batch norm takes the add's
 * other input, computed before it, as its second: y = bn(x) + skip, a pass fewer each way), and
 * a ReLU fused into the batch norm or residual add before it when nothing else reads that (in an
 * inference net also into a convolution: its kernel's epilogue, LeNet-5 and VGG without BN). */
static void fuse(dpf_net *net)
{
    int *readers = net->n_nodes > 0 ? calloc((size_t)net->n_nodes, sizeof(int)) : NULL;
    for (int i = 0; i < net->n_nodes; i++) {
        net->nodes[i].alias = -1;
        net->nodes[i].fold = -1;
        for (int k = 0; k < 2 && readers; k++)
            if (net->nodes[i].in[k] >= 0)
                readers[net->nodes[i].in[k]]++;
    }
    for (int i = 0; i < net->n_nodes; i++) {
        dpf_node *nd = &net->nodes[i];
        dpf_node *in = nd->in[0] >= 0 ? &net->nodes[nd->in[0]] : NULL;
        if (nd->op == DPF_OP_FLATTEN && !layouts_differ(in))
            nd->alias = nd->in[0];
        for (int k = 0; k < 2 && nd->op == DPF_OP_ADD && readers && nd->alias < 0; k++) {
            dpf_node *bn = &net->nodes[nd->in[k]];
            if (bn->op == DPF_OP_BN && bn->alias < 0 && bn->in[1] < 0 && !bn->relu &&
                readers[nd->in[k]] == 1 && nd->in[1 - k] < nd->in[k]) {
                bn->in[1] = nd->in[1 - k];
                nd->alias = nd->in[k];
            }
        }
        dpf_node *into = in && in->alias >= 0 ? &net->nodes[in->alias] : in; /* fused add: BN */
        if (nd->op == DPF_OP_RELU && readers && readers[nd->in[0]] == 1 &&
            (in->op == DPF_OP_BN || in->op == DPF_OP_ADD ||
             (net->inference && in->op == DPF_OP_CONV)) && into->alias < 0 && !into->relu) {
            into->relu = 1;
            nd->alias = (int)(into - net->nodes);
        }
    }
    for (int i = 0; i < net->n_nodes && readers && net->fold_bn; i++)
        fold_bn(net, i, readers);
    free(readers);
}

/* Float build: where the net's input has a few channels (2..15, or 1 read by convolutions with
 * blocked outputs) and only convolutions with a multiple of 16 outputs read it, they read it in
 * NCHW (oneDNN's first-layer kernels) and the input needs no layout change. */
static void plan_input(dpf_net *net)
{
#ifdef DPF_ACT_BLOCKED
    const dpf_node *in = &net->nodes[0];
    if (in->c >= 16 || in->h * in->w == 1)
        return;
    int readers = 0;
    for (int i = 1; i < net->n_nodes; i++)
        for (int k = 0; k < 2; k++)
            if (net->nodes[i].in[k] == 0) {
                const int outs = net->nodes[i].conv.k;
                /* one channel: NCHW is the same memory; needed only where the output is
                 * blocked (VGG's 1->64: oneDNN has no fast channels-last -> blocked kernel) */
                if (net->nodes[i].op != DPF_OP_CONV || outs % 16 != 0 || (in->c == 1 && outs <= 16))
                    return;
                readers++;
            }
    for (int i = 1; i < net->n_nodes && readers; i++)
        if (net->nodes[i].in[0] == 0)
            net->nodes[i].conv.src_nchw = 1;
    net->input_nchw = readers > 0;
#else
    (void)net;
#endif
}

/* Memory by liveness: item i needs bytes[i] from lo[i] to hi[i] (closed intervals of node
 * indices; hi < 0: never read, a slot of its own). Greedy in the order of lo (ties: lower i
 * first), each into the smallest free slot that fits, else a new one. Fills slot_of[] and the
 * slot sizes (n entries at most); returns the number of slots. */
static int plan_slots(int n, const int *lo, const int *hi, const size_t *bytes, int *slot_of,
                      size_t *slot_bytes, int *slot_end)
{
    int slots = 0;
    for (int i = 0; i < n; i++)
        slot_of[i] = -1;
    for (;;) {
        int o = -1;
        for (int i = 0; i < n; i++)
            if (bytes[i] && slot_of[i] < 0 && (o < 0 || lo[i] < lo[o]))
                o = i;
        if (o < 0)
            break;
        int best = -1;
        for (int sl = 0; sl < slots && hi[o] >= lo[o]; sl++)
            if (slot_end[sl] < lo[o] && slot_bytes[sl] >= bytes[o] &&
                (best < 0 || slot_bytes[sl] < slot_bytes[best]))
                best = sl;
        if (best < 0) {
            best = slots++;
            slot_bytes[best] = bytes[o];
        }
        slot_end[best] = hi[o] >= lo[o] ? hi[o] : 0x7fffffff;
        slot_of[o] = best;
    }
    return slots;
}

/* The last node to read node o's activation (through aliases), or -1. */
static void last_readers(const dpf_net *net, int *last)
{
    for (int i = 0; i < net->n_nodes; i++)
        last[i] = -1;
    for (int j = 1; j < net->n_nodes; j++)
        for (int k = 0; k < 2; k++)
            if (net->nodes[j].in[k] > 0) { /* node 0, the input, is planned apart */
                const int o = dpf_node_owner(net, net->nodes[j].in[k]);
                last[o] = j > last[o] ? j : last[o];
            }
}

/* Buffers by liveness (plan_slots), for every working node: training plans the gradients (node
 * o's dy is live during backward from the first of its readers to run backward, the highest
 * index, or the loss for the last node, down to o itself), so the gradients of ResNet-20 at
 * batch 128 shrink from one tensor per node to a few per stage, and with them the traffic that
 * misses the caches; an inference plan does the same for the activations (node o's y is live
 * from o to its last reader in forward; the logits to the end), and keeps no gradients. Sets
 * every node's slot (dy_slot) and net->grad_slot_bytes. */
static dpf_status plan_liveness(dpf_net *net)
{
    const int n = net->n_nodes;
    if (n < 1)
        return DPF_OK;
    int *lo = malloc((size_t)n * sizeof(int)), *hi = malloc((size_t)n * sizeof(int));
    int *slot_of = malloc((size_t)n * sizeof(int)), *slot_end = malloc((size_t)n * sizeof(int));
    size_t *bytes = calloc((size_t)n, sizeof(size_t));
    net->grad_slot_bytes = malloc((size_t)n * sizeof(size_t));
    dpf_status st = DPF_OK;
    if (!lo || !hi || !slot_of || !slot_end || !bytes || !net->grad_slot_bytes) {
        st = dpf_error(DPF_ERR_NOMEM, "model %s: out of memory planning its memory", net->model);
        goto done;
    }
    int *last = slot_of; /* borrowed until plan_slots fills it */
    last_readers(net, last);
    last[dpf_node_owner(net, n - 1)] = n; /* the logits, or the gradient written by the loss */
    for (int i = 1; i < n; i++) {
        if (net->nodes[i].alias >= 0)
            continue;
        bytes[i] = (size_t)net->max_batch * net->nodes[i].size * sizeof(dpf_real);
        if (net->inference) /* forward: from the node to its last reader */
            lo[i] = i, hi[i] = last[i];
        else /* backward, mirrored onto increasing lo: from the last reader down to the node */
            lo[i] = -last[i], hi[i] = last[i] < 0 ? last[i] - 1 : -i;
    }
    net->n_grad_slots = plan_slots(n, lo, hi, bytes, slot_of, net->grad_slot_bytes, slot_end);
    for (int i = 0; i < n; i++)
        net->nodes[i].dy_slot = slot_of[i];
done:
    free(lo), free(hi), free(slot_of), free(slot_end), free(bytes);
    return st;
}

static void plan(dpf_net *net, arena *a)
{
    const int train = !net->inference;
    size_t mb = (size_t)net->max_batch, largest = 0;
    net->w = carve(a, net->n_weights * sizeof(dpf_real));
    net->g = train ? carve(a, net->n_weights * sizeof(dpf_real)) : NULL;
    net->buf = carve(a, net->n_buffer_values * sizeof(dpf_real));
    net->workspace = carve(a, net->workspace_size * sizeof(dpf_real));
    net->probs = carve(a, mb * (size_t)net->classes * sizeof(dpf_real));
    net->written = train ? carve(a, (size_t)net->n_nodes) : NULL;
    for (int i = 0; i < net->n_nodes; i++) {
        dpf_node *nd = &net->nodes[i];
        if (nd->op == DPF_OP_INPUT) { /* no gradient; own memory only to change layout */
            net->input_buf = layouts_differ(nd) && !net->input_nchw
                                 ? carve(a, mb * nd->size * sizeof(dpf_real))
                                 : NULL;
            nd->y = nd->dy = NULL;
            continue;
        }
        if (nd->alias >= 0)
            continue;
        largest = nd->size > largest ? nd->size : largest;
        nd->y = train ? carve(a, mb * nd->size * sizeof(dpf_real)) : NULL;
        if (nd->op == DPF_OP_BN && train) {
            nd->save_mean = carve(a, (size_t)nd->c * sizeof(dpf_real));
            nd->save_invstd = carve(a, (size_t)nd->c * sizeof(dpf_real));
        }
        if (nd->op == DPF_OP_MAXPOOL && train)
            nd->argmax = carve(a, mb * nd->size * sizeof(int32_t));
        if (nd->fold >= 0)
            nd->wfold = carve(a, (net->params[nd->param_w].count + (size_t)nd->c) *
                                     sizeof(dpf_real));
    }
    for (int k = 0; k < 2 && train; k++)
        net->scratch[k] = carve(a, mb * largest * sizeof(dpf_real));
    for (int sl = 0; sl < net->n_grad_slots; sl++) { /* gradients, or inference activations */
        dpf_real *at = carve(a, net->grad_slot_bytes[sl]);
        for (int i = 1; i < net->n_nodes; i++) {
            dpf_node *nd = &net->nodes[i];
            if (net->nodes[dpf_node_owner(net, i)].dy_slot != sl)
                continue;
            if (train)
                nd->dy = at;
            else if (nd->alias < 0)
                nd->y = at;
        }
    }
    for (int i = 1; i < net->n_nodes; i++)
        if (net->nodes[i].alias >= 0)
            net->nodes[i].y = net->nodes[net->nodes[i].alias].y;
}

/* The kernel state of every convolution, in the net's context (and of the linear layers of an
 * inference net that may run sparse kernels); the workspace they need. */
static dpf_status create_kernels(dpf_net *net)
{
    for (int i = 0; i < net->n_nodes; i++) {
        dpf_node *nd = &net->nodes[i];
        if (nd->op == DPF_OP_LINEAR && net->kernels != DPF_KERNELS_DENSE && net->inference) {
            dpf_status st = dpf_k_linear_layer_create(&nd->lin, (int)net->nodes[nd->in[0]].size,
                                                      nd->c, net->max_batch, net->kernels);
            if (st != DPF_OK)
                return st;
            size_t need = dpf_k_linear_layer_workspace(nd->lin);
            net->workspace_size = need > net->workspace_size ? need : net->workspace_size;
        }
        if (nd->op != DPF_OP_CONV)
            continue;
        nd->conv.n = net->max_batch;
        const dpf_conv_opts o = {.bias = nd->param_b >= 0 || nd->fold >= 0,
                                 .training = !net->inference, .residual = nd->in[1] >= 0,
                                 .relu = nd->relu, .policy = net->kernels};
        dpf_status st = dpf_k_conv2d_create(&nd->cv, net->kctx, &nd->conv, &o);
        if (st != DPF_OK)
            return st; /* the kernel recorded why */
        size_t need = dpf_k_conv2d_workspace(nd->cv);
        if (need > net->workspace_size)
            net->workspace_size = need;
    }
    return DPF_OK;
}

static dpf_status allocate(dpf_net *net)
{
    plan_input(net);
    static const int winograd_mode[] = {1, 0, 2}; /* by dpf_conv_algo */
    fuse(net);
    dpf_status st = dpf_kctx_create(&net->kctx, winograd_mode[net->conv_algo]);
    if (st == DPF_OK)
        st = create_kernels(net);
    if (st == DPF_OK)
        st = plan_liveness(net);
    if (st != DPF_OK)
        return st;
    arena a = {NULL, 0};
    plan(net, &a);
    net->arena_bytes = a.used;
    a.base = aligned_alloc(64, a.used ? a.used : 64);
    if (!a.base)
        return dpf_error(DPF_ERR_NOMEM, "model %s: cannot allocate %.1f MB for batch %d",
                         net->model, (double)a.used / 1e6, net->max_batch);
    memset(a.base, 0, a.used);
    a.used = 0;
    plan(net, &a);
    net->wf = net->w;
    net->weights_dirty = 1;
    return DPF_OK;
}

static const char *const algo_names[] = {"auto", "direct", "winograd"};

dpf_status dpf_conv_algo_parse(const char *name, dpf_conv_algo *out)
{
    for (int i = 0; i < 3; i++)
        if (name && strcmp(name, algo_names[i]) == 0) {
            *out = (dpf_conv_algo)i;
            return DPF_OK;
        }
    return dpf_error(DPF_ERR_ARG, "unknown convolution algorithm '%s' (known: auto, direct, "
                     "winograd)", name ? name : "(null)");
}

const char *dpf_conv_algo_name(dpf_conv_algo algo)
{
    return algo >= DPF_CONV_AUTO && algo <= DPF_CONV_WINOGRAD ? algo_names[algo] : "?";
}

static const char *const kernels_names[] = {"dense", "auto", "sparse"};

dpf_status dpf_net_kernels_parse(const char *name, dpf_net_kernels *out)
{
    for (int i = 0; i < 3; i++)
        if (name && strcmp(name, kernels_names[i]) == 0) {
            *out = (dpf_net_kernels)i;
            return DPF_OK;
        }
    return dpf_error(DPF_ERR_ARG, "unknown kernel policy '%s' (known: dense, auto, sparse)",
                     name ? name : "(null)");
}

const char *dpf_net_kernels_name(dpf_net_kernels k)
{
    return k >= DPF_NET_KERNELS_DENSE && k <= DPF_NET_KERNELS_SPARSE ? kernels_names[k] : "?";
}

dpf_status dpf_net_create(dpf_net **out, const char *model, int c, int h, int w, int classes,
                          int max_batch)
{
    dpf_net_options o = {.max_batch = max_batch};
    return dpf_net_create_with(out, model, c, h, w, classes, &o);
}

dpf_status dpf_net_create_with(dpf_net **out, const char *model, int c, int h, int w,
                               int classes, const dpf_net_options *opt)
{
    *out = NULL;
    if (!model || !dpf_model_known(model))
        return dpf_error(DPF_ERR_ARG, "unknown model '%s' (known: %s)", model ? model : "(null)",
                         dpf_model_list());
    if (c < 1 || h < 1 || w < 1 || classes < 2 || opt->max_batch < 1 || opt->threads < 0 ||
        opt->conv_algo < DPF_CONV_AUTO || opt->conv_algo > DPF_CONV_WINOGRAD)
        return dpf_error(DPF_ERR_ARG, "model %s: invalid input %dx%dx%d, %d classes, batch %d, "
                         "%d threads", model, c, h, w, classes, opt->max_batch, opt->threads);
    dpf_net *net = calloc(1, sizeof *net);
    if (!net)
        return dpf_error(DPF_ERR_NOMEM, "out of memory");
    snprintf(net->model, sizeof net->model, "%s", model);
    net->in_c = c, net->in_h = h, net->in_w = w;
    net->classes = classes;
    net->max_batch = opt->max_batch;
    net->inference = opt->inference != 0;
    net->conv_algo = opt->conv_algo;
    net->threads = opt->threads;
    net->fold_bn = net->inference && opt->fold_bn;
    static const dpf_kernel_policy policies[] = {DPF_KERNELS_DENSE, DPF_KERNELS_AUTO,
                                                 DPF_KERNELS_SPARSE};
    net->kernels = opt->kernels >= DPF_NET_KERNELS_DENSE && opt->kernels <= DPF_NET_KERNELS_SPARSE
                       ? policies[opt->kernels]
                       : DPF_KERNELS_DENSE;
    const int saved = dpf_threads_enter(net->threads); /* primitives are made for the count */
    dpf_status st = dpf_widths_parse(net, opt->widths);
    if (st == DPF_OK)
        st = build_model(net, model);
    if (st == DPF_OK)
        st = net->build_status;
    if (st == DPF_OK)
        st = dpf_widths_finish(net);
    if (st == DPF_OK) {
        mark_prunable(net);
        st = dpf_groups_build(net); /* from the graph as built, before fusion rewires it */
    }
    if (st == DPF_OK)
        st = allocate(net);
    dpf_threads_leave(saved);
    if (st != DPF_OK) {
        dpf_net_free(net);
        return st;
    }
    dpf_net_init(net, 0);
    *out = net;
    return DPF_OK;
}

void dpf_net_free(dpf_net *net)
{
    if (!net)
        return;
    for (int i = 0; i < net->n_nodes; i++) {
        dpf_k_conv2d_free(net->nodes[i].cv);
        dpf_k_linear_layer_free(net->nodes[i].lin);
    }
    dpf_kctx_free(net->kctx);
    free(net->w); /* the arena starts with w */
    free(net->wf_own);
    free(net->nodes);
    free(net->params);
    free(net->buffers);
    free(net->grad_slot_bytes);
    free(net->wspec);
    free(net->widths);
    dpf_groups_free(net);
    free(net);
}

void dpf_net_init(dpf_net *net, uint64_t seed)
{
    dpf_rng rng;
    dpf_rng_seed(&rng, seed);
    for (int p = 0; p < net->n_params; p++) {
        const dpf_param_info *pi = &net->params[p];
        dpf_real *w = net->w + pi->offset;
        if (pi->kind == DPF_PARAM_CONV_WEIGHT) {
            double fan_out = (double)pi->shape[0] * (double)(pi->shape[2] * pi->shape[3]);
            double std = sqrt(2.0 / fan_out);
            for (size_t i = 0; i < pi->count; i++)
                w[i] = (dpf_real)(std * dpf_rng_normal(&rng));
        } else if (pi->kind == DPF_PARAM_LINEAR_WEIGHT) {
            double bound = 1.0 / sqrt((double)pi->shape[1]);
            for (size_t i = 0; i < pi->count; i++)
                w[i] = (dpf_real)(bound * (2.0 * dpf_rng_uniform(&rng) - 1.0));
            /* the bias that follows uses the same bound (PyTorch's default) */
            if (p + 1 < net->n_params && net->params[p + 1].kind == DPF_PARAM_BIAS &&
                net->params[p + 1].shape[0] == pi->shape[0]) {
                const dpf_param_info *b = &net->params[p + 1];
                for (size_t i = 0; i < b->count; i++)
                    net->w[b->offset + i] = (dpf_real)(bound * (2.0 * dpf_rng_uniform(&rng) - 1.0));
                p++;
            }
        } else {
            dpf_real v = pi->kind == DPF_PARAM_BN_WEIGHT ? 1 : 0;
            for (size_t i = 0; i < pi->count; i++)
                w[i] = v;
        }
    }
    for (int b = 0; b < net->n_buffers; b++) {
        const dpf_buffer_info *bi = &net->buffers[b];
        if (bi->is_counter)
            continue;
        dpf_real v = strstr(bi->name, "running_var") ? 1 : 0;
        for (size_t i = 0; i < bi->count; i++)
            net->buf[bi->offset + i] = v;
    }
    net->batches_tracked = 0;
    net->weights_dirty = 1;
    if (net->wf_own)
        memcpy(net->wf_own, net->w, net->n_weights * sizeof(dpf_real));
}
