/* config.c — what the option table (options.c) gives a run: defaults, the text of one option
 * parsed onto a configuration, the checks (errors name the option as on the
 * command line), the resume check, and the configuration as JSON (config.json, checkpoints). */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpf/data.h"
#include "dpf/net.h"
#include "prune/pruner.h"
#include "train/config.h"

#define FIELD(cfg, o, T) ((T *)((char *)(cfg) + (o)->offset))
#define CFIELD(cfg, o, T) ((const T *)((const char *)(cfg) + (o)->offset))

static const char *opt_name(const dpf_train_option *o, char buf[64])
{
    snprintf(buf, 64, o->name ? "--%s" : "%s", o->name ? o->name : o->key);
    return buf;
}

/* The index of word in the option's choices, or -1. */
static int choice_index(const dpf_train_option *o, const char *word)
{
    for (int i = 0; o->choices[i]; i++)
        if (strcmp(o->choices[i], word) == 0)
            return i;
    return -1;
}

static dpf_status not_one_of(const dpf_train_option *o, const char *text)
{
    char list[128] = "", name[64];
    for (int i = 0; o->choices[i]; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                 i == 0 ? "" : o->choices[i + 1] ? ", " : " or ", o->choices[i]);
    return dpf_error(DPF_ERR_ARG, "%s: '%s' is not %s", opt_name(o, name), text, list);
}

static dpf_status parse_number(const dpf_train_option *o, const char *text, double *v)
{
    char *end, name[64];
    errno = 0;
    *v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(*v) || isspace((unsigned char)text[0]))
        return dpf_error(DPF_ERR_ARG, "%s: '%s' is not a number", opt_name(o, name), text);
    return DPF_OK;
}

/* "a,b,c": a list (up to its capacity) or the three floats of a FLOAT3. */
static dpf_status parse_list(dpf_train_config *c, const dpf_train_option *o, const char *text)
{
    char buf[256], name[64];
    int three = o->type == DPF_OPTION_FLOAT3, max = three ? 3 : (int)(o->size / sizeof(double));
    int n = 0;
    double v[64];
    snprintf(buf, sizeof buf, "%s", text);
    if (text[0] && (text[0] == ',' || text[strlen(text) - 1] == ',' || strstr(text, ",,")))
        return dpf_error(DPF_ERR_ARG, "%s: '%s' has an empty item", opt_name(o, name), text);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (n == max)
            return dpf_error(DPF_ERR_ARG, "%s: at most %d values", opt_name(o, name), max);
        dpf_status st = parse_number(o, tok, &v[n++]);
        if (st != DPF_OK)
            return st;
    }
    if (three && n != 3)
        return dpf_error(DPF_ERR_ARG, "%s: 3 values expected", opt_name(o, name));
    for (int k = 0; k < n; k++)
        if (three)
            FIELD(c, o, float)[k] = (float)v[k];
        else
            FIELD(c, o, double)[k] = v[k];
    if (!three)
        *(int *)((char *)c + o->count) = n;
    return DPF_OK;
}

