/* util.c — monotonic clock, mkdir -p, atomic file writes, human durations. */
#include "core/util.h"

#include <errno.h>
#include <omp.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

double dpf_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

dpf_status dpf_mkdir_p(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return dpf_error(DPF_ERR_ARG, "%s: path too long", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return dpf_error(DPF_ERR_IO, "%s: cannot create directory: %s", buf, strerror(errno));
        *p = saved;
        if (saved == '\0')
            break;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return dpf_error(DPF_ERR_IO, "%s: not a directory", path);
    return DPF_OK;
}

int dpf_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

dpf_status dpf_write_file_atomic(const char *path, const void *data, size_t size)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return dpf_error(DPF_ERR_ARG, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0)
        return dpf_error(DPF_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    const char *p = data;
    size_t left = size;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return dpf_error(DPF_ERR_IO, "%s: write failed: %s", path, strerror(e));
        }
        p += n;
        left -= (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return dpf_error(DPF_ERR_IO, "%s: cannot complete write: %s", path, strerror(e));
    }
    return DPF_OK;
}

void dpf_format_duration(char *dst, size_t cap, double seconds)
{
    long s = seconds < 0 ? 0 : (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(dst, cap, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
    else if (s >= 60)
        snprintf(dst, cap, "%ldm%02lds", s / 60, s % 60);
    else
        snprintf(dst, cap, "%lds", s);
}

int dpf_threads_enter(int threads)
{
    const int saved = omp_get_max_threads();
    if (threads > 0 && threads != saved)
        omp_set_num_threads(threads);
    return saved;
}

void dpf_threads_leave(int saved)
{
    if (omp_get_max_threads() != saved)
        omp_set_num_threads(saved);
}
