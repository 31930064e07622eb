/* cli.h — shared pieces of the dpf command-line tool: subcommands and strict option parsing
 * (every bad value is one line naming the option, then exit status 2). */
#ifndef DPF_CLI_H
#define DPF_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "dpf/net.h"

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_theory(int argc, char **argv);

/* `dpf bench --inference --model-file FILE` (cmd_bench_engine.c); rounds >= 1. */
int bench_engine(const char *path, int threads, int rounds, int json);

/* Each returns 0 on success, or prints "dpf: OPTION: ..." and returns -1. */
int cli_int(const char *opt, const char *text, int *out);
/* An integer >= min ("dpf: OPTION: must be at least MIN" otherwise). */
int cli_int_min(const char *opt, const char *text, int min, int *out);
int cli_u64(const char *opt, const char *text, uint64_t *out);
int cli_double(const char *opt, const char *text, double *out);
int cli_string(const char *opt, const char *text, char *dst, size_t cap);
/* cli_string for a file or directory: an empty value is refused. */
int cli_path(const char *opt, const char *text, char *dst, size_t cap);
/* cli_int / cli_double within [lo, hi]. */
int cli_int_in(const char *opt, const char *text, int lo, int hi, int *out);
int cli_double_in(const char *opt, const char *text, double lo, double hi, double *out);
/* "C,H,W": 1 <= C <= 3, 1 <= H, W <= 4096, nothing else. */
int cli_shape(const char *opt, const char *text, int *c, int *h, int *w);
/* path (cap bytes) replaced by its absolute, resolved form, if it exists. */
int cli_abs_path(const char *opt, char *path, size_t cap);
/* --conv-algo: "auto" or "direct" into *out (a net's option); -1 with a message otherwise. */
int cli_conv_algo(const char *text, dpf_conv_algo *out);
/* Comma-separated list of up to max doubles ("" = none; an empty item is refused). */
int cli_doubles(const char *opt, const char *text, double *out, int max, int *n);
/* RUN_DIR -> RUN_DIR/model.safetensors; a file path stays as it is. */
int cli_model_path(const char *arg, char *dst, size_t cap);
/* qsort comparison of doubles, ascending (medians of timings). */
int cli_cmp_double(const void *a, const void *b);
/* n standard normal floats, always the same (seed 1): the input of `dpf bench`. */
void cli_random_input(float *x, size_t n);
/* Prints "dpf: <message>" for the library's last error: one line, never empty. */
void cli_report_error(void);
/* "dpf SUBCOMMAND: unknown option '--x' (see dpf SUBCOMMAND --help)" etc. for getopt results. */
void cli_bad_option(const char *sub, const char *arg);

#endif
