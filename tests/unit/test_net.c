/* test_net.c — network structure: parameter counts of the paper's models, PyTorch names,
 * which tensors are prunable, MACs, the forward-weights switch, models that do not fit, the
 * plan of fused nodes and shared gradient memory, the inference-only plan, and the backend
 * context each net owns (its algorithm policy and threads; weights prepared once). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "dpf/net.h"
#include "nn/net_internal.h"

static int64_t count_params(const dpf_net *net)
{
    int64_t n = 0;
    for (int p = 0; p < dpf_net_param_count(net); p++)
        n += (int64_t)dpf_net_param(net, p)->count;
    return n;
}

static const dpf_param_info *find(const dpf_net *net, const char *name)
{
    for (int p = 0; p < dpf_net_param_count(net); p++)
        if (strcmp(dpf_net_param(net, p)->name, name) == 0)
            return dpf_net_param(net, p);
    return NULL;
}

static void test_param_counts(void **state)
{
    (void)state;
    struct { const char *model; int c, h, w; int64_t params; } cases[] = {
        {"mlp", 1, 28, 28, 266610},     /* 784*300+300 + 300*100+100 + 100*10+10 */
        {"lenet5", 1, 28, 28, 431080},  /* the 431k of the pruning literature */
        {"resnet20", 3, 32, 32, 272474}, /* 0.27M with 1x1 projection shortcuts */
        {"resnet32", 3, 32, 32, 466906},
        {"wrn-28-2", 3, 32, 32, 1467610},
        {"vgg16", 3, 32, 32, 14728266},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dpf_net *net;
        assert_int_equal(dpf_net_create(&net, cases[i].model, cases[i].c, cases[i].h, cases[i].w,
                                        10, 2), DPF_OK);
        print_message("%s: %lld parameters\n", cases[i].model, (long long)count_params(net));
        assert_int_equal(count_params(net), cases[i].params);
        dpf_net_free(net);
    }
}

static void test_names_and_prunable(void **state)
{
    (void)state;
    dpf_net *net;
    assert_int_equal(dpf_net_create(&net, "resnet20", 3, 32, 32, 10, 2), DPF_OK);
    const dpf_param_info *p = find(net, "layer2.0.downsample.0.weight");
    assert_non_null(p);
    assert_int_equal(p->shape[0], 32);
    assert_int_equal(p->shape[1], 16);
    assert_true(p->prunable);
    assert_true(find(net, "conv1.weight")->prunable);
    assert_false(find(net, "fc.weight")->prunable);  /* the final classifier stays dense */
    assert_false(find(net, "fc.bias")->prunable);
    assert_false(find(net, "layer1.0.bn1.weight")->prunable);
    assert_non_null(find(net, "layer3.2.conv2.weight"));
    int seen_counter = 0;
    for (int b = 0; b < dpf_net_buffer_count(net); b++)
        seen_counter += strcmp(dpf_net_buffer(net, b)->name, "bn1.num_batches_tracked") == 0;
    assert_int_equal(seen_counter, 1);
    /* dense MACs of resnet20 on CIFAR: about 41M */
    int64_t macs = dpf_net_macs_dense(net);
    assert_true(macs > 40000000 && macs < 42000000);
    dpf_net_free(net);

    assert_int_equal(dpf_net_create(&net, "mlp", 1, 28, 28, 10, 2), DPF_OK);
    assert_true(find(net, "fc1.weight")->prunable);
    assert_true(find(net, "fc2.weight")->prunable);
    assert_false(find(net, "fc3.weight")->prunable);
    dpf_net_free(net);

    assert_int_equal(dpf_net_create(&net, "wrn-28-2", 3, 32, 32, 10, 2), DPF_OK);
    assert_non_null(find(net, "block2.layer.0.convShortcut.weight"));
    assert_null(find(net, "block1.layer.1.convShortcut.weight"));
    assert_non_null(find(net, "bn1.weight"));
    dpf_net_free(net);

    assert_int_equal(dpf_net_create(&net, "vgg16", 1, 28, 28, 10, 2), DPF_OK);
    assert_non_null(find(net, "features.40.weight")); /* last conv keeps its torchvision index */
    assert_int_equal(find(net, "classifier.weight")->shape[1], 512);
    dpf_net_free(net);
}

