/* progress.h — progress of a long run on stderr: a live bar on a terminal, plain lines
 * otherwise (about ten per epoch), always with epoch, step, loss, accuracy, images/s and ETA. */
#ifndef DPF_PROGRESS_H
#define DPF_PROGRESS_H

#include <stdint.h>

typedef struct dpf_progress {
    int mode;               /* 0 silent, 1 plain lines, 2 live bar */
    int epochs;
    int64_t total_steps;
    double t0, last_print;
    int bar_open;           /* a bar line is on screen without its newline */
    int width;              /* of the terminal (the bar fits in width - 1 columns) */
} dpf_progress;

/* mode -1 picks the bar when stderr is a terminal, plain lines otherwise. The bar fits the
 * terminal's width (TIOCGWINSZ, else $COLUMNS, else 80 columns). */
void dpf_progress_init(dpf_progress *p, int mode, int epochs, int64_t total_steps);
void dpf_progress_step(dpf_progress *p, int epoch, int step, int steps_per_epoch,
                       int64_t steps_done, double loss, double acc, double images_per_s);
/* Prints a finished line (e.g. the epoch summary), clearing the bar first. */
void dpf_progress_line(dpf_progress *p, const char *line);

/* Ends an open bar line, so that whatever is printed next (an error, the interrupt message,
 * the result) starts at the beginning of a line. */
void dpf_progress_end(dpf_progress *p);

#endif
