/* dpf/dpf.h — the public API of the dpf library in one include: data, models, training, pruning,
 * model files. The experiment of the paper's §4 (dpf/theory.h) is not part of it; include that
 * header directly (as the CLI's `dpf theory` does). */
#ifndef DPF_DPF_H
#define DPF_DPF_H

#include "dpf/data.h"
#include "dpf/infer.h"
#include "dpf/model_io.h"
#include "dpf/net.h"
#include "dpf/onnx.h"
#include "dpf/optim.h"
#include "dpf/prune.h"
#include "dpf/real.h"
#include "dpf/rng.h"
#include "dpf/safetensors.h"
#include "dpf/sparse_io.h"
#include "dpf/status.h"
#include "dpf/train.h"
#include "dpf/trainer.h"
#include "dpf/util.h"

#endif
