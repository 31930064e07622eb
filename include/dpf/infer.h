/* dpf/infer.h — the inference engine: a trained model file in, logits out.
 *
 * dpf_engine_load reads a model file (the model.safetensors of a run, or an exported model),
 * builds its network once for a largest batch, planned for inference only (no gradients;
 * activations sharing memory by liveness), with batch norm folded into the convolution before
 * it and the residual add and ReLU after it fused in, and its weights prepared once for the
 * kernels that run them. Each convolution and linear layer runs either oneDNN's dense kernel or
 * dpf's sparse one (compressed rows per output channel), chosen per layer and batch size by a
 * deterministic rule on the layer's shape and the density of its weights (calibrated by
 * measurement: docs/sparse_inference.md), so a 95%-sparse model runs sparse where that is
 * faster and dense where it is not.
 *
 * Input: float32 images (N, C, H, W), NCHW, normalised as in training ((x - mean) / std per
 * channel, for pixel values x in [0, 1]: dpf_engine_normalise does it). Output: (N, classes)
 * logits. Not thread-safe: one engine runs one batch at a time. */
#ifndef DPF_INFER_H
#define DPF_INFER_H

#include <stdint.h>

#include "dpf/model_io.h"
#include "dpf/status.h"

typedef struct dpf_engine dpf_engine;

/* Which kernels run: by the rule (the default), oneDNN's dense ones only, or sparse ones
 * wherever the layer has weights (for measurements and tests). */
typedef enum dpf_engine_kernels {
    DPF_ENGINE_AUTO,
    DPF_ENGINE_DENSE,
    DPF_ENGINE_SPARSE
} dpf_engine_kernels;

typedef struct dpf_engine_options {
    int max_batch;                 /* largest batch of one dpf_engine_run call; 0: 256 */
    int threads;                   /* OpenMP threads; 0: the caller's setting (never changed) */
    dpf_engine_kernels kernels;
} dpf_engine_options;

/* Loads path (errors name the file and what is wrong with it); opt may be NULL (defaults). */
dpf_status dpf_engine_load(dpf_engine **out, const char *path, const dpf_engine_options *opt);
void dpf_engine_free(dpf_engine *e);

/* The model's metadata: name, input shape, classes, normalisation, method, sparsity. */
const dpf_model_meta *dpf_engine_meta(const dpf_engine *e);
/* x (n, C, H, W) with pixel values in [0, 1] -> normalised in place. */
void dpf_engine_normalise(const dpf_engine *e, float *x, int n);
/* logits (n, classes) of n >= 1 normalised images x (n, C, H, W); any n (batches of at most
 * max_batch run in turn). DPF_ERR_ARG for n < 1. */
dpf_status dpf_engine_run(dpf_engine *e, const float *x, int n, float *logits);

/* Per layer that does work, for `dpf bench` and reports. */
typedef struct dpf_engine_layer {
    char name[80];          /* as dpf_layer_time: "conv+bn+add+relu layer1.0.conv2 16->16 ..." */
    char kernel[8];         /* "dense", "sparse", or "" for layers without weights */
    double density;         /* share of nonzero weights (1 without weights) */
    double ms;              /* mean forward milliseconds while profiling, else 0 */
} dpf_engine_layer;
int dpf_engine_layer_count(const dpf_engine *e);
/* Layer i as the last run's batch ran it (the kernel may depend on the batch). */
void dpf_engine_layer_info(dpf_engine *e, int i, dpf_engine_layer *out);
/* Per-layer timing of the runs that follow (on = 1 clears it). */
void dpf_engine_set_profiling(dpf_engine *e, int on);

#endif
