/*
 * record.c - `cymem-stat record -o FILE -- PROGRAM [ARG]...'
 *
 * Since glibc 2.34 the allocation tracer lives in libc_malloc_debug.so.0
 * and only starts when the program calls mtrace().  Few programs do, so
 * record preloads the debug library together with cymem-mtrace.so, a
 * module of ours whose constructor calls mtrace(), and points MALLOC_TRACE
 * at FILE.  The module then clears MALLOC_TRACE, so that programs the
 * recorded one starts do not overwrite the log.
 *
 * The module is looked for in $CYMEM_STAT_PRELOAD, then in $(pkglibdir);
 * the debug library's name can be overridden with $CYMEM_STAT_MALLOC_DEBUG.
 */
#include "config.h"

#include "cymem-stat.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PKGLIBDIR
#define PKGLIBDIR "/usr/local/lib/libcymem"
#endif

/* Whether the dynamic loader can load @name; tried in a child, so that the
 * debug library never becomes part of this process. */
static int loadable(const char *name)
{
    int status;
    pid_t pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0)
        _exit(dlopen(name, RTLD_LAZY | RTLD_LOCAL) ? 0 : 1);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static unsigned long count_events(const char *path)
{
    FILE *f = fopen(path, "re");
    unsigned long n = 0;
    int c, start = 1;
    if (f == NULL)
        return 0;
    while ((c = getc(f)) != EOF) {
        if (start && c != '=')
            n++;
        start = c == '\n';
    }
    fclose(f);
    return n;
}

int record_main(const char *output, char **argv)
{
    const char *module = getenv("CYMEM_STAT_PRELOAD");
    const char *debug = getenv("CYMEM_STAT_MALLOC_DEBUG");
    const char *old = getenv("LD_PRELOAD");
    char *preload;
    struct stat st;
    int status;

    if (strcmp(argv[0], "--") == 0)
        argv++;
    if (argv[0] == NULL) {
        fprintf(stderr, "%s: record: no program given\n"
                "Try '%s --help' for more information.\n", progname, progname);
        return 2;
    }
    if (module == NULL || *module == '\0')
        module = PKGLIBDIR "/cymem-mtrace.so";
    if (debug == NULL || *debug == '\0')
        debug = "libc_malloc_debug.so.0";
    if (access(module, R_OK) != 0) {
        fprintf(stderr, "%s: record: cannot find %s: %s (set CYMEM_STAT_PRELOAD)\n",
                progname, module, strerror(errno));
        return 1;
    }
    if (!loadable(debug)) {
        fprintf(stderr, "%s: record: cannot load %s; glibc 2.34 or later ships it\n",
                progname, debug);
        return 1;
    }
    size_t len = strlen(debug) + strlen(module) + (old ? strlen(old) : 0) + 3;
    if ((preload = malloc(len)) == NULL) {
        fprintf(stderr, "%s: out of memory\n", progname);
        return 1;
    }
    snprintf(preload, len, "%s %s%s%s", debug, module, old && *old ? " " : "",
             old ? old : "");
    if (unlink(output) != 0 && errno != ENOENT) {
        fprintf(stderr, "%s: record: cannot replace '%s': %s\n", progname, output,
                strerror(errno));
        free(preload);
        return 1;
    }

    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "%s: record: fork: %s\n", progname, strerror(errno));
        free(preload);
        return 1;
    }
    if (pid == 0) {
        setenv("MALLOC_TRACE", output, 1);
        setenv("LD_PRELOAD", preload, 1);
        execvp(argv[0], argv);
        fprintf(stderr, "%s: record: cannot run '%s': %s\n", progname, argv[0],
                strerror(errno));
        _exit(127);
    }
    free(preload);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && stat(output, &st) != 0)
        return 1;
    if (stat(output, &st) != 0) {
        fprintf(stderr, "%s: record: %s wrote no trace (a static or set-user-ID "
                "program cannot be traced)\n", progname, argv[0]);
        return 1;
    }
    fprintf(stderr, "%s: recorded %lu events of %s in %s; replay them with:\n"
            "  %s replay %s\n", progname, count_events(output), argv[0], output,
            progname, output);
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "%s: record: %s died of signal %d\n", progname, argv[0],
                WTERMSIG(status));
        return 1;
    }
    if (WEXITSTATUS(status) != 0) {
        fprintf(stderr, "%s: record: %s exited with status %d\n", progname, argv[0],
                WEXITSTATUS(status));
        return 1;
    }
    return 0;
}
