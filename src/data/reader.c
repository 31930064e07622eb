/* reader.c — the raw-or-gzip sequential file reader of reader.h, used by the format readers
 * (idx.c, cifar.c). It knows no file format and calls nothing else in src/data/. */
#include "data/reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

dpf_status dpf_rfile_open(dpf_rfile *rf, const char *path)
{
    memset(rf, 0, sizeof *rf);
    rf->path = path;
    rf->raw_size = -1;
    FILE *f = fopen(path, "rb");
    if (!f)
        return dpf_error(DPF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return dpf_error(DPF_ERR_IO, "%s: not a regular file", path);
    }
    unsigned char magic[2] = {0, 0};
    size_t m = fread(magic, 1, 2, f);
    if (m == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        fclose(f);
        rf->gz = gzopen(path, "rb");
        if (!rf->gz)
            return dpf_error(DPF_ERR_IO, "%s: cannot open gzip stream: %s", path,
                             errno ? strerror(errno) : "out of memory");
        gzbuffer(rf->gz, 1u << 17);
        return DPF_OK;
    }
    rewind(f);
    rf->f = f;
    rf->raw_size = (int64_t)st.st_size;
    return DPF_OK;
}

dpf_status dpf_rfile_read(dpf_rfile *rf, void *buf, size_t n, size_t *got)
{
    unsigned char *p = buf;
    size_t done = 0;
    *got = 0;
    if (rf->f) {
        done = fread(p, 1, n, rf->f);
        rf->pos += done;
        *got = done;
        if (done < n && ferror(rf->f))
            return dpf_error(DPF_ERR_IO, "%s: read error at byte %llu: %s", rf->path,
                             (unsigned long long)rf->pos, strerror(errno));
        return DPF_OK;
    }
    while (done < n) {
        size_t want = n - done > (1u << 30) ? (1u << 30) : n - done;
        int r = gzread(rf->gz, p + done, (unsigned)want);
        int code = Z_OK;
        const char *msg = gzerror(rf->gz, &code);
        if (r > 0) {
            done += (size_t)r;
            rf->pos += (uint64_t)r;
        }
        if (r < 0 || (code != Z_OK && code != Z_STREAM_END)) {
            /* gzread reports no count on an error, but the stream's position is where the good
             * data ended: the bytes of this call up to the corruption were delivered */
            z_off_t at = gztell(rf->gz);
            if (at >= 0 && (uint64_t)at > rf->pos) {
                done += (size_t)((uint64_t)at - rf->pos);
                rf->pos = (uint64_t)at;
            }
            *got = done;
            if (code == Z_ERRNO)
                return dpf_error(DPF_ERR_IO, "%s: read error: %s", rf->path, strerror(errno));
            size_t skip = msg && strncmp(msg, rf->path, strlen(rf->path)) == 0 &&
                                  strncmp(msg + strlen(rf->path), ": ", 2) == 0
                              ? strlen(rf->path) + 2 : 0; /* zlib's message repeats the path */
            return dpf_error(DPF_ERR_FORMAT, "%s: corrupt gzip stream: %s (found after byte %llu "
                             "of the decompressed data)", rf->path, msg ? msg + skip : "error",
                             (unsigned long long)rf->pos);
        }
        if (r == 0)
            break;
    }
    *got = done;
    return DPF_OK;
}

/* Reads n bytes into a buffer grown as data arrives (so a lying header of a compressed file does
 * not make us allocate more than the data really holds, plus a factor 2). */
static dpf_status read_growing(dpf_rfile *rf, size_t n, uint8_t **out, size_t *got)
{
    size_t cap = n < ((size_t)64 << 20) ? n : ((size_t)64 << 20);
    uint8_t *buf = malloc(cap ? cap : 1);
    size_t have = 0;
    *out = NULL;
    *got = 0;
    if (!buf)
        return dpf_error(DPF_ERR_NOMEM, "%s: cannot allocate %zu bytes", rf->path, cap);
    for (;;) {
        size_t g = 0;
        dpf_status st = dpf_rfile_read(rf, buf + have, cap - have, &g);
        have += g;
        if (st != DPF_OK) {
            free(buf);
            return st;
        }
        if (have < cap || cap == n)
            break;
        size_t ncap = cap > n / 2 ? n : cap * 2;
        uint8_t *nb = realloc(buf, ncap);
        if (!nb) {
            free(buf);
            return dpf_error(DPF_ERR_NOMEM, "%s: cannot allocate %zu bytes", rf->path, ncap);
        }
        buf = nb;
        cap = ncap;
    }
    *out = buf;
    *got = have;
    return DPF_OK;
}

dpf_status dpf_rfile_read_exact(dpf_rfile *rf, size_t n, uint8_t **out, const char *expect)
{
    uint64_t start = rf->pos;
    *out = NULL;
    if (rf->raw_size >= 0 && (uint64_t)rf->raw_size < start + n)
        return dpf_error(DPF_ERR_FORMAT, "%s: truncated at byte %llu (%s)", rf->path,
                         (unsigned long long)rf->raw_size, expect);
    if (rf->raw_size >= 0 && (uint64_t)rf->raw_size > start + n)
        return dpf_error(DPF_ERR_FORMAT, "%s: trailing data at byte %llu (%s; the file has %llu)",
                         rf->path, (unsigned long long)(start + n), expect,
                         (unsigned long long)rf->raw_size);
    uint8_t *buf = NULL;
    size_t got = 0;
    dpf_status st = read_growing(rf, n, &buf, &got);
    if (st != DPF_OK)
        return st;
    if (got < n) {
        free(buf);
        return dpf_error(DPF_ERR_FORMAT, "%s: truncated at byte %llu (%s)", rf->path,
                         (unsigned long long)(start + got), expect);
    }
    unsigned char extra;
    size_t g = 0;
    st = dpf_rfile_read(rf, &extra, 1, &g);
    if (st == DPF_OK && g > 0)
        st = dpf_error(DPF_ERR_FORMAT, "%s: trailing data at byte %llu (%s)", rf->path,
                       (unsigned long long)(start + n), expect);
    if (st != DPF_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    return DPF_OK;
}

dpf_status dpf_rfile_read_all(dpf_rfile *rf, size_t max, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (rf->raw_size >= 0 && (uint64_t)rf->raw_size - rf->pos > (uint64_t)max)
        return dpf_error(DPF_ERR_FORMAT, "%s: file too large (%lld bytes, limit %zu)", rf->path,
                         (long long)rf->raw_size, max);
    size_t want = rf->raw_size >= 0 ? (size_t)((uint64_t)rf->raw_size - rf->pos) : max;
    /* One byte more than the limit to tell "exactly max" from "more than max". */
    uint8_t *buf = NULL;
    size_t got = 0;
    dpf_status st = read_growing(rf, want + (rf->raw_size >= 0 ? 0 : 1), &buf, &got);
    if (st != DPF_OK)
        return st;
    if (got > max) {
        free(buf);
        return dpf_error(DPF_ERR_FORMAT, "%s: file too large (more than %zu bytes)", rf->path, max);
    }
    *out = buf;
    *len = got;
    return DPF_OK;
}

void dpf_rfile_close(dpf_rfile *rf)
{
    if (rf->f)
        fclose(rf->f);
    if (rf->gz)
        gzclose(rf->gz);
    rf->f = NULL;
    rf->gz = NULL;
}
