/* dpf/model_io.h — a model file: a safetensors file holding every parameter and BN buffer under
 * its PyTorch state_dict name (so torch's load_state_dict(strict=True) accepts it), and in
 * __metadata__ what is needed to use it alone: model, data set, input shape, classes,
 * normalisation (and, for runs, method and sparsity). The compact sparse form of the same model
 * (dpf/sparse_io.h) is read by dpf_model_load too. */
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
    char class_names[1536]; /* comma-separated, in label order: the file's, else the data set's */
} dpf_model_meta;

/* Writes the forward weights w~ of net (sparse = 1: the pruned model) or the dense weights w
 * (sparse = 0), and the BN buffers, atomically. */
dpf_status dpf_model_save(dpf_net *net, const dpf_model_meta *meta, int sparse, const char *path);
/* Reads and checks a model file's __metadata__ alone (the limits of dpf_model_load_with), e.g.
 * to check it against a data set before a net is built for it. */
dpf_status dpf_model_read_meta(const char *path, dpf_model_meta *meta);
/* Reads a model file, dense or sparse (dpf/sparse_io.h; told apart by __metadata__ "format"):
 * checks the metadata against sane limits (known model, 1 to 3 channels, sides in [1, 512],
 * classes in [1, 1000], finite normalisation with std > 0, sparsity in [0, 1]), builds the net it
 * describes with opt (its max_batch, inference plan or not, algorithm, threads) and loads every
 * tensor, checking that names and shapes match exactly. */
dpf_status dpf_model_load_with(const char *path, const dpf_net_options *opt, dpf_net **net,
                               dpf_model_meta *meta);
/* The same for an inference-only net of the default algorithm and the caller's threads. */
dpf_status dpf_model_load(const char *path, int max_batch, dpf_net **net, dpf_model_meta *meta);

#endif
