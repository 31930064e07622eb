/* plot.c — runs gnuplot on a script file and reports its failure in one line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "plot.h"

int plot_available(void)
{
    static int known = -1;
    if (known < 0)
        known = system("command -v gnuplot >/dev/null 2>&1") == 0;
    return known;
}

const char *plot_quote(char *dst, size_t cap, const char *s)
{
    size_t n = 0;
    for (; *s && n + 2 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\'')
            dst[n++] = '\'', dst[n++] = '\'';
        else
            dst[n++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    if (cap)
        dst[n < cap ? n : cap - 1] = '\0';
    return dst;
}

void plot_preamble(char *buf, size_t cap, const char *name, int w, int h)
{
    snprintf(buf, cap,
             "set terminal pngcairo size %d,%d font 'Sans,10' noenhanced\n"
             "set output '%s.png'\n"
             "set grid lc rgb '#dddddd'\n"
             "set key outside right top\n",
             w, h, name);
}

/* Single quotes for the shell: ' -> '\'' */
static void shell_quote(char *dst, size_t cap, const char *s)
{
    size_t n = 0;
    if (cap < 3)
        return;
    dst[n++] = '\'';
    for (; *s && n + 5 < cap; s++) {
        if (*s == '\'') {
            memcpy(dst + n, "'\\''", 4);
            n += 4;
        } else {
            dst[n++] = *s;
        }
    }
    dst[n++] = '\'';
    dst[n] = '\0';
}

int plot_draw(const char *dir, const char *name, const char *script)
{
    if (!plot_available()) {
        fprintf(stderr, "dpf: %s: gnuplot is not installed (Debian gnuplot-nox, installed by "
                "scripts/setup.sh); the data is in %s/%s.gp and .dat\n", name, dir, name);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.gp", dir, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(script, f) < 0 || fclose(f) != 0) {
        if (f)
            fclose(f);
        fprintf(stderr, "dpf: %s: cannot write\n", path);
        return -1;
    }
    if (!plot_available())
        return -1;
    char qdir[4200], qname[600], cmd[5000];
    shell_quote(qdir, sizeof qdir, dir);
    shell_quote(qname, sizeof qname, name);
    snprintf(cmd, sizeof cmd, "cd %s && gnuplot %s.gp 2>&1", qdir, qname);
    FILE *p = popen(cmd, "r");
    if (!p) {
        fprintf(stderr, "dpf: %s: cannot start gnuplot\n", name);
        return -1;
    }
    char line[512], first[512] = "";
    while (fgets(line, sizeof line, p))
        if (!first[0] && strspn(line, " \t\r\n") < strlen(line) &&
            !strstr(line, "empty x range") && !strstr(line, "empty y range")) /* one point */
            snprintf(first, sizeof first, "%s", line);
    int rc = pclose(p);
    first[strcspn(first, "\r\n")] = '\0';
    if (rc != 0) {
        fprintf(stderr, "dpf: %s: gnuplot failed on %s/%s.gp%s%s\n", name, dir, name,
                first[0] ? ": " : "", first);
        return -1;
    }
    if (first[0]) /* a warning, e.g. a data file with no valid points: the PNG is still drawn */
        fprintf(stderr, "dpf: %s: gnuplot: %s\n", name, first);
    return 0;
}
