/* dpf/model_io.h — a model file: a safetensors file holding every parameter and BN buffer under
 * its PyTorch state_dict name (so torch's load_state_dict(strict=True) accepts it), and in
 * __metadata__ what is needed to use it alone: model, data set, input shape, classes,
 * normalisation (and, for runs, method and sparsity). */
#ifndef DPF_MODEL_IO_H
#define DPF_MODEL_IO_H

#include "dpf/net.h"
#include "dpf/status.h"

typedef struct dpf_model_meta {
    char model[32];
    char data[32];
    int c, h, w, classes;
    float mean[3], std[3];
    char method[32];        /* "" if not from a run */
    double sparsity;        /* reached sparsity of the prunable weights stored */
} dpf_model_meta;

/* Writes the forward weights w~ of net (sparse = 1: the pruned model) or the dense weights w
 * (sparse = 0), and the BN buffers, atomically. */
dpf_status dpf_model_save(dpf_net *net, const dpf_model_meta *meta, int sparse, const char *path);
/* Reads and checks a model file's __metadata__ alone (known model and data set names, input
 * shape and classes within limits), e.g. to check it against a data set before building a net. */
dpf_status dpf_model_read_meta(const char *path, dpf_model_meta *meta);
/* Reads a model file: checks its metadata (dpf_model_read_meta), builds the net it describes
 * with opt (its max_batch, inference plan or not, algorithm, threads) and loads every tensor,
 * checking that names and shapes match exactly. */
dpf_status dpf_model_load_with(const char *path, const dpf_net_options *opt, dpf_net **net,
                               dpf_model_meta *meta);
/* The same for an inference-only net of the default algorithm and the caller's threads. */
dpf_status dpf_model_load(const char *path, int max_batch, dpf_net **net, dpf_model_meta *meta);

#endif