dpf_status dpf_train_option_parse(dpf_train_config *c, const dpf_train_option *o, const char *text)
{
    char *end, name[64];
    double v = 0;
    errno = 0;
    dpf_status st = DPF_OK;
    switch (o->type) {
    case DPF_OPTION_INT: {
        long i = strtol(text, &end, 10);
        if (errno || end == text || *end || i < -2147483647L || i > 2147483647L ||
            isspace((unsigned char)text[0]))
            return dpf_error(DPF_ERR_ARG, "%s: '%s' is not an integer", opt_name(o, name), text);
        *FIELD(c, o, int) = (int)i;
        break;
    }
    case DPF_OPTION_U64: {
        unsigned long long u = strtoull(text, &end, 10);
        /* at most 2^63 - 1: config.json stores it as a JSON (signed 64-bit) integer */
        if (errno || end == text || *end || !isdigit((unsigned char)text[0]) ||
            u > (unsigned long long)INT64_MAX)
            return dpf_error(DPF_ERR_ARG, "%s: '%s' is not an integer in [0, 2^63 - 1]",
                             opt_name(o, name), text);
        *FIELD(c, o, uint64_t) = (uint64_t)u;
        break;
    }
    case DPF_OPTION_DOUBLE:
        if ((st = parse_number(o, text, &v)) == DPF_OK)
            *FIELD(c, o, double) = v;
        break;
    case DPF_OPTION_BOOL:
        if (strcmp(text, "on") != 0 && strcmp(text, "off") != 0)
            return dpf_error(DPF_ERR_ARG, "%s: '%s' is not on or off", opt_name(o, name), text);
        *FIELD(c, o, int) = text[1] == 'n';
        break;
    case DPF_OPTION_TEXT:
        if (strlen(text) >= o->size)
            return dpf_error(DPF_ERR_ARG, "%s: value too long (max %zu characters)",
                             opt_name(o, name), o->size - 1);
        memcpy(FIELD(c, o, char), text, strlen(text) + 1);
        break;
    case DPF_OPTION_CHOICE:
        if (choice_index(o, text) < 0)
            return not_one_of(o, text);
        *FIELD(c, o, int) = (int)o->min + choice_index(o, text);
        break;
    case DPF_OPTION_LIST: case DPF_OPTION_FLOAT3: st = parse_list(c, o, text); break;
    }
    if (st == DPF_OK && o->given)
        *(int *)((char *)c + o->given) = 1;
    return st;
}

void dpf_train_config_defaults(dpf_train_config *c)
{
    int n;
    const dpf_train_option *t = dpf_train_options(&n);
    memset(c, 0, sizeof *c);
    for (int i = 0; i < n; i++)
        if (t[i].def) /* the table's own text: it parses */
            (void)dpf_train_option_parse(c, &t[i], t[i].def);
}

/* Whether option o has the same value (and was given or not alike) in a and b. */
static int same_value(const dpf_train_option *o, const dpf_train_config *a,
                      const dpf_train_config *b)
{
    if (o->given && *(const int *)((const char *)a + o->given) !=
                        *(const int *)((const char *)b + o->given))
        return 0;
    if (o->type == DPF_OPTION_TEXT)
        return strncmp(CFIELD(a, o, char), CFIELD(b, o, char), o->size) == 0;
    size_t size = o->size;
    if (o->type == DPF_OPTION_LIST) {
        int n = *(const int *)((const char *)a + o->count);
        if (n != *(const int *)((const char *)b + o->count))
            return 0;
        size = (size_t)n * sizeof(double);
    }
    return memcmp(CFIELD(a, o, char), CFIELD(b, o, char), size) == 0;
}

