/* progress.c — the live bar / plain progress lines of a training run (see progress.h). */
#include "core/progress.h"

#include <stdio.h>
#include <unistd.h>

#include "core/util.h"

void dpf_progress_init(dpf_progress *p, int mode, int epochs, int64_t total_steps)
{
    p->mode = mode < 0 ? (isatty(STDERR_FILENO) ? 2 : 1) : mode;
    p->epochs = epochs;
    p->total_steps = total_steps;
    p->t0 = p->last_print = dpf_now();
    p->bar_open = 0;
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
        char bar[21];
        int fill = (int)(20.0 * step / steps_per_epoch);
        for (int i = 0; i < 20; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[20] = '\0';
        fprintf(stderr, "\r\033[Kepoch %d/%d [%s] %d/%d loss %.4f acc %.2f%% %.0f img/s ETA %s",
                epoch, p->epochs, bar, step, steps_per_epoch, loss, 100 * acc, images_per_s,
                eta_s);
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
