/* make_model.c — writes an untrained model file (PyTorch initialisation, seed 1) for
 * tests/cli/test_predict.sh, so dpf predict can be tested on input shapes and data sets that
 * no installed data set trains (3-channel models, unknown data sets). With SPARSITY (for
 * tests/cli/test_onnx*.sh) the model looks trained instead: batch norms get random running
 * statistics, scales and shifts, and that share of every prunable weight is zeroed at random,
 * so a model of any size is ready in a moment with nothing left at an initial value.
 * usage: make_model MODEL DATA C H W CLASSES OUT [SPARSITY] */
#include <dpf/dpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Random BN statistics and parameters, and the prunable weights masked at sparsity s. */
static void look_trained(dpf_net *net, double s)
{
    dpf_rng r;
    dpf_rng_seed(&r, 7);
    float *w = dpf_net_weights(net), *buf = dpf_net_buffers(net);
    for (int p = 0; p < dpf_net_param_count(net); p++) {
        const dpf_param_info *pi = dpf_net_param(net, p);
        for (size_t i = pi->offset; i < pi->offset + pi->count; i++) {
            if (pi->kind == DPF_PARAM_BN_WEIGHT)
                w[i] = (float)(0.5 + dpf_rng_uniform(&r));
            else if (pi->kind == DPF_PARAM_BN_BIAS)
                w[i] = (float)(0.2 * dpf_rng_normal(&r));
            else if (pi->prunable && dpf_rng_uniform(&r) < s)
                w[i] = 0.0f;
        }
    }
    for (int b = 0; b < dpf_net_buffer_count(net); b++) {
        const dpf_buffer_info *bi = dpf_net_buffer(net, b);
        for (size_t i = bi->offset; i < bi->offset + bi->count && !bi->is_counter; i++)
            buf[i] = (float)(strstr(bi->name, "running_mean") ? 0.3 * dpf_rng_normal(&r)
                                                              : 0.5 + dpf_rng_uniform(&r));
    }
}

int main(int argc, char **argv)
{
    if (argc != 8 && argc != 9) {
        fprintf(stderr, "usage: make_model MODEL DATA C H W CLASSES OUT [SPARSITY]\n");
        return 2;
    }
    dpf_model_meta meta = {.c = atoi(argv[3]), .h = atoi(argv[4]), .w = atoi(argv[5]),
                           .classes = atoi(argv[6])};
    snprintf(meta.model, sizeof meta.model, "%s", argv[1]);
    snprintf(meta.data, sizeof meta.data, "%s", argv[2]);
    dpf_dataset_default_norm(argv[2], meta.mean, meta.std);
    dpf_net *net;
    if (dpf_net_create(&net, argv[1], meta.c, meta.h, meta.w, meta.classes, 1) != DPF_OK) {
        fprintf(stderr, "make_model: %s\n", dpf_last_error());
        return 1;
    }
    dpf_net_init(net, 1);
    if (argc == 9) {
        meta.sparsity = atof(argv[8]);
        look_trained(net, meta.sparsity);
    }
    dpf_status st = dpf_model_save(net, &meta, 0, argv[7]);
    dpf_net_free(net);
    if (st != DPF_OK)
        fprintf(stderr, "make_model: %s\n", dpf_last_error());
    return st != DPF_OK;
}
