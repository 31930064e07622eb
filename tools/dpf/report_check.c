/* report_check.c — dpf report: run files are data, possibly copied from someone else, so every
 * field the report uses is checked (type, range, known name) before anything reads it. A run
 * whose files fail is refused with one line naming the file and the field. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dpf/data.h"
#include "dpf/net.h"
#include "report.h"

enum kind { K_NUM, K_INT, K_BOOL, K_STR, K_NUMS };

typedef struct spec {
    const char *key;
    enum kind kind;
    double lo, hi;              /* K_NUM / K_INT / K_NUMS: inclusive range */
    int (*known)(const char *); /* K_STR: the accepted names */
    int required;
} spec;

static int known_method(const char *s)
{
    static const char *const m[] = {"dense", "oneshot", "incremental", "snip", "dsr", "sm",
                                     "lt",    "set",     "rigl",        "sfp",  "dpf", "fixed"};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (strcmp(s, m[i]) == 0)
            return 1;
    return 0;
}

static int one_of(const char *s, const char *const *names)
{
    for (; *names; names++)
        if (strcmp(s, *names) == 0)
            return 1;
    return 0;
}

static int known_optimizer(const char *s)
{
    return one_of(s, (const char *const[]){"sgd", "adam", NULL});
}

static int known_scope(const char *s)
{
    return one_of(s, (const char *const[]){"global", "layer", NULL});
}

static int known_precision(const char *s)
{
    return one_of(s, (const char *const[]){"float32", "float64", NULL});
}

static int known_compressor(const char *s)
{
    int bits = 0;
    char tail = 0;
    return s[0] == '\0' || strcmp(s, "sign") == 0 ||
           (sscanf(s, "q%d%c", &bits, &tail) == 1 && bits >= 1 && bits <= 16 &&
            strspn(s + 1, "0123456789") == strlen(s + 1));
}

/* A known model name, also with an odd K in wrn-28-K (the library decides). */
static int known_model(const char *s) { return strlen(s) < 32 && dpf_model_known(s); }
static int known_data(const char *s) { return strlen(s) < 32 && dpf_dataset_known(s); }

#define BIG 9.2e18 /* below 2^63: integers that fit int64 */
static const spec config_spec[] = {
    {"data", K_STR, 0, 0, known_data, 1},          {"model", K_STR, 0, 0, known_model, 1},
    {"method", K_STR, 0, 0, known_method, 1},      {"sparsity", K_NUM, 0, 1, NULL, 1},
    {"seed", K_INT, 0, BIG, NULL, 1},              {"init_seed", K_INT, 0, BIG, NULL, 0},
    {"structured", K_BOOL, 0, 0, NULL, 0},         {"scope", K_STR, 0, 0, known_scope, 0},
    {"period", K_INT, 1, 1e6, NULL, 0},            {"ramp_start", K_NUM, 0, 1, NULL, 0},
    {"ramp_end", K_NUM, -1, 1, NULL, 0},           {"epochs", K_INT, 1, 1e5, NULL, 0},
    {"batch", K_INT, 1, 65536, NULL, 0},           {"optimizer", K_STR, 0, 0, known_optimizer, 0},
    {"lr", K_NUM, 0, 1e3, NULL, 0},                {"momentum", K_NUM, 0, 1, NULL, 0},
    {"nesterov", K_BOOL, 0, 0, NULL, 0},           {"wd", K_NUM, 0, 1, NULL, 0},
    {"milestones", K_NUMS, 0, 1, NULL, 0},         {"gamma", K_NUM, 0, 1, NULL, 0},
    {"warmup", K_NUM, 0, 1e5, NULL, 0},            {"limit_train", K_INT, 0, 2147483647, NULL, 0},
    {"crop_pad", K_INT, 0, 64, NULL, 0},           {"flip", K_BOOL, 0, 0, NULL, 0},
    {"finetune", K_INT, 0, 1e5, NULL, 0},          {"finetune_lr", K_NUM, 0, 1e3, NULL, 0},
    {"lt_rounds", K_INT, 1, 30, NULL, 0},          {"prune_rate", K_NUM, -1, 1, NULL, 0},
    {"update_every", K_INT, -1, 1e6, NULL, 0},     {"density_erk", K_INT, -1, 1, NULL, 0},
    {"keep_per_filter", K_INT, -1, 64, NULL, 0},
    {"compressor", K_STR, 0, 0, known_compressor, 0},
    {"precision", K_STR, 0, 0, known_precision, 0},
};

static const spec summary_spec[] = {
    {"test_acc_sparse", K_NUM, 0, 1, NULL, 1},     {"test_acc_dense", K_NUM, 0, 1, NULL, 0},
    {"sparsity_prunable", K_NUM, 0, 1, NULL, 1},   {"target_sparsity", K_NUM, 0, 1, NULL, 0},
    {"params_nonzero", K_NUM, 0, 1e15, NULL, 0},   {"params_total", K_NUM, 0, 1e15, NULL, 0},
    {"macs_sparse", K_NUM, 0, 1e18, NULL, 0},      {"macs_dense", K_NUM, 0, 1e18, NULL, 0},
    {"wall_s", K_NUM, 0, 1e10, NULL, 0},           {"target_reached", K_BOOL, 0, 0, NULL, 0},
};

