/* dense.c — no pruning: plain training of the dense model (the reference row of every table). */
#include "prune/method.h"

const dpf_method_ops dpf_method_dense = {.name = "dense"};
