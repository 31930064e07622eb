/* cmd_predict.c — `dpf predict MODEL FILE...`: classifies images with the inference engine
 * (dpf/infer.h) and prints per image the top classes by name with their softmax probabilities.
 * Inputs: IDX image files (every image, or --index I), PNG and JPEG files (image.c). Images are
 * converted to the model's channels, resized bilinearly when their size differs (or refused with
 * --no-resize), scaled to [0, 1], normalised as in training and run in batches of
 * PREDICT_BATCH. A file that cannot be used gives one line on stderr naming it; the others are
 * still classified, and the exit status is 1. */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dpf/data.h"
#include "dpf/infer.h"
#include "image.h"

#define PREDICT_BATCH 64

typedef struct predict_opts {
    int top, index, threads, no_resize, json;
} predict_opts;

/* The images waiting for the next batch, and where each came from. */
typedef struct predictor {
    const predict_opts *o;
    dpf_engine *e;
    const dpf_model_meta *m;
    size_t image;               /* floats per image: C * H * W */
    float *x;                   /* (PREDICT_BATCH, C, H, W) */
    float *logits;              /* (PREDICT_BATCH, classes) */
    double *probs;              /* (classes) softmax of one image */
    int *order;                 /* (classes) its classes by probability */
    const char *file[PREDICT_BATCH];
    int index[PREDICT_BATCH];   /* image in an IDX file; -1 for PNG / JPEG */
    int n;
    int failed;                 /* files that could not be used */
} predictor;

static void predict_help(void)
{
    printf("usage: dpf predict RUN_DIR|MODEL.safetensors FILE... [options]\n"
           "\n"
           "Classifies images with a model and prints, per image, its top classes by name with\n"
           "their softmax probabilities, e.g. 'shoe.png: Sneaker 0.912, Sandal 0.051, ...'.\n"
           "FILE: a PNG or JPEG image, or an IDX image file (MNIST / Fashion-MNIST format, raw\n"
           "or .gz; every image in it is classified, printed as FILE[I]). Images are converted\n"
           "to the model's channels (colour to grey by luma 0.299 R + 0.587 G + 0.114 B, grey\n"
           "to colour by copying), resized bilinearly to the model's input size when theirs\n"
           "differs (a note on stderr), scaled to [0, 1] and normalised as in training.\n"
           "A file that cannot be read is named on stderr; the rest are still classified and\n"
           "the exit status is 1.\n"
           "\n"
           "  --top K          print the K most probable classes   [3]\n"
           "  --index I        only image I (from 0) of each file   [all images]\n"
           "  --threads N      compute threads (0 = all cores)   [0]\n"
           "  --no-resize      refuse images whose size differs from the model's input\n"
           "                   [resize them]\n"
           "  --json           one JSON object per image: {\"file\", \"index\" (IDX only), \"top\":\n"
           "                   [{\"class\", \"name\", \"probability\"}, ...]}   [text lines]\n"
           "  -h, --help       this help\n");
}

/* Options into o; optind then points at MODEL. -1: help printed; otherwise the exit status
 * of a bad option (2) or 0. */
