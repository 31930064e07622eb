/* test_tmpdir.h — a per-test-program temporary directory for tests that write files:
 * tmpdir_create("/tmp/dpf_x_test_XXXXXX") in the group setup, tpath("name") for paths in it,
 * tmpdir_remove() in the group teardown (removes everything below it). */
#ifndef DPF_TEST_TMPDIR_H
#define DPF_TEST_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[64];

/* A path in the temporary directory; the result stays valid for the next 15 calls. */
static inline const char *tpath(const char *name)
{
    static char buf[16][256];
    static int next;
    char *p = buf[next++ % 16];
    snprintf(p, sizeof buf[0], "%s/%s", tmpdir, name);
    return p;
}

static inline void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[1024];
        struct stat sb;
        if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p)
            continue;
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
            remove_tree(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static inline int tmpdir_create(const char *template_path)
{
    snprintf(tmpdir, sizeof tmpdir, "%s", template_path);
    return mkdtemp(tmpdir) ? 0 : -1;
}

static inline void tmpdir_remove(void)
{
    remove_tree(tmpdir);
}

#endif
