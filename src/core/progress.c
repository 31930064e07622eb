/* progress.c — the live bar / plain progress lines of a training run (see progress.h). */
#include "core/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/util.h"

/* Columns of the terminal on stderr: TIOCGWINSZ, else $COLUMNS, else 80. */
static int terminal_width(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *cols = getenv("COLUMNS");
    char *end;
    long n = cols ? strtol(cols, &end, 10) : 0;
    return cols && end != cols && *end == '\0' && n > 0 && n < 10000 ? (int)n : 80;
}

/* The bar line in at most width - 1 columns (a line of exactly the width wraps on some
 * terminals): the full line, else without the # bar, else cut. */
static void bar_line(char *out, size_t cap, int width, int epoch, int epochs, int step,
                     int steps, double loss, double acc, double ips, const char *eta)
{
    char bar[21];
    int fill = (int)(20.0 * step / steps);
    for (int i = 0; i < 20; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[20] = '\0';
    size_t max = width > 1 ? (size_t)width - 1 : 1;
    snprintf(out, cap, "epoch %d/%d [%s] %d/%d loss %.4f acc %.2f%% %.0f img/s ETA %s", epoch,
             epochs, bar, step, steps, loss, 100 * acc, ips, eta);
    if (strlen(out) > max)
        snprintf(out, cap, "epoch %d/%d %d/%d loss %.4f acc %.2f%% %.0f img/s ETA %s", epoch,
                 epochs, step, steps, loss, 100 * acc, ips, eta);
    if (strlen(out) > max && max < cap)
        out[max] = '\0';
}

void dpf_progress_init(dpf_progress *p, int mode, int epochs, int64_t total_steps)
{
    p->mode = mode < 0 ? (isatty(STDERR_FILENO) ? 2 : 1) : mode;
    p->epochs = epochs;
    p->total_steps = total_steps;
    p->t0 = p->last_print = dpf_now();
    p->bar_open = 0;
    p->width = p->mode == 2 ? terminal_width() : 80;
}

void dpf_progress_step(dpf_progress *p, int epoch, int step, int steps_per_epoch,
                       int64_t steps_done, double loss, double acc, double images_per_s)
{
    if (p->mode == 0)
        return;
    double now = dpf_now();
    int tenth = steps_per_epoch >= 10 ? steps_per_epoch / 10 : 1;
    int due = p->mode == 2 ? now - p->last_print >= 0.2 || step == steps_per_epoch
                           : step % tenth == 0 && step != steps_per_epoch;
    if (!due)
        return;
    p->last_print = now;
    double elapsed = now - p->t0;
    double eta = steps_done > 0 ? elapsed / (double)steps_done * (double)(p->total_steps - steps_done)
                                : 0;
    char eta_s[32];
    dpf_format_duration(eta_s, sizeof eta_s, eta);
    if (p->mode == 2) {
        char line[512];
        bar_line(line, sizeof line, p->width, epoch, p->epochs, step, steps_per_epoch, loss, acc,
                 images_per_s, eta_s);
        fprintf(stderr, "\r\033[K%s", line);
        p->bar_open = 1;
    } else {
        fprintf(stderr, "epoch %d/%d step %d/%d loss %.4f acc %.2f%% %.0f img/s ETA %s\n", epoch,
                p->epochs, step, steps_per_epoch, loss, 100 * acc, images_per_s, eta_s);
    }
    fflush(stderr);
}

void dpf_progress_line(dpf_progress *p, const char *line)
{
    if (p->mode == 0)
        return;
    if (p->bar_open)
        fputs("\r\033[K", stderr);
    p->bar_open = 0;
    fprintf(stderr, "%s\n", line);
    fflush(stderr);
}

void dpf_progress_end(dpf_progress *p)
{
    if (p->bar_open)
        fputc('\n', stderr); /* the bar's last state stays: where the run got to */
    p->bar_open = 0;
    fflush(stderr);
}
