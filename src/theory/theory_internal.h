/* theory_internal.h — limits and helpers shared by the files of src/theory. */
#ifndef DPF_THEORY_INTERNAL_H
#define DPF_THEORY_INTERNAL_H

#include "dpf/theory.h"

#define THEORY_MAX_CLASSES 256

#endif
