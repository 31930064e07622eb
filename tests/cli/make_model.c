/* make_model.c — writes an untrained model file (PyTorch initialisation, seed 1) for
 * tests/cli/test_predict.sh, so dpf predict can be tested on input shapes and data sets that
 * no installed data set trains (3-channel models, unknown data sets).
 * usage: make_model MODEL DATA C H W CLASSES OUT */
#include <dpf/dpf.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: make_model MODEL DATA C H W CLASSES OUT\n");
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
    dpf_status st = dpf_model_save(net, &meta, 0, argv[7]);
    dpf_net_free(net);
    if (st != DPF_OK)
        fprintf(stderr, "make_model: %s\n", dpf_last_error());
    return st != DPF_OK;
}
