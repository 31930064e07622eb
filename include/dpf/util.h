/* dpf/util.h — small services of the library that programs share: a monotonic clock,
 * directories, atomic file writes. */
#ifndef DPF_PUBLIC_UTIL_H
#define DPF_PUBLIC_UTIL_H

#include <stddef.h>

#include "dpf/status.h"

/* Seconds on a monotonic clock (differences only). */
double dpf_now(void);
/* Creates path and its missing parents, like mkdir -p. Errors name the path that failed. */
dpf_status dpf_mkdir_p(const char *path);
/* 1 if path exists (any kind of file), else 0. */
int dpf_file_exists(const char *path);
/* Writes size bytes of data to path atomically (path.tmp, fsync, rename): an existing path is
 * left intact on failure. Errors name the file. */
dpf_status dpf_write_file_atomic(const char *path, const void *data, size_t size);

#endif
