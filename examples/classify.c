/* classify.c — embedding dpf's inference engine in a program: loads a model file, classifies
 * one image of an IDX image file (MNIST / Fashion-MNIST format, raw or .gz) and prints its most
 * probable class by name, as `dpf predict --top 1` does.
 *
 *   cc classify.c -o classify $(pkg-config --cflags --libs dpf) -lm
 *   ./classify runs/r20/model.safetensors t10k-images-idx3-ubyte.gz 0
 *   -> t10k-images-idx3-ubyte.gz[0]: Ankle boot 0.973 */
#include <dpf/dpf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Image `index` of ds as the model's input: pixels / 255, grey copied to every channel the
 * model has, then normalised as in training. x holds (C, H, W). */
static int prepare(float *x, dpf_engine *e, const dpf_dataset *ds, int index)
{
    const dpf_model_meta *m = dpf_engine_meta(e);
    if (ds->h != m->h || ds->w != m->w) {
        fprintf(stderr, "classify: the images are %dx%d, the model takes %dx%d\n", ds->w, ds->h,
                m->w, m->h);
        return -1;
    }
    const size_t plane = (size_t)m->h * m->w;
    const uint8_t *px = ds->images + (size_t)index * plane;
    for (int c = 0; c < m->c; c++)
        for (size_t i = 0; i < plane; i++)
            x[c * plane + i] = px[i] / 255.0f;
    dpf_engine_normalise(e, x, 1);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: classify MODEL.safetensors IDX_IMAGES INDEX\n");
        return 2;
    }
    const int index = atoi(argv[3]);
    dpf_engine *e = NULL;
    dpf_dataset ds = {0};
    float *x = NULL, *logits = NULL;
    int rc = 1;
    if (dpf_engine_load(&e, argv[1], NULL) != DPF_OK ||
        dpf_idx_load_images(&ds, argv[2]) != DPF_OK) {
        fprintf(stderr, "classify: %s\n", dpf_last_error()); /* one line naming the file */
        goto done;
    }
    if (index < 0 || index >= ds.n) {
        fprintf(stderr, "classify: index %d is outside the file's %d images\n", index, ds.n);
        goto done;
    }
    const dpf_model_meta *m = dpf_engine_meta(e);
    x = malloc(sizeof *x * m->c * m->h * m->w);
    logits = malloc(sizeof *logits * m->classes);
    if (!x || !logits || prepare(x, e, &ds, index) != 0)
        goto done;
    if (dpf_engine_run(e, x, 1, logits) != DPF_OK) {
        fprintf(stderr, "classify: %s\n", dpf_last_error());
        goto done;
    }
    int best = 0; /* softmax: the probability of the largest logit */
    double sum = 0;
    for (int k = 1; k < m->classes; k++)
        best = logits[k] > logits[best] ? k : best;
    for (int k = 0; k < m->classes; k++)
        sum += exp((double)logits[k] - logits[best]);
    char name[64];
    dpf_class_name_at(name, sizeof name, m->class_names, best); /* the file's, or data set's */
    printf("%s[%d]: %s %.3f\n", argv[2], index, name, 1.0 / sum);
    rc = 0;
done:
    free(x);
    free(logits);
    dpf_dataset_free(&ds);
    dpf_engine_free(e);
    return rc;
}
