/* fuzz_idx.c — libFuzzer target of the IDX reader (raw and gzip): the input's first two bytes
 * say where it splits into an images file and a labels file. */
#include "dpf/data.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t cut = ((size_t)data[0] << 8 | data[1]) % (size - 1);
    char img[128], lab[128];
    fuzz_path(img, sizeof img, "images");
    fuzz_path(lab, sizeof lab, "labels");
    fuzz_write(img, data + 2, cut);
    fuzz_write(lab, data + 2 + cut, size - 2 - cut);
    dpf_dataset ds;
    if (dpf_idx_load(&ds, img, lab, 10) == DPF_OK)
        dpf_dataset_free(&ds);
    return 0;
}
