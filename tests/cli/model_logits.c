/* model_logits.c — the reference side of tests/cli/test_onnx_ort.sh: N random normal images
 * (seed 1) of a model's input shape and the logits that dpf's inference engine gives for them,
 * both as raw little-endian float32, so that another runtime can be compared with dpf.
 * usage: model_logits MODEL_FILE N INPUT_OUT LOGITS_OUT */
#include <dpf/dpf.h>
#include <stdio.h>
#include <stdlib.h>

static int write_raw(const char *path, const float *v, size_t n)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(v, sizeof *v, n, f) == n;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok)
        fprintf(stderr, "model_logits: cannot write %s\n", path);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc != 5 || atoi(argv[2]) < 1) {
        fprintf(stderr, "usage: model_logits MODEL_FILE N INPUT_OUT LOGITS_OUT\n");
        return 2;
    }
    int n = atoi(argv[2]);
    dpf_engine *e;
    if (dpf_engine_load(&e, argv[1], NULL) != DPF_OK) {
        fprintf(stderr, "model_logits: %s\n", dpf_last_error());
        return 1;
    }
    const dpf_model_meta *m = dpf_engine_meta(e);
    size_t image = (size_t)m->c * (size_t)m->h * (size_t)m->w;
    float *x = malloc((size_t)n * image * sizeof *x);
    float *logits = malloc((size_t)n * (size_t)m->classes * sizeof *logits);
    int rc = 1;
    if (x && logits) {
        dpf_rng r;
        dpf_rng_seed(&r, 1);
        for (size_t i = 0; i < (size_t)n * image; i++)
            x[i] = (float)dpf_rng_normal(&r);
        if (dpf_engine_run(e, x, n, logits) != DPF_OK)
            fprintf(stderr, "model_logits: %s\n", dpf_last_error());
        else
            rc = write_raw(argv[3], x, (size_t)n * image) ||
                 write_raw(argv[4], logits, (size_t)n * (size_t)m->classes);
    }
    free(x);
    free(logits);
    dpf_engine_free(e);
    return rc;
}
