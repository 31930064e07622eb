/* fuzz_cifar.c — libFuzzer target of the CIFAR-10 / CIFAR-100 binary reader: the first byte
 * picks the variant, the rest is one batch file. */
#include "dpf/data.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char path[128];
    fuzz_path(path, sizeof path, "batch.bin");
    fuzz_write(path, data + 1, size - 1);
    const char *paths[1] = {path};
    dpf_dataset ds;
    if (dpf_cifar_load(&ds, paths, 1, data[0] & 1) == DPF_OK)
        dpf_dataset_free(&ds);
    return 0;
}