static int predict_parse(int argc, char **argv, predict_opts *o)
{
    static const struct option opts[] = {{"top", required_argument, 0, 'k'},
                                          {"index", required_argument, 0, 'i'},
                                          {"threads", required_argument, 0, 't'},
                                          {"no-resize", no_argument, 0, 'R'},
                                          {"json", no_argument, 0, 'j'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    *o = (predict_opts){.top = 3, .index = -1};
    optind = 1;
    opterr = 0;
    for (int opt; (opt = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        int bad = 0;
        if (opt == 'h')
            return predict_help(), -1;
        else if (opt == 'k')
            bad = cli_int_min("--top", optarg, 1, &o->top);
        else if (opt == 'i')
            bad = cli_int_min("--index", optarg, 0, &o->index);
        else if (opt == 't')
            bad = cli_int_min("--threads", optarg, 0, &o->threads);
        else if (opt == 'R')
            o->no_resize = 1;
        else if (opt == 'j')
            o->json = 1;
        else
            return cli_bad_option("predict", argv[optind - 1]), 2;
        if (bad)
            return 2;
    }
    if (argc - optind < 2) {
        fprintf(stderr, "dpf predict: expected a RUN_DIR or MODEL.safetensors and at least one "
                        "image file (see dpf predict --help)\n");
        return 2;
    }
    return 0;
}

/* probs (classes) = softmax(z); order[0..k) = the k most probable classes, ties by index. */
static void top_classes(const float *z, int classes, double *probs, int *order, int k)
{
    double max = z[0], sum = 0;
    for (int j = 1; j < classes; j++)
        max = z[j] > max ? z[j] : max;
    for (int j = 0; j < classes; j++)
        sum += probs[j] = exp((double)z[j] - max);
    for (int j = 0; j < classes; j++)
        probs[j] /= sum;
    for (int r = 0; r < k; r++) {
        int best = -1;
        for (int j = 0; j < classes; j++) {
            int taken = 0;
            for (int q = 0; q < r && !taken; q++)
                taken = order[q] == j;
            if (!taken && (best < 0 || probs[j] > probs[best]))
                best = j;
        }
        order[r] = best;
    }
}

/* One line of results; 1 if a --json line cannot be written (a file name that is not UTF-8). */
static int print_result(const predictor *p, int slot, const double *probs, const int *order,
                        int k)
{
    char name[64];
    if (p->o->json) {
        json_t *top = json_array();
        for (int r = 0; r < k; r++) {
            dpf_class_name_at(name, sizeof name, p->m->class_names, order[r]);
            json_array_append_new(top, json_pack("{s:i, s:s, s:f}", "class", order[r], "name",
                                                 name, "probability", probs[order[r]]));
        }
        json_t *obj = json_pack("{s:s}", "file", p->file[slot]);
        if (!obj) {
            fprintf(stderr, "dpf predict: %s: the file name is not UTF-8, so not in JSON\n",
                    p->file[slot]);
            json_decref(top);
            return 1;
        }
        if (p->index[slot] >= 0)
            json_object_set_new(obj, "index", json_integer(p->index[slot]));
        json_object_set_new(obj, "top", top);
        char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
        printf("%s\n", text ? text : "{}");
        free(text);
        json_decref(obj);
        return 0;
    }
    if (p->index[slot] >= 0)
        printf("%s[%d]:", p->file[slot], p->index[slot]);
    else
        printf("%s:", p->file[slot]);
    for (int r = 0; r < k; r++) {
        dpf_class_name_at(name, sizeof name, p->m->class_names, order[r]);
        printf("%s %s %.3f", r ? "," : "", name, probs[order[r]]);
    }
    printf("\n");
    return 0;
}

/* Runs the waiting images and prints their results. 0, or -1 after an error line. */
static int predict_flush(predictor *p)
{
    if (p->n == 0)
        return 0;
    dpf_engine_normalise(p->e, p->x, p->n);
    if (dpf_engine_run(p->e, p->x, p->n, p->logits) != DPF_OK)
        return cli_report_error(), -1;
    const int classes = p->m->classes, k = p->o->top < classes ? p->o->top : classes;
    for (int i = 0; i < p->n; i++) {
        top_classes(p->logits + (size_t)i * classes, classes, p->probs, p->order, k);
        p->failed += print_result(p, i, p->probs, p->order, k);
    }
    fflush(stdout);
    p->n = 0;
    return 0;
}

/* Queues one image of pixels (h, w, c). *noted: the resize note of this file was printed.
 * 0; 1 if the image is refused (said); -1 on a fatal error (said). */
static int predict_add(predictor *p, const char *file, int index, const uint8_t *px, int h,
                       int w, int c, int *noted)
{
    const int H = p->m->h, W = p->m->w;
    if ((h != H || w != W) && p->o->no_resize) {
        fprintf(stderr, "dpf predict: %s: image is %dx%d but the model takes %dx%d (--no-resize "
                "given)\n", file, w, h, W, H);
        return 1;
    }
    if ((h != H || w != W) && !*noted) {
        fprintf(stderr, "dpf predict: note: %s: %dx%d image resized to the model's %dx%d "
                "(bilinear)\n", file, w, h, W, H);
        *noted = 1;
    }
    if (image_to_input(p->x + (size_t)p->n * p->image, px, h, w, c, p->m->c, H, W) != 0) {
        fprintf(stderr, "dpf predict: %s: out of memory converting a %dx%d image\n", file, w, h);
        return -1;
    }
    p->file[p->n] = file;
    p->index[p->n] = index;
    if (++p->n == PREDICT_BATCH)
        return predict_flush(p);
    return 0;
}

/* One file: its images queued (and run whenever a batch is full). 0, 1 (file refused, said)
 * or -1 (fatal, said). */
static int predict_file(predictor *p, const char *file)
{
    char err[256];
    int noted = 0, rc = 0;
    image_kind kind = image_sniff(file, err, sizeof err);
    if (kind == IMAGE_UNKNOWN) {
        fprintf(stderr, "dpf predict: %s: %s\n", file, err);
        return 1;
    }
    if (kind == IMAGE_IDX) {
        dpf_dataset ds;
        if (dpf_idx_load_images(&ds, file) != DPF_OK)
            return cli_report_error(), 1;
        if (p->o->index >= ds.n) {
            fprintf(stderr, "dpf predict: %s: --index %d is out of range (the file has %d "
                    "images)\n", file, p->o->index, ds.n);
            rc = 1;
        }
        const size_t plane = (size_t)ds.h * ds.w;
        for (int i = p->o->index < 0 ? 0 : p->o->index; rc == 0 && i < ds.n; i++) {
            rc = predict_add(p, file, i, ds.images + i * plane, ds.h, ds.w, 1, &noted);
            if (p->o->index >= 0)
                break;
        }
        dpf_dataset_free(&ds);
        return rc;
    }
    if (p->o->index > 0) {
        fprintf(stderr, "dpf predict: %s: --index %d is out of range (the file has 1 image)\n",
                file, p->o->index);
        return 1;
    }
    image img;
    if (image_read(&img, file, kind, err, sizeof err) != 0) {
        fprintf(stderr, "dpf predict: %s: %s\n", file, err);
        return 1;
    }
    rc = predict_add(p, file, -1, img.px, img.h, img.w, img.c, &noted);
    image_free(&img);
    return rc;
}

int cmd_predict(int argc, char **argv)
{
    predict_opts o;
    int rc = predict_parse(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    char path[2048];
    if (cli_model_path(argv[optind], path, sizeof path) != 0)
        return 1;
    predictor p = {.o = &o};
    dpf_engine_options eo = {.max_batch = PREDICT_BATCH, .threads = o.threads};
    if (dpf_engine_load(&p.e, path, &eo) != DPF_OK)
        return cli_report_error(), 1;
    p.m = dpf_engine_meta(p.e);
    p.image = (size_t)p.m->c * p.m->h * p.m->w;
    p.x = malloc(sizeof *p.x * p.image * PREDICT_BATCH);
    p.logits = malloc(sizeof *p.logits * (size_t)p.m->classes * PREDICT_BATCH);
    p.probs = malloc(sizeof *p.probs * (size_t)p.m->classes);
    p.order = malloc(sizeof *p.order * (size_t)p.m->classes);
    rc = p.x && p.logits && p.probs && p.order ? 0 : -1;
    if (rc)
        fprintf(stderr, "dpf predict: out of memory\n");
    else if (p.m->c != 1 && p.m->c != 3) {
        fprintf(stderr, "dpf predict: %s: the model takes %d channels; images have 1 or 3\n",
                path, p.m->c);
        rc = -1;
    }
    for (int i = optind + 1; i < argc && rc >= 0; i++) {
        rc = predict_file(&p, argv[i]);
        p.failed += rc > 0;
    }
    if (rc >= 0)
        rc = predict_flush(&p);
    free(p.x);
    free(p.logits);
    free(p.probs);
    free(p.order);
    dpf_engine_free(p.e);
    return rc < 0 || p.failed ? 1 : 0;
}
