/* cli_util.c — strict parsing of option values for the dpf tool. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "dpf/net.h"
#include "dpf/rng.h"
#include "dpf/status.h"

/* strto* skip leading white space; an option value with it is a typing error, not a number */
static int starts_blank(const char *text)
{
    return isspace((unsigned char)text[0]);
}

int cli_int(const char *opt, const char *text, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end != '\0' || starts_blank(text) || v < -2147483647L ||
        v > 2147483647L) {
        fprintf(stderr, "dpf: %s: '%s' is not an integer\n", opt, text);
        return -1;
    }
    *out = (int)v;
    return 0;
}

int cli_int_min(const char *opt, const char *text, int min, int *out)
{
    if (cli_int(opt, text, out))
        return -1;
    if (*out < min) {
        fprintf(stderr, "dpf: %s: must be at least %d\n", opt, min);
        return -1;
    }
    return 0;
}

int cli_u64(const char *opt, const char *text, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    /* at most 2^63 - 1: run files store it as a JSON (signed 64-bit) integer */
    if (errno || end == text || *end != '\0' || !isdigit((unsigned char)text[0]) ||
        v > (unsigned long long)INT64_MAX) {
        fprintf(stderr, "dpf: %s: '%s' is not an integer in [0, 2^63 - 1]\n", opt, text);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

int cli_double(const char *opt, const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end != '\0' || !isfinite(v) || starts_blank(text)) {
        fprintf(stderr, "dpf: %s: '%s' is not a number\n", opt, text);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_string(const char *opt, const char *text, char *dst, size_t cap)
{
    if (strlen(text) >= cap) {
        fprintf(stderr, "dpf: %s: value too long (max %zu characters)\n", opt, cap - 1);
        return -1;
    }
    memcpy(dst, text, strlen(text) + 1);
    return 0;
}

int cli_path(const char *opt, const char *text, char *dst, size_t cap)
{
    if (!text[0]) {
        fprintf(stderr, "dpf: %s: the path is empty\n", opt);
        return -1;
    }
    return cli_string(opt, text, dst, cap);
}

int cli_int_in(const char *opt, const char *text, int lo, int hi, int *out)
{
    if (cli_int(opt, text, out))
        return -1;
    if (*out < lo || *out > hi) {
        fprintf(stderr, "dpf: %s: %d is out of range [%d, %d]\n", opt, *out, lo, hi);
        return -1;
    }
    return 0;
}

int cli_double_in(const char *opt, const char *text, double lo, double hi, double *out)
{
    if (cli_double(opt, text, out))
        return -1;
    if (!(*out >= lo && *out <= hi)) {
        fprintf(stderr, "dpf: %s: %g is out of range [%g, %g]\n", opt, *out, lo, hi);
        return -1;
    }
    return 0;
}

int cli_shape(const char *opt, const char *text, int *c, int *h, int *w)
{
    int v[3], n = 0;
    const char *p = text;
    for (; n < 3; n++) {
        char *end;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (errno || end == p || !isdigit((unsigned char)*p) || x < 1 || x > 4096 ||
            *end != (n < 2 ? ',' : '\0'))
            break;
        v[n] = (int)x;
        p = end + 1;
    }
    if (n < 3 || v[0] > 3) {
        fprintf(stderr, "dpf: %s: '%s' is not C,H,W with 1 <= C <= 3 and 1 <= H, W <= 4096\n",
                opt, text);
        return -1;
    }
    *c = v[0], *h = v[1], *w = v[2];
    return 0;
}

int cli_conv_algo(const char *text, dpf_conv_algo *out)
{
    if (dpf_conv_algo_parse(text, out) == DPF_OK && *out != DPF_CONV_WINOGRAD)
        return 0;
    fprintf(stderr, "dpf: --conv-algo: '%s' is not auto or direct\n", text);
    return -1;
}

int cli_doubles(const char *opt, const char *text, double *out, int max, int *n)
{
    char buf[256];
    if (cli_string(opt, text, buf, sizeof buf))
        return -1;
    *n = 0;
    if (buf[0] == '\0')
        return 0; /* an empty list: none */
    for (char *tok = buf, *comma; tok; tok = comma ? comma + 1 : NULL) {
        comma = strchr(tok, ',');
        if (comma)
            *comma = '\0';
        if (!tok[0]) { /* "0.5,,0.75", "0.5,": an item is missing */
            fprintf(stderr, "dpf: %s: '%s' has an empty item\n", opt, text);
            return -1;
        }
        if (*n == max) {
            fprintf(stderr, "dpf: %s: at most %d values\n", opt, max);
            return -1;
        }
        if (cli_double(opt, tok, &out[(*n)++]))
            return -1;
    }
    return 0;
}

void cli_report_error(void)
{
    /* one line, never empty: control characters (a newline in a path) shown as '?' */
    const char *msg = dpf_last_error();
    if (!msg || !msg[0] || strcmp(msg, "no error") == 0) {
        fprintf(stderr, "dpf: failed (no reason was recorded; please report this)\n");
        return;
    }
    fputs("dpf: ", stderr);
    for (const char *c = msg; *c; c++)
        fputc((unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c, stderr);
    fputc('\n', stderr);
}

int cli_abs_path(const char *opt, char *path, size_t cap)
{
    char real[PATH_MAX];
    if (!realpath(path, real))
        return 0; /* left as given: whoever opens it says what is wrong */
    return cli_string(opt, real, path, cap);
}

void cli_bad_option(const char *sub, const char *arg)
{
    fprintf(stderr, "dpf %s: unknown or incomplete option '%s' (see dpf %s --help)\n", sub,
            arg ? arg : "?", sub);
}

/* RUN_DIR -> RUN_DIR/model.safetensors; a file path stays as it is. A run that has a
 * checkpoint but no model yet did not finish: that is said (and -1 returned). */
int cli_model_path(const char *arg, char *dst, size_t cap)
{
    struct stat st;
    if (stat(arg, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(dst, cap, "%s", arg);
        return 0;
    }
    snprintf(dst, cap, "%s/model.safetensors", arg);
    char ckpt[2048];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", arg);
    if (stat(dst, &st) != 0 && stat(ckpt, &st) == 0) {
        fprintf(stderr, "dpf: %s has no model yet: the run did not finish (continue it with dpf "
                "train --resume %s)\n", arg, arg);
        return -1;
    }
    return 0;
}

void cli_random_input(float *x, size_t n)
{
    dpf_rng r;
    dpf_rng_seed(&r, 1);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)dpf_rng_normal(&r);
}

int cli_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
