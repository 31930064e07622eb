/* fuzz_safetensors.c — libFuzzer target of the safetensors reader and its typed getters. */
#include "dpf/safetensors.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[128];
    fuzz_path(path, sizeof path, "file.safetensors");
    fuzz_write(path, data, size);
    dpf_st_file f;
    if (dpf_st_read(&f, path) != DPF_OK)
        return 0;
    for (int i = 0; i < f.count; i++) { /* every getter on every tensor: conversions, checks */
        const dpf_st_tensor *t = &f.tensors[i];
        if (t->count > (1u << 20))
            continue;
        float *fv = malloc((t->count ? t->count : 1) * sizeof *fv);
        int64_t *iv = malloc((t->count ? t->count : 1) * sizeof *iv);
        if (fv && iv) {
            (void)dpf_st_get_f32(&f, t->name, fv, t->count);
            (void)dpf_st_get_i64(&f, t->name, iv, t->count);
        }
        free(fv);
        free(iv);
    }
    (void)dpf_st_meta(&f, "format");
    dpf_st_free(&f);
    return 0;
}
