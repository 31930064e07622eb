/* plot.h — PNG figures drawn by gnuplot (Debian gnuplot-nox) for dpf report and dpf theory.
 * The data of each figure is written next to it as a whitespace-separated .dat file, so a user
 * can redraw it with other tools; the gnuplot script is kept as .gp for the same reason. */
#ifndef DPF_PLOT_H
#define DPF_PLOT_H

#include <stddef.h>

/* 1 if a gnuplot binary is on PATH (checked once). */
int plot_available(void);
/* Writes `script` to dir/name.gp and runs gnuplot on it in dir (so relative .dat paths work);
 * the script must set its own output (normally "name.png"). Returns 0, or prints one line
 * "dpf: NAME: ..." (gnuplot missing or failed, with gnuplot's first error line) and returns -1. */
int plot_draw(const char *dir, const char *name, const char *script);
/* s as the inside of a single-quoted gnuplot string: ' doubled, control characters (a newline
 * would end the string's command and start another) as spaces; truncated to fit cap. Every text
 * a script takes from data goes through this. Returns dst. */
const char *plot_quote(char *dst, size_t cap, const char *s);
/* The common preamble: pngcairo terminal of w x h pixels, output "name.png", grid, key. */
void plot_preamble(char *buf, size_t cap, const char *name, int w, int h);

#endif
