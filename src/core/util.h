/* util.h — small internal services: the public ones (clock, directories, atomic file writes:
 * dpf/util.h) and durations for humans. */
#ifndef DPF_UTIL_H
#define DPF_UTIL_H

#include "dpf/util.h"

void dpf_format_duration(char *dst, size_t cap, double seconds);  /* "1h02m", "3m05s", "12s" */

#endif
