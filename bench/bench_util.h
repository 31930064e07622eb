/* bench/bench_util.h — what the benchmark programs share: the process's CPU time (on one
 * thread immune to other processes on a shared machine) and the comparison for medians. */
#ifndef DPF_BENCH_UTIL_H
#define DPF_BENCH_UTIL_H

#include <time.h>

static inline double bench_cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif
