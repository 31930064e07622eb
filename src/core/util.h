/* util.h — small internal services: the public ones (clock, directories, atomic file writes:
 * dpf/util.h) and durations for humans. */
#ifndef DPF_UTIL_H
#define DPF_UTIL_H

#include "dpf/util.h"

/* OpenMP threads for a scope: enter sets the calling thread's count (0: leaves it) and returns
 * the one to restore with leave. The library never changes the caller's setting for good. */
int dpf_threads_enter(int threads);
void dpf_threads_leave(int saved);
void dpf_format_duration(char *dst, size_t cap, double seconds);  /* "1h02m", "3m05s", "12s" */

#endif
