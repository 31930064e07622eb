/* cli_util.c — strict parsing of option values for the dpf tool. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "dpf/net.h"
#include "dpf/status.h"

int cli_int(const char *opt, const char *text, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end != '\0' || v < -2147483647L || v > 2147483647L) {
        fprintf(stderr, "dpf: %s: '%s' is not an integer\n", opt, text);
        return -1;
    }
    *out = (int)v;
    return 0;
}

int cli_u64(const char *opt, const char *text, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end != '\0' || text[0] == '-') {
        fprintf(stderr, "dpf: %s: '%s' is not a non-negative integer\n", opt, text);
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
    if (errno || end == text || *end != '\0' || !isfinite(v)) {
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
        return 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
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
    fprintf(stderr, "dpf: %s\n", dpf_last_error());
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
