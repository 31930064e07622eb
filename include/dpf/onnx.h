/* dpf/onnx.h — a model as an ONNX file (opset 13), for the runtimes people deploy with (ONNX
 * Runtime, TensorRT, OpenVINO, ...). The graph is written from the net's own nodes and their
 * actual shapes (so any width of any model exports the same way), in evaluation form: batch norm
 * stays a BatchNormalization node with the running statistics (runtimes fold it themselves).
 * Input "input" (batch, C, H, W) float32, normalised as in training; output "logits"
 * (batch, classes). The normalisation, input shape, class names, data set, method, sparsity and
 * the dpf version are in the model's metadata_props (docs/onnx.md). Written through protobuf-c
 * with the onnx.proto of Debian's libonnx-dev; a build without them reports that, and only that. */
#ifndef DPF_ONNX_H
#define DPF_ONNX_H

#include "dpf/model_io.h"
#include "dpf/net.h"
#include "dpf/status.h"

/* 1 if this build writes ONNX files (protobuf-c and onnx.proto were found at configure time). */
int dpf_onnx_available(void);
/* Writes the net's forward weights w~ (the model as it runs: pruned weights are zeros) and BN
 * running statistics as an ONNX model to path, atomically. DPF_ERR_STATE in a build without
 * ONNX support, DPF_ERR_IO naming the file on a write error. */
dpf_status dpf_model_save_onnx(dpf_net *net, const dpf_model_meta *meta, const char *path);

#endif
