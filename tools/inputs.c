/*
 * inputs.c - what `cymem-stat replay' is given: trace files, and
 * recordings made by `cymem-stat record', whose logs are BASE.PID.
 *
 * An argument that names a file is one trace.  One that names no file but
 * has logs BASE.PID beside it is a recording: each of its logs is replayed
 * as a row of its own (one process), and a row "total" sums them.
 */
#include "config.h"

#include "cymem-stat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A copy of the file @path in an unnamed file, into *@copy: 0, or -1 with
 * a message.  Each line is checked as it comes, as replay_build() checks
 * it: a stream that is no trace (/dev/zero, a program's output) is
 * refused at its first bad line, with replay_build()'s message for it,
 * not copied until the disk is full. */
static int copy_of(const char *path, FILE **copy, char *err, size_t errlen)
{
    char *line = NULL;
    size_t cap = 0;
    unsigned long lineno = 0;
    ssize_t len;
    FILE *in = fopen(path, "re"), *out = in ? tmpfile() : NULL;
    if (out == NULL) {
        snprintf(err, errlen, "cannot %s '%s': %s", in ? "copy" : "open", path,
                 strerror(errno));
        if (in)
            fclose(in);
        return -1;
    }
    int bad = 0;
    while ((len = replay_read_line(in, path, &lineno, &line, &cap, err, errlen)) > 0) {
        if (fwrite(line, 1, (size_t)len, out) != (size_t)len) {
            bad = 1;
            break;
        }
        if (line[len - 1] != '\n')
            break;   /* the last line, cut short */
    }
    if (!bad && len >= 0 && fflush(out) != 0)
        bad = 1;
    if (bad)
        snprintf(err, errlen, "%s: copy error: %s", path, strerror(errno));
    free(line);
    fclose(in);
    if (bad || len < 0) {
        fclose(out);
        return -1;
    }
    fcntl(fileno(out), F_SETFD, FD_CLOEXEC);   /* not for the runs */
    *copy = out;
    return 0;
}

int inputs_expand(char **args, int nargs, struct input **out, size_t *n, char *err,
                  size_t errlen)
{
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    for (int i = 0; i < nargs; i++) {
        struct stat st;
        char **logs = NULL;
        size_t nlogs = 0;
        if (stat(args[i], &st) != 0) {
            if (errno != ENOENT) {
                /* Not a missing file: say what is wrong with the name. */
                snprintf(err, errlen, "cannot open '%s': %s", args[i], strerror(errno));
                goto fail;
            }
            if (logset_find(args[i], &logs, &nlogs) != 0 || nlogs == 0) {
                snprintf(err, errlen, "cannot open '%s': %s (nor is it a recording: no "
                         "%s.PID)", args[i], strerror(ENOENT), args[i]);
                goto fail;
            }
        } else if (S_ISDIR(st.st_mode)) {
            /* record -o NAME beside a directory NAME: its logs. */
            size_t len = strlen(args[i]);
            if (args[i][len - 1] == '/' || logset_find(args[i], &logs, &nlogs) != 0 ||
                nlogs == 0) {
                snprintf(err, errlen, "'%s' is a directory (and not a recording: no "
                         "%s.PID)", args[i], args[i]);
                goto fail;
            }
        }
        size_t want = *n + (nlogs ? nlogs : 1);
        if (want > cap) {
            cap = want * 2;
            struct input *v = realloc(*out, cap * sizeof *v);
            if (v == NULL) {
                logset_free(logs, nlogs);
                snprintf(err, errlen, "out of memory");
                goto fail;
            }
            *out = v;
        }
        if (nlogs == 0) {
            struct input *in = &(*out)[(*n)++];
            *in = (struct input){ strdup(args[i]), NULL, 0, NULL };
            /* A pipe or a terminal gives its lines once. */
            if ((S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISSOCK(st.st_mode)) &&
                copy_of(args[i], &in->copy, err, errlen) != 0)
                goto fail;
            continue;
        }
        for (size_t k = 0; k < nlogs; k++)
            (*out)[(*n)++] = (struct input){ logs[k], args[i], k + 1 == nlogs, NULL };
        free(logs);   /* the names now belong to the inputs */
    }
    for (size_t i = 0; i < *n; i++)
        if ((*out)[i].path == NULL) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    return 0;
fail:
    inputs_free(*out, *n);
    *out = NULL;
    *n = 0;
    return -1;
}

void inputs_free(struct input *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(in[i].path);
        if (in[i].copy)
            fclose(in[i].copy);
    }
    free(in);
}