static void test_does_not_fit(void **state)
{
    (void)state;
    dpf_net *net = (dpf_net *)1;
    assert_int_equal(dpf_net_create(&net, "lenet5", 1, 8, 8, 10, 2), DPF_ERR_ARG);
    assert_null(net);
    assert_non_null(strstr(dpf_last_error(), "does not fit"));
    assert_int_equal(dpf_net_create(&net, "resnet21", 3, 32, 32, 10, 2), DPF_ERR_ARG);
    assert_non_null(strstr(dpf_last_error(), "unknown model"));
    assert_int_equal(dpf_net_create(&net, "wrn-27-2", 3, 32, 32, 10, 2), DPF_ERR_ARG);
}

static void test_forward_weights(void **state)
{
    (void)state;
    dpf_net *net;
    assert_int_equal(dpf_net_create(&net, "mlp", 1, 4, 4, 10, 2), DPF_OK);
    assert_ptr_equal(dpf_net_forward_weights(net), dpf_net_weights(net));
    assert_int_equal(dpf_net_use_forward_weights(net, 1), DPF_OK);
    assert_ptr_not_equal(dpf_net_forward_weights(net), dpf_net_weights(net));
    assert_memory_equal(dpf_net_forward_weights(net), dpf_net_weights(net),
                        dpf_net_size(net) * sizeof(dpf_real));
    /* zeroing a forward weight changes the output but not the dense weight */
    float x[32] = {0};
    for (int i = 0; i < 32; i++)
        x[i] = (float)i / 32;
    dpf_net_forward(net, x, 2, 0);
    float before = dpf_net_logits(net)[0];
    const dpf_param_info *fc1 = dpf_net_param(net, 0);
    for (size_t i = 0; i < fc1->count; i++)
        dpf_net_forward_weights(net)[fc1->offset + i] = 0;
    dpf_net_forward(net, x, 2, 0);
    assert_true(dpf_net_logits(net)[0] != before);
    assert_true(dpf_net_weights(net)[fc1->offset] != 0);
    assert_true(dpf_net_macs_nonzero(net) < dpf_net_macs_dense(net));
    dpf_net_free(net);
}

/* Gradient memory: two nodes share a slot only if their gradients are never live at once in
 * backward (from the highest-indexed reader, or the loss, down to the node itself), every
 * working node has one, and ResNet-20 needs far fewer slots than nodes. The residual adds are
 * fused into the batch norms before them. */
static void test_gradient_slots(void **state)
{
    (void)state;
    dpf_net *net = NULL;
    assert_int_equal(dpf_net_create(&net, "resnet20", 3, 32, 32, 10, 4), DPF_OK);
    const int n = net->n_nodes;
    int hi[512], working = 0, adds = 0, fused = 0;
    assert_true(n <= 512);
    for (int i = 0; i < n; i++)
        hi[i] = -1;
    for (int j = 1; j < n; j++)
        for (int k = 0; k < 2; k++)
            if (net->nodes[j].in[k] > 0 && hi[dpf_node_owner(net, net->nodes[j].in[k])] < j)
                hi[dpf_node_owner(net, net->nodes[j].in[k])] = j;
    hi[dpf_node_owner(net, n - 1)] = n;
    for (int i = 1; i < n; i++) {
        const dpf_node *a = &net->nodes[i];
        adds += a->op == DPF_OP_ADD;
        fused += a->op == DPF_OP_BN && a->in[1] >= 0;
        assert_ptr_equal(a->dy, net->nodes[dpf_node_owner(net, i)].dy);
        if (a->alias >= 0)
            continue;
        working++;
        assert_true(a->dy_slot >= 0 && a->dy_slot < net->n_grad_slots);
        assert_true(hi[i] >= i);
        for (int j = i + 1; j < n; j++) {
            const dpf_node *b = &net->nodes[j];
            if (b->alias < 0 && b->dy_slot == a->dy_slot)
                assert_true(hi[i] < j); /* a's gradient is done before b's is written */
        }
    }
    assert_int_equal(adds, 9);
    assert_int_equal(fused, 9);
    assert_true(net->n_grad_slots * 4 <= working);
    dpf_net_free(net);
}