static const spec metrics_spec[] = {
    {"epoch", K_INT, 0, 1e6, NULL, 0},   {"step", K_NUM, 0, 1e15, NULL, 0},
    {"train_loss", K_NUM, 0, 1e30, NULL, 0}, {"train_acc", K_NUM, 0, 1, NULL, 0},
    {"test_acc", K_NUM, 0, 1, NULL, 0},  {"phase_kind", K_STR, 0, 0, NULL, 0},
};

static const spec update_spec[] = {
    {"step", K_NUM, 0, 1e15, NULL, 0}, {"delta", K_NUM, 0, 1e30, NULL, 0},
    {"iou", K_NUM, 0, 1, NULL, 0},     {"sparsity", K_NUM, 0, 1, NULL, 0},
};

static int bad_field(const char *file, const char *key, const char *why)
{
    fprintf(stderr, "dpf: %s: field \"%s\" %s; not a dpf run file, or altered\n", file, key, why);
    return -1;
}

static int in_range(const json_t *v, const spec *s)
{
    double x = json_number_value(v);
    return json_is_number(v) && isfinite(x) && x >= s->lo && x <= s->hi;
}

static int check_one(const char *file, const json_t *v, const spec *s)
{
    char why[160];
    switch (s->kind) {
    case K_BOOL:
        return json_is_boolean(v) ? 0 : bad_field(file, s->key, "is not true or false");
    case K_STR:
        if (!json_is_string(v))
            return bad_field(file, s->key, "is not a string");
        if (s->known && !s->known(json_string_value(v)))
            return bad_field(file, s->key, "is not a known name");
        return 0;
    case K_NUMS:
        if (!json_is_array(v) || json_array_size(v) > 64)
            return bad_field(file, s->key, "is not a list of numbers");
        for (size_t i = 0; i < json_array_size(v); i++)
            if (!in_range(json_array_get(v, i), s)) {
                snprintf(why, sizeof why, "has an item not in [%g, %g]", s->lo, s->hi);
                return bad_field(file, s->key, why);
            }
        return 0;
    case K_INT:
    case K_NUM:
        if (!in_range(v, s) || (s->kind == K_INT && !json_is_integer(v))) {
            snprintf(why, sizeof why, "is not %s in [%g, %g]",
                     s->kind == K_INT ? "an integer" : "a number", s->lo, s->hi);
            return bad_field(file, s->key, why);
        }
        return 0;
    }
    return 0;
}

static int check_object(const char *file, const json_t *o, const spec *specs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_object_get(o, specs[i].key);
        if (!v || json_is_null(v)) {
            if (specs[i].required)
                return bad_field(file, specs[i].key, "is missing");
            continue;
        }
        if (check_one(file, v, &specs[i]) != 0)
            return -1;
    }
    return 0;
}

/* Layer names as the library makes them: PyTorch state_dict names. */
static int layer_name_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n < 96 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static int check_pruning(const char *file, const json_t *summary)
{
    const json_t *p = json_object_get(summary, "pruning");
    if (!p)
        return 0;
    if (!json_is_object(p))
        return bad_field(file, "pruning", "is not an object");
    const json_t *ls = json_object_get(p, "layer_sparsity");
    if (ls && !json_is_object(ls))
        return bad_field(file, "pruning.layer_sparsity", "is not an object");
    const char *name;
    const json_t *v;
    const spec frac = {"pruning.layer_sparsity", K_NUM, 0, 1, NULL, 0};
    json_object_foreach((json_t *)ls, name, v) {
        if (!layer_name_ok(name))
            return bad_field(file, "pruning.layer_sparsity", "has a key that is not a layer name");
        if (check_one(file, v, &frac) != 0)
            return -1;
    }
    const spec changing = {"pruning.mask_changing_after_epoch", K_NUMS, 0, 1, NULL, 0};
    const json_t *mc = json_object_get(p, "mask_changing_after_epoch");
    if (mc && json_array_size(mc) > 1000000)
        return bad_field(file, changing.key, "is too long");
    return mc ? check_one(file, mc, &changing) : 0;
}

int rep_check_config(const char *file, const json_t *config)
{
    return check_object(file, config, config_spec, sizeof config_spec / sizeof config_spec[0]);
}

int rep_check_summary(const char *file, const json_t *summary)
{
    if (check_object(file, summary, summary_spec, sizeof summary_spec / sizeof summary_spec[0]))
        return -1;
    return check_pruning(file, summary);
}

int rep_check_metrics_line(const char *file, int line, const json_t *m)
{
    char where[2200];
    snprintf(where, sizeof where, "%s: line %d", file, line);
    if (check_object(where, m, metrics_spec, sizeof metrics_spec / sizeof metrics_spec[0]))
        return -1;
    const json_t *ups = json_object_get(m, "mask_updates");
    if (ups && (!json_is_array(ups) || json_array_size(ups) > 10000000))
        return bad_field(where, "mask_updates", "is not a list");
    size_t i;
    const json_t *u;
    json_array_foreach(ups, i, u) {
        if (!json_is_object(u))
            return bad_field(where, "mask_updates", "has an item that is not an object");
        if (check_object(where, u, update_spec, sizeof update_spec / sizeof update_spec[0]))
            return -1;
    }
    return 0;
}
