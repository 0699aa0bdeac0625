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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
            (*out)[(*n)++] = (struct input){ strdup(args[i]), NULL, 0 };
            continue;
        }
        for (size_t k = 0; k < nlogs; k++)
            (*out)[(*n)++] = (struct input){ logs[k], args[i], k + 1 == nlogs };
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
    for (size_t i = 0; i < n; i++)
        free(in[i].path);
    free(in);
}