static float *random_input(int n, uint64_t seed)
{
    float *x = malloc((size_t)n * sizeof *x);
    assert_non_null(x);
    uint64_t s = seed;
    for (int i = 0; i < n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (float)((double)(s >> 11) / 9007199254740992.0 * 2 - 1);
    }
    return x;
}

/* Two nets with different algorithm policies (and thread counts) in one process: each runs its
 * own, whatever the other was built with or ran last, and the caller's thread count is never
 * changed. The same net built alone gives the same logits, bit for bit. */
static void test_two_contexts(void **state)
{
    (void)state;
    const int batch = 32, nx = batch * 3 * 32 * 32;
    dpf_net_options auto_o = {.max_batch = batch, .threads = 1};
    dpf_net_options direct_o = {.max_batch = batch, .conv_algo = DPF_CONV_DIRECT};
    dpf_net *a = NULL, *d = NULL, *d_alone = NULL;
    assert_int_equal(dpf_net_create_with(&a, "resnet20", 3, 32, 32, 10, &auto_o), DPF_OK);
    assert_int_equal(dpf_net_create_with(&d, "resnet20", 3, 32, 32, 10, &direct_o), DPF_OK);
    assert_int_equal(dpf_net_conv_algo(a), DPF_CONV_AUTO);
    assert_int_equal(dpf_net_conv_algo(d), DPF_CONV_DIRECT);
    assert_int_equal(dpf_net_threads(a), 1);
    /* stage 2 at 16x16: 512 output tiles in the batch, so "auto" runs Winograd */
    assert_int_equal(dpf_net_conv_winograd(a, 32, 32, batch), 7);
    assert_int_equal(dpf_net_conv_winograd(d, 32, 32, batch), 0);
    float *x = random_input(nx, 7);
    const int caller = omp_get_max_threads();
    dpf_net_forward(a, x, batch, 0);
    assert_int_equal(omp_get_max_threads(), caller);
    dpf_net_forward(d, x, batch, 0);
    float *ld = malloc(batch * 10 * sizeof *ld);
    memcpy(ld, dpf_net_logits(d), batch * 10 * sizeof *ld);
    assert_int_equal(dpf_net_conv_winograd(a, 32, 32, batch), 7);
    dpf_net_free(a);
    assert_int_equal(dpf_net_create_with(&d_alone, "resnet20", 3, 32, 32, 10, &direct_o),
                     DPF_OK);
    dpf_net_forward(d_alone, x, batch, 0);
    assert_memory_equal(dpf_net_logits(d_alone), ld, batch * 10 * sizeof *ld);
    assert_int_equal(dpf_net_conv_winograd(d_alone, 32, 32, batch), 0);
    dpf_net_free(d), dpf_net_free(d_alone);
    free(x), free(ld);
}

/* An inference plan: no gradients or training scratch, activations sharing memory by liveness
 * (much less memory than the training plan), the same logits as the training net's evaluation,
 * and training calls refused with an error instead of running. Its convolutions pack their
 * weights once however many batches run, and again after the weights are asked for. */
