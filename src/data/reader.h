/* reader.h — the file reader below the format readers of src/data/ (not part of the public API):
 * a sequential reader that reads a file raw or, when it starts with the gzip magic bytes 1f 8b,
 * decompresses it with zlib; byte offsets it reports are offsets in the (decompressed) contents. */
#ifndef DPF_DATA_READER_H
#define DPF_DATA_READER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <zlib.h>

#include "dpf/status.h"

typedef struct dpf_rfile {
    const char *path;  /* for messages; not owned */
    FILE *f;           /* raw file, or NULL */
    gzFile gz;         /* gzip stream, or NULL */
    int64_t raw_size;  /* size in bytes of a raw file; -1 for a gzip stream (unknown) */
    uint64_t pos;      /* bytes delivered so far */
} dpf_rfile;

/* Opens path for reading (DPF_ERR_IO naming the path when it cannot be opened). */
dpf_status dpf_rfile_open(dpf_rfile *rf, const char *path);
/* Reads up to n bytes into buf; *got < n only at the end of the data. A read error is DPF_ERR_IO,
 * a corrupt gzip stream DPF_ERR_FORMAT (with the decompressed offset). */
dpf_status dpf_rfile_read(dpf_rfile *rf, void *buf, size_t n, size_t *got);
/* Reads exactly n bytes into a new buffer (*out, freed by the caller) after `header` bytes were
 * already read: fewer bytes is "truncated at byte ...", more is "trailing data at byte ...";
 * `expect` describes the expected size for the message. */
dpf_status dpf_rfile_read_exact(dpf_rfile *rf, size_t n, uint8_t **out, const char *expect);
/* Reads the rest of the file (at most max bytes) into a new buffer (*out, freed by the caller). */
dpf_status dpf_rfile_read_all(dpf_rfile *rf, size_t max, uint8_t **out, size_t *len);
void dpf_rfile_close(dpf_rfile *rf);

#endif