static int uses(const char *methods, const char *method)
{
    size_t n = strlen(method);
    for (const char *p = methods; (p = strstr(p, method)) != NULL; p += n)
        if ((p == methods || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
            return 1;
    return 0;
}

/* The option's range, its choices, and the methods that use it. */
static dpf_status check_option(const dpf_train_option *o, const dpf_train_config *c,
                               const dpf_train_config *defaults)
{
    char name[64];
    if ((o->flags & DPF_OPTION_STRICT) && !uses(o->methods, c->method) &&
        !same_value(o, c, defaults))
        return dpf_error(DPF_ERR_ARG, "%s works with --method %s", opt_name(o, name),
                         o->methods);
    const char *text = CFIELD(c, o, char);
    if (o->type == DPF_OPTION_TEXT && o->choices && choice_index(o, text) < 0)
        return not_one_of(o, text);
    if (o->type != DPF_OPTION_INT && o->type != DPF_OPTION_DOUBLE && o->type != DPF_OPTION_CHOICE)
        return DPF_OK;
    double v = o->type == DPF_OPTION_DOUBLE ? *CFIELD(c, o, double) : *CFIELD(c, o, int);
    int lo_open = (o->flags & DPF_OPTION_MIN_OPEN) != 0;
    int hi_open = (o->flags & DPF_OPTION_MAX_OPEN) != 0;
    if ((o->flags & DPF_OPTION_AUTO) && v == -1)
        return DPF_OK;
    if ((lo_open ? v > o->min : v >= o->min) && (hi_open ? v < o->max : v <= o->max))
        return DPF_OK;
    if (o->max == DBL_MAX)
        return dpf_error(DPF_ERR_ARG, "%s: %.15g must be %s %.15g", opt_name(o, name), v,
                         lo_open ? ">" : ">=", o->min);
    return dpf_error(DPF_ERR_ARG, "%s: %.15g is out of range %c%.15g, %.15g%c", opt_name(o, name),
                     v, lo_open ? '(' : '[', o->min, o->max, hi_open ? ')' : ']');
}

/* What no single row says: registry look-ups and options that depend on each other. */
static dpf_status check_relations(const dpf_train_config *c)
{
    if (c->ramp_end >= 0 && !(c->ramp_end > c->ramp_start))
        return dpf_error(DPF_ERR_ARG, "--ramp-start/--ramp-end: need 0 <= start < end <= 1, got "
                         "%g and %g", c->ramp_start, c->ramp_end);
    if (c->nesterov && c->momentum == 0 && strcmp(c->optimizer, "sgd") == 0)
        return dpf_error(DPF_ERR_ARG, "--nesterov needs --momentum > 0 (or use --no-nesterov)");
    if (c->warmup_epochs > c->epochs)
        return dpf_error(DPF_ERR_ARG, "--warmup: %g is out of range [0, --epochs]",
                         c->warmup_epochs);
    for (int i = 0; i < c->n_milestones; i++)
        if (!(c->milestones[i] > 0 && c->milestones[i] < 1) ||
            (i > 0 && c->milestones[i] <= c->milestones[i - 1]))
            return dpf_error(DPF_ERR_ARG, "--milestones: need increasing fractions in (0, 1), "
                             "got %g at position %d", c->milestones[i], i + 1);
    if (c->resume && !c->out[0])
        return dpf_error(DPF_ERR_ARG, "--resume needs the run directory");
    return DPF_OK;
}

dpf_status dpf_train_config_check(const dpf_train_config *c)
{
    if (!dpf_dataset_known(c->data))
        return dpf_error(DPF_ERR_ARG, "--data: unknown data set '%s' (known: mnist, "
                         "fashion-mnist, cifar10, cifar100)", c->data);
    if (!dpf_model_known(c->model))
        return dpf_error(DPF_ERR_ARG, "--model: unknown model '%s' (known: %s)", c->model,
                         dpf_model_list());
    if (!dpf_method_find(c->method))
        return dpf_error(DPF_ERR_ARG, "--method: unknown method '%s' (known: %s)", c->method,
                         dpf_method_list());
    dpf_train_config defaults;
    dpf_train_config_defaults(&defaults);
    int n;
    const dpf_train_option *t = dpf_train_options(&n);
    dpf_status st = DPF_OK;
    for (int i = 0; i < n && st == DPF_OK; i++)
        st = check_option(&t[i], c, &defaults);
    if (st == DPF_OK)
        st = check_relations(c);
    return st == DPF_OK ? dpf_method_check(c) : st;
}

int dpf_train_config_compatible(const dpf_train_config *saved, const dpf_train_config *now)
{
    char name[64], may[256] = "";
    int n;
    const dpf_train_option *t = dpf_train_options(&n);
    for (int i = 0; i < n; i++)
        if (t[i].flags & DPF_OPTION_RESUMABLE)
            snprintf(may + strlen(may), sizeof may - strlen(may), "%s--%s", may[0] ? ", " : "",
                     t[i].name);
    for (int i = 0; i < n; i++) {
        if ((t[i].flags & (DPF_OPTION_RESUMABLE | DPF_OPTION_RUN)) || same_value(&t[i], saved, now))
            continue;
        dpf_error(DPF_ERR_ARG, "--resume %s: %s differs from the interrupted run's; a run "
                  "continues with its own options (only %s may change)", now->out,
                  opt_name(&t[i], name), may);
        return -1;
    }
    return 0;
}

json_t *dpf_train_config_json(const dpf_train_config *c, int report)
{
    int n;
    const dpf_train_option *t = dpf_train_options(&n);
    json_t *obj = json_object();
    for (int i = 0; i < n && obj; i++) {
        const dpf_train_option *o = &t[i];
        const double *d = CFIELD(c, o, double);
        json_t *v = NULL;
        if ((o->flags & DPF_OPTION_RUN) || (report && (o->flags & DPF_OPTION_NO_REPORT)) ||
            (o->given && !*(const int *)((const char *)c + o->given)))
            continue;
        switch (o->type) {
        case DPF_OPTION_INT: v = json_integer(*CFIELD(c, o, int)); break;
        case DPF_OPTION_U64: v = json_integer((json_int_t)*CFIELD(c, o, uint64_t)); break;
        case DPF_OPTION_DOUBLE: v = json_real(*d); break;
        case DPF_OPTION_BOOL: v = json_boolean(*CFIELD(c, o, int)); break;
        case DPF_OPTION_TEXT: v = json_string(CFIELD(c, o, char)); break;
        case DPF_OPTION_CHOICE:
            v = (o->flags & DPF_OPTION_JSON_INT)
                    ? json_integer(*CFIELD(c, o, int))
                    : json_string(o->choices[*CFIELD(c, o, int) - (int)o->min]);
            break;
        case DPF_OPTION_LIST: case DPF_OPTION_FLOAT3:
            v = json_array();
            int len = o->type == DPF_OPTION_FLOAT3 ? 3 : *(const int *)((const char *)c + o->count);
            for (int k = 0; k < len; k++)
                json_array_append_new(v, json_real(o->type == DPF_OPTION_LIST ? d[k]
                                                   : (double)CFIELD(c, o, float)[k]));
            break;
        }
        json_object_set_new(obj, o->key, v);
    }
    return obj;
}

/* One value of a saved configuration onto c, through the option's text. */
static dpf_status from_json(dpf_train_config *c, const dpf_train_option *o, const json_t *v)
{
    char text[1100] = "", name[64];
    size_t k;
    const json_t *e;
    if (json_is_integer(v) && o->type == DPF_OPTION_CHOICE && (o->flags & DPF_OPTION_JSON_INT)) {
        json_int_t i = json_integer_value(v);
        if (i < o->min || i > o->max)
            return dpf_error(DPF_ERR_ARG, "%s: %lld is out of range", opt_name(o, name),
                             (long long)i);
        return *FIELD(c, o, int) = (int)i, DPF_OK;
    }
    if (json_is_string(v))
        snprintf(text, sizeof text, "%s", json_string_value(v));
    else if (json_is_integer(v) && o->type == DPF_OPTION_U64) /* written as signed */
        snprintf(text, sizeof text, "%" PRIu64, (uint64_t)json_integer_value(v));
    else if (json_is_integer(v))
        snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v));
    else if (json_is_boolean(v))
        snprintf(text, sizeof text, "%s", json_is_true(v) ? "on" : "off");
    json_array_foreach(v, k, e) /* doubles in 17 digits: exact */
        snprintf(text + strlen(text), sizeof text - strlen(text), "%s%.17g", k ? "," : "",
                 json_is_number(e) ? json_number_value(e) : NAN);
    if (json_is_real(v))
        snprintf(text, sizeof text, "%.17g", json_real_value(v));
    return dpf_train_option_parse(c, o, text);
}

dpf_status dpf_train_config_from_json(dpf_train_config *c, const json_t *obj, const char *where)
{
    dpf_train_config_defaults(c); /* an option the file does not have: its default */
    if (!json_is_object(obj))
        return dpf_error(DPF_ERR_FORMAT, "%s: the configuration is not a JSON object", where);
    if (!json_object_get(obj, "sfp_ramp"))
        c->sfp_ramp = 0; /* a run from before the option: SFP ran at the target throughout */
    int n;
    const dpf_train_option *t = dpf_train_options(&n);
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        int i = 0;
        while (i < n && strcmp(t[i].key, key) != 0)
            i++;
        if (i == n)
            return dpf_error(DPF_ERR_FORMAT, "%s: option '%s' is unknown to this dpf version",
                             where, key);
        if (from_json(c, &t[i], v) != DPF_OK) {
            char why[512];
            snprintf(why, sizeof why, "%s", dpf_last_error());
            return dpf_error(DPF_ERR_FORMAT, "%s: option '%s': %s", where, key, why);
        }
    }
    return DPF_OK;
}