static void test_inference_plan(void **state)
{
    (void)state;
    const char *models[] = {"resnet20", "lenet5", "vgg16", "mlp"};
    for (int m = 0; m < 4; m++) {
        const int batch = 16, c = m == 0 ? 3 : 1, side = m == 0 ? 32 : 28;
        const int nx = batch * c * side * side;
        dpf_net_options io = {.max_batch = batch, .inference = 1};
        dpf_net *tr = NULL, *inf = NULL;
        assert_int_equal(dpf_net_create(&tr, models[m], c, side, side, 10, batch), DPF_OK);
        assert_int_equal(dpf_net_create_with(&inf, models[m], c, side, side, 10, &io), DPF_OK);
        assert_true(dpf_net_is_inference(inf));
        assert_null(dpf_net_grads(inf));
        assert_true(dpf_net_memory(inf) * 2 < dpf_net_memory(tr));
        dpf_net_init(tr, 3);
        dpf_net_init(inf, 3);
        float *x = random_input(nx, 11 + (uint64_t)m);
        for (int rep = 0; rep < 2; rep++) { /* twice: buffers reused, same result */
            dpf_net_forward(tr, x, batch, 0);
            dpf_net_forward(inf, x, batch, 0);
            assert_memory_equal(dpf_net_logits(inf), dpf_net_logits(tr), batch * 10 * sizeof(float));
        }
        dpf_net_forward(inf, x, batch - 3, 0); /* a smaller batch */
        dpf_net_forward(tr, x, batch - 3, 0);
        assert_memory_equal(dpf_net_logits(inf), dpf_net_logits(tr),
                            (batch - 3) * 10 * sizeof(float));
        int64_t packs = 0, convs = 0;
        for (int i = 0; i < inf->n_nodes; i++)
            if (inf->nodes[i].cv)
                packs += dpf_k_conv2d_packs(inf->nodes[i].cv), convs++;
        assert_true(packs <= 2 * convs); /* per layout, not per batch */
        dpf_net_forward(inf, x, batch, 0);
        int64_t again = 0;
        for (int i = 0; i < inf->n_nodes; i++)
            if (inf->nodes[i].cv)
                again += dpf_k_conv2d_packs(inf->nodes[i].cv);
        assert_int_equal(again, packs);
        dpf_net_weights(inf)[0] += 1; /* asked for: prepared again */
        dpf_net_forward(inf, x, batch, 0);
        int64_t after = 0;
        for (int i = 0; i < inf->n_nodes; i++)
            if (inf->nodes[i].cv)
                after += dpf_k_conv2d_packs(inf->nodes[i].cv);
        assert_true(convs == 0 || after > again);
        dpf_clear_error();
        dpf_net_forward(inf, x, batch, 1);
        assert_true(strstr(dpf_last_error(), "planned for inference") != NULL);
        dpf_clear_error();
        dpf_net_backward(inf);
        assert_true(strstr(dpf_last_error(), "planned for inference") != NULL);
        dpf_net_free(tr), dpf_net_free(inf);
        free(x);
    }
}

static double rel_diff(const float *a, const float *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++)
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]), den += (double)b[i] * b[i];
    return sqrt(num / (den > 0 ? den : 1));
}

/* Batch norm folded into the convolutions (with the residual add and ReLU fused), the
 * convolutions on dense, sparse or rule-chosen kernels: the logits equal the training net's
 * evaluation of the same weights to 1e-5 relative, for every model, with batch-norm statistics
 * far from the identity and 95% of the prunable weights zero (plus one whole filter). */
