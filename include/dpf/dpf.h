/* dpf/dpf.h — the whole public API of the dpf library in one include. */
#ifndef DPF_DPF_H
#define DPF_DPF_H

#include "dpf/data.h"
#include "dpf/infer.h"
#include "dpf/model_io.h"
#include "dpf/net.h"
#include "dpf/optim.h"
#include "dpf/prune.h"
#include "dpf/real.h"
#include "dpf/rng.h"
#include "dpf/safetensors.h"
#include "dpf/status.h"
#include "dpf/theory.h"
#include "dpf/train.h"

#endif
