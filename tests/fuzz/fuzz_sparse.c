/* fuzz_sparse.c — libFuzzer target of the sparse model file reader (src/io/sparse_read.c):
 * dpf_sparse_read (container, metadata, every compressed tensor), densifying each tensor it
 * accepts, and dpf_model_load (the net built from the checked metadata, every tensor loaded) for
 * the small models. DPF_FUZZ_MAKE_SEED=DIR writes the seeds into DIR and exits: a 99%-sparse
 * mlp on 1x1x1 inputs in CSR (csr-mlp) and in bitmap (bitmap-mlp) encoding. */
#include <string.h>

#include "dpf/model_io.h"
#include "dpf/net.h"
#include "dpf/sparse_io.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void make_seeds(const char *dir)
{
    dpf_net *net;
    if (dpf_net_create(&net, "mlp", 1, 1, 1, 10, 1) != DPF_OK)
        exit(1);
    dpf_net_init(net, 1);
    float *w = dpf_net_weights(net);
    for (int p = 0; p < dpf_net_param_count(net); p++) {
        const dpf_param_info *pi = dpf_net_param(net, p);
        for (size_t i = 0; pi->prunable && i < pi->count; i++)
            if ((i * 2654435761u) % 100 != 0)
                w[pi->offset + i] = 0.0f;
    }
    dpf_model_meta m = {.model = "mlp", .data = "fashion-mnist", .c = 1, .h = 1, .w = 1,
                        .classes = 10, .mean = {0.286f}, .std = {0.353f}, .method = "dpf",
                        .sparsity = 0.99};
    char path[512];
    snprintf(path, sizeof path, "%s/csr-mlp", dir);
    dpf_status st = dpf_model_save_sparse(net, &m, DPF_SPARSE_CSR, path);
    snprintf(path, sizeof path, "%s/bitmap-mlp", dir);
    if (st == DPF_OK)
        st = dpf_model_save_sparse(net, &m, DPF_SPARSE_BITMAP, path);
    dpf_net_free(net);
    exit(st == DPF_OK ? 0 : 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *seed = getenv("DPF_FUZZ_MAKE_SEED");
    if (seed)
        make_seeds(seed);
    char path[128];
    fuzz_path(path, sizeof path, "model.dpfs");
    fuzz_write(path, data, size);
    dpf_sparse_file f;
    if (dpf_sparse_read(&f, path) != DPF_OK)
        return 0;
    for (int i = 0; i < f.count; i++) { /* the harness bounds what it allocates, not the reader */
        const dpf_sparse_tensor *t = &f.tensors[i];
        size_t count = (size_t)t->rows * (size_t)t->row_len;
        float *dense = count <= (1u << 20) ? malloc(count * sizeof *dense) : NULL;
        if (dense)
            (void)dpf_sparse_densify(t, dense, count);
        free(dense);
    }
    int small = (strcmp(f.meta.model, "mlp") == 0 || strcmp(f.meta.model, "lenet5") == 0 ||
                 strcmp(f.meta.model, "resnet20") == 0) &&
                f.meta.h <= 32 && f.meta.w <= 32;
    dpf_sparse_free(&f);
    dpf_net *net = NULL;
    dpf_model_meta meta;
    if (small && dpf_model_load(path, 1, &net, &meta) == DPF_OK)
        dpf_net_free(net);
    return 0;
}