static void test_folded_sparse_inference(void **state)
{
    (void)state;
    const struct { const char *model; int c, side; } cases[] = {
        {"resnet20", 3, 32}, {"resnet20", 1, 28}, {"wrn-10-1", 3, 16}, {"vgg16", 3, 32},
        {"lenet5", 1, 28}, {"mlp", 1, 28}};
    for (size_t m = 0; m < sizeof cases / sizeof cases[0]; m++) {
        const int batch = 6, nx = batch * cases[m].c * cases[m].side * cases[m].side;
        dpf_net *tr = NULL;
        assert_int_equal(dpf_net_create(&tr, cases[m].model, cases[m].c, cases[m].side,
                                        cases[m].side, 10, batch), DPF_OK);
        dpf_net_init(tr, 5);
        float *noise = random_input((int)dpf_net_size(tr) + (int)dpf_net_buffers_size(tr), 9);
        dpf_real *w = dpf_net_weights(tr), *buf = dpf_net_buffers(tr);
        for (int p = 0; p < dpf_net_param_count(tr); p++) {
            const dpf_param_info *pi = dpf_net_param(tr, p);
            for (size_t i = 0; i < pi->count; i++) {
                const float r = noise[pi->offset + i];
                if (pi->prunable && (fabsf(r) < 0.95f || i < pi->count / pi->filters))
                    w[pi->offset + i] = 0; /* 95% zeros, and filter 0 empty */
                else if (pi->kind == DPF_PARAM_BN_WEIGHT || pi->kind == DPF_PARAM_BN_BIAS)
                    w[pi->offset + i] = (pi->kind == DPF_PARAM_BN_WEIGHT) + 0.5f * r;
            }
        }
        for (int b = 0; b < dpf_net_buffer_count(tr); b++) {
            const dpf_buffer_info *bi = dpf_net_buffer(tr, b);
            for (size_t i = 0; i < bi->count && !bi->is_counter; i++) {
                const float r = noise[dpf_net_size(tr) + bi->offset + i];
                buf[bi->offset + i] = strstr(bi->name, "var") ? 0.5f + r * r : 0.3f * r;
            }
        }
        float *x = random_input(nx, 21 + (uint64_t)m);
        dpf_net_forward(tr, x, batch, 0);
        for (int k = DPF_NET_KERNELS_DENSE; k <= DPF_NET_KERNELS_SPARSE; k++) {
            dpf_net_options o = {.max_batch = batch, .inference = 1, .fold_bn = 1,
                                 .kernels = (dpf_net_kernels)k};
            dpf_net *inf = NULL;
            assert_int_equal(dpf_net_create_with(&inf, cases[m].model, cases[m].c,
                                                 cases[m].side, cases[m].side, 10, &o), DPF_OK);
            memcpy(dpf_net_weights(inf), w, dpf_net_size(tr) * sizeof(dpf_real));
            memcpy(dpf_net_buffers(inf), buf, dpf_net_buffers_size(tr) * sizeof(dpf_real));
            for (int n = batch; n >= 1; n -= batch - 1) { /* the whole batch, then one image */
                dpf_net_forward(inf, x, n, 0);
                dpf_net_forward(tr, x, n, 0);
                const double e = rel_diff(dpf_net_logits(inf), dpf_net_logits(tr), (size_t)n * 10);
                if (!(e <= 1e-5))
                    fail_msg("%s %dx%d kernels %d batch %d: logits differ by %g", cases[m].model,
                             cases[m].side, cases[m].side, k, n, e);
            }
            int folded = 0, sparse = 0, convs = 0;
            for (int i = 0; i < inf->n_nodes; i++) {
                if (inf->nodes[i].lin && k == DPF_NET_KERNELS_SPARSE)
                    assert_int_equal(dpf_k_linear_layer_kind(inf->nodes[i].lin, 1),
                                     DPF_WEIGHTS_SPARSE);
                if (inf->nodes[i].cv) {
                    convs++;
                    folded += inf->nodes[i].fold >= 0;
                    sparse += dpf_k_conv2d_kind(inf->nodes[i].cv, 1) == DPF_WEIGHTS_SPARSE;
                }
            }
            /* every conv of ResNet and VGG has its batch norm next; WRN's pre-activation blocks
               only inside (conv1 -> bn2); LeNet-5 and the MLP have none */
            if (strstr(cases[m].model, "resnet") || strstr(cases[m].model, "vgg"))
                assert_int_equal(folded, convs);
            else if (strstr(cases[m].model, "wrn"))
                assert_int_equal(folded, 3);
            else
                assert_int_equal(folded, 0);
            assert_int_equal(sparse, k == DPF_NET_KERNELS_SPARSE ? convs : k ? sparse : 0);
            dpf_net_free(inf);
        }
        dpf_net_free(tr);
        free(noise), free(x);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_param_counts), cmocka_unit_test(test_names_and_prunable),
        cmocka_unit_test(test_does_not_fit), cmocka_unit_test(test_forward_weights),
        cmocka_unit_test(test_gradient_slots), cmocka_unit_test(test_two_contexts),
        cmocka_unit_test(test_inference_plan), cmocka_unit_test(test_folded_sparse_inference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
