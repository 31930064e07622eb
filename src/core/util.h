/* util.h — small internal services: monotonic clock, directories, atomic file writes,
 * durations for humans. */
#ifndef DPF_UTIL_H
#define DPF_UTIL_H

#include <stddef.h>

#include "dpf/status.h"

double dpf_now(void);                          /* seconds, monotonic */
dpf_status dpf_mkdir_p(const char *path);      /* like mkdir -p; errors name the path */
int dpf_file_exists(const char *path);
/* Writes data to path atomically: path.tmp, fsync, rename. An existing path is left intact on
 * failure. */
dpf_status dpf_write_file_atomic(const char *path, const void *data, size_t size);
/* OpenMP threads for a scope: enter sets the calling thread's count (0: leaves it) and returns
 * the one to restore with leave. The library never changes the caller's setting for good. */
int dpf_threads_enter(int threads);
void dpf_threads_leave(int saved);
void dpf_format_duration(char *dst, size_t cap, double seconds);  /* "1h02m", "3m05s", "12s" */

#endif
