/* fuzz_util.h — shared by the libFuzzer targets: the readers take paths, so each input is
 * written to a file in a private temporary directory first. */
#ifndef DPF_FUZZ_UTIL_H
#define DPF_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The private directory (created once) and a path inside it. */
static const char *fuzz_dir(void)
{
    static char dir[64];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/dpf-fuzz-XXXXXX");
        if (!mkdtemp(dir))
            abort(); /* the harness, not the library: no directory, no fuzzing */
    }
    return dir;
}

static void fuzz_path(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", fuzz_dir(), name);
}

static void fuzz_write(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
}

#endif
