/*
 * record.c - `cymem-stat record -o FILE -- PROGRAM [ARG]...'
 *
 * Since glibc 2.34 the allocation tracer lives in libc_malloc_debug.so.0
 * and only starts when the program calls mtrace().  Few programs do, so
 * record preloads the debug library together with cymem-mtrace.so, a
 * module of ours (mtrace-start.c) that traces every process of the
 * recording into a log of its own, FILE.PID, across fork and exec: record
 * passes FILE to it as $CYMEM_STAT_TRACE.  Then it counts the processes
 * and the events, and checks that every log is complete.
 *
 * The module is looked for in $CYMEM_STAT_PRELOAD, then in $(pkglibdir);
 * the debug library's name can be overridden with $CYMEM_STAT_MALLOC_DEBUG.
 */
#include "config.h"

#include "cymem-stat.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pkglibdir.h"   /* PKGLIBDIR, made by make */

/* Events (lines that are not "= ...") of a log, and whether its last line
 * is "= End": a log that ends otherwise was cut short.  *@written: whether
 * its writes went through, as far as the log shows: the module writes
 * "= Start" as soon as it makes a log, and whole lines, so an empty log,
 * or one whose last line has no newline, is one a write to failed. */
static unsigned long count_events(const char *path, int *complete, int *written)
{
    FILE *f = fopen(path, "re");
    unsigned long n = 0;
    char line[64];
    int start = 1, last_end = 0;
    *complete = 0;
    *written = 1;
    if (f == NULL)
        return 0;
    if ((*written = getc(f) != EOF))
        rewind(f);
    while (fgets(line, sizeof line, f)) {
        if (start) {
            last_end = strcmp(line, "= End\n") == 0;
            if (line[0] != '=')
                n++;
        }
        start = strchr(line, '\n') != NULL;
        if (!start)
            last_end = 0;
    }
    *complete = last_end && start;
    *written = *written && start;
    fclose(f);
    return n;
}

static int cmp_pid(const void *a, const void *b)
{
    const char *x = strrchr(*(char *const *)a, '.'), *y = strrchr(*(char *const *)b, '.');
    long px = atol(x + 1), py = atol(y + 1);
    return (px > py) - (px < py);
}

/* Whether @path is a log: a file whose first line is "= Start", as the
 * module writes it as soon as it creates the file. */
static int is_log(const char *path)
{
    static const char start[] = "= Start\n";
    char head[sizeof start - 1];
    struct stat st;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int yes = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
              read(fd, head, sizeof head) == (ssize_t)sizeof head &&
              memcmp(head, start, sizeof head) == 0;
    close(fd);
    return yes;
}

/* The directory of @path into @dir (PATH_MAX bytes): 0, or -1 if too long. */
static int dir_of(const char *path, char *dir)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        strcpy(dir, ".");
    else if ((size_t)(slash - path) >= PATH_MAX)
        return -1;
    else
        snprintf(dir, PATH_MAX, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    return 0;
}

int logset_find(const char *base, char ***paths, size_t *n)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(base, '/'), *name = slash ? slash + 1 : base;
    size_t nlen = strlen(name), cap = 0;
    *paths = NULL;
    *n = 0;
    if (dir_of(base, dir) != 0)
        return -1;
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        const char *p = e->d_name;
        if (strncmp(p, name, nlen) != 0 || p[nlen] != '.' || p[nlen + 1] == '\0' ||
            strspn(p + nlen + 1, "0123456789") != strlen(p + nlen + 1))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char **v = realloc(*paths, cap * sizeof *v);
            if (v == NULL)
                goto nomem;
            *paths = v;
        }
        size_t len = strlen(base) + strlen(p) + 2;
        if (((*paths)[*n] = malloc(len)) == NULL)
            goto nomem;
        snprintf((*paths)[*n], len, "%s%s", base, p + nlen);
        (*n)++;
    }
    closedir(d);
    if (*n > 1)
        qsort(*paths, *n, sizeof **paths, cmp_pid);
    return 0;
nomem:
    closedir(d);
    logset_free(*paths, *n);
    *paths = NULL;
    *n = 0;
    return -1;
}

void logset_free(char **paths, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

/* @name as an absolute name: every process of the recording, whatever
 * its working directory, finds the same file. */
static char *absolute(const char *name)
{
    char cwd[PATH_MAX];
    if (name[0] == '/')
        return strdup(name);
    if (getcwd(cwd, sizeof cwd) == NULL)
        return NULL;
    size_t len = strlen(cwd) + strlen(name) + 2;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s/%s", cwd, name);
    return p;
}

/* The entry of LD_PRELOAD for @lib, into *@out: a file (@file, or a name
 * with a '/') by its absolute name, since a relative one would be looked
 * for from each process's working directory; else a name for the loader
 * to look for.  0, or -1 with a message. */
static int preload_entry(const char *lib, int file, char **out)
{
    if (strpbrk(lib, " :") != NULL) {
        fprintf(stderr, "%s: record: cannot preload '%s': LD_PRELOAD cannot hold a "
                "name with a space or a colon\n", progname, lib);
        return -1;
    }
    if ((*out = file || strchr(lib, '/') ? absolute(lib) : strdup(lib)) == NULL) {
        fprintf(stderr, "%s: record: %s: %s\n", progname, lib, strerror(errno));
        return -1;
    }
    return 0;
}

/* Write @name to @f as one word of a shell command line that names it as
 * a file: quoted where the shell would split or expand it, after "./"
 * where it would be taken for an option. */
static void put_shell_word(FILE *f, const char *name)
{
    const char *dot = name[0] == '-' ? "./" : "";
    if (name[strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                    "0123456789_./+,:@%-")] == '\0') {
        fprintf(f, "%s%s", dot, name);
        return;
    }
    fprintf(f, "'%s", dot);
    for (const char *c = name; *c; c++)
        if (*c == '\'')
            fputs("'\\''", f);
        else
            fputc(*c, f);
    fputc('\'', f);
}

int record_main(const char *output, char **argv)
{
    const char *module = getenv("CYMEM_STAT_PRELOAD");
    const char *debug = getenv("CYMEM_STAT_MALLOC_DEBUG");
    const char *old = getenv("LD_PRELOAD");
    char *preload = NULL, *base = NULL, *mod = NULL, *dbg = NULL, **logs;
    size_t nlogs;
    int status, rc = 0;

    if (strcmp(argv[0], "--") == 0)
        argv++;
    if (argv[0] == NULL) {
        fprintf(stderr, "%s: record: no program given\n"
                "Try '%s --help' for more information.\n", progname, progname);
        return 2;
    }
    /* The logs are FILE.PID: FILE must end in a name of its own, or they
     * would be hidden files of the directory (".1234", "..1234"). */
    const char *last = strrchr(output, '/');
    last = last ? last + 1 : output;
    if (*last == '\0' || strcmp(last, ".") == 0 || strcmp(last, "..") == 0) {
        fprintf(stderr, "%s: record: '%s' names no file: the logs are FILE.PID\n"
                "Try '%s --help' for more information.\n", progname, output, progname);
        return 2;
    }
    /* replay FILE reads a file FILE, not the logs beside it: with one
     * there, the recording could not be replayed by its name. */
    struct stat st;
    if (stat(output, &st) == 0 && !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "%s: record: '%s' exists and is not a directory: 'replay %s' "
                "would read it, not the logs %s.PID; remove it, or record under "
                "another name\n", progname, output, output, output);
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
    if (preload_entry(module, 1, &mod) != 0 || preload_entry(debug, 0, &dbg) != 0) {
        rc = 1;
        goto out;
    }
    size_t len = strlen(dbg) + strlen(mod) + (old ? strlen(old) : 0) + 3;
    if ((preload = malloc(len)) == NULL || (base = absolute(output)) == NULL) {
        fprintf(stderr, "%s: record: %s: %s\n", progname, output, strerror(errno));
        rc = 1;
        goto out;
    }
    snprintf(preload, len, "%s %s%s%s", dbg, mod, old && *old ? " " : "", old ? old : "");
    /* The module has no one to tell that it cannot make the logs. */
    char dir[PATH_MAX];
    if (dir_of(base, dir) != 0 || access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "%s: record: cannot write the logs %s.PID: %s\n", progname, output,
                strerror(errno));
        rc = 1;
        goto out;
    }
    /* The logs of an earlier recording under the same name would mix
     * with this one's: they go, but only if every file that would is a
     * log. */
    if (logset_find(base, &logs, &nlogs) == 0) {
        for (size_t i = 0; i < nlogs && rc == 0; i++)
            if (!is_log(logs[i])) {
                fprintf(stderr, "%s: record: '%s' is in the way and is not a log "
                        "(its first line is not '= Start'); remove it, or record "
                        "under another name\n", progname, logs[i]);
                rc = 2;
            }
        for (size_t i = 0; i < nlogs && rc == 0; i++)
            if (unlink(logs[i]) != 0 && errno != ENOENT) {
                fprintf(stderr, "%s: record: cannot replace '%s': %s\n", progname, logs[i],
                        strerror(errno));
                rc = 1;
            }
        logset_free(logs, nlogs);
        if (rc)
            goto out;
    }

#ifdef PR_SET_CHILD_SUBREAPER
    /* The processes the program leaves running are record's children
     * when it exits: record waits for them too. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
#endif
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "%s: record: fork: %s\n", progname, strerror(errno));
        rc = 1;
        goto out;
    }
    if (pid == 0) {
        setenv("CYMEM_STAT_TRACE", base, 1);
        setenv("LD_PRELOAD", preload, 1);
        execvp(argv[0], argv);
        fprintf(stderr, "%s: record: cannot run '%s': %s\n", progname, argv[0],
                strerror(errno));
        _exit(127);
    }
    /* A Ctrl-C or Ctrl-\\ at the terminal reaches the program too, which
     * decides whether it ends; record waits for it and reports all the
     * same, as time(1) does. */
    struct sigaction ign, old_int, old_quit;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (waitpid(-1, NULL, WNOHANG) == 0)
        fprintf(stderr, "%s: record: %s has exited; waiting for the processes it left "
                "running\n", progname, argv[0]);
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
        ;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    if (logset_find(base, &logs, &nlogs) != 0 || nlogs == 0) {
        if (!(WIFEXITED(status) && WEXITSTATUS(status) == 127))
            fprintf(stderr, "%s: record: %s wrote no trace (a static or set-user-ID "
                    "program cannot be traced)\n", progname, argv[0]);
        rc = 1;
        goto out;
    }
    unsigned long events = 0;
    size_t incomplete = 0, removed = 0;
    struct statvfs fs;
    int full = dir_of(base, dir) == 0 && statvfs(dir, &fs) == 0 && fs.f_bavail == 0;
    for (size_t i = 0; i < nlogs; i++) {
        int complete, written;
        events += count_events(logs[i], &complete, &written);
        if (complete)
            continue;
        incomplete++;
        if (written && !full) {
            fprintf(stderr, "%s: record: %s is incomplete (it does not end with "
                    "'= End': the process was killed, left without the C library, or "
                    "went on in a program that could not be traced)\n", progname, logs[i]);
            continue;
        }
        fprintf(stderr, "%s: record: %s could not be written (%s)\n", progname, logs[i],
                full ? "its file system is full" : "a write to it failed");
        /* An empty log holds nothing, and is no log for the next
         * recording, which would refuse to remove it. */
        struct stat lst;
        if (stat(logs[i], &lst) == 0 && lst.st_size == 0 && unlink(logs[i]) == 0)
            removed++;
    }
    if (removed == nlogs) {
        fprintf(stderr, "%s: record: no log of %s could be written\n", progname, argv[0]);
        logset_free(logs, nlogs);
        rc = 1;
        goto out;
    }
    fprintf(stderr, "%s: recorded %lu events of %zu process%s of %s in %s.PID "
            "(%s.%s%s); replay them with:\n  %s replay ", progname, events, nlogs,
            nlogs == 1 ? "" : "es", argv[0], output, output,
            strrchr(logs[0], '.') + 1, nlogs > 1 ? " ..." : "", progname);
    put_shell_word(stderr, output);
    fputc('\n', stderr);
    logset_free(logs, nlogs);
    if (incomplete) {
        fprintf(stderr, "%s: record: %zu of the logs %s incomplete\n", progname, incomplete,
                incomplete == 1 ? "is" : "are");
        rc = 1;
    }
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "%s: record: %s died of signal %d\n", progname, argv[0],
                WTERMSIG(status));
        rc = 1;
    } else if (WEXITSTATUS(status) != 0) {
        fprintf(stderr, "%s: record: %s exited with status %d\n", progname, argv[0],
                WEXITSTATUS(status));
        rc = 1;
    }
out:
    free(preload);
    free(base);
    free(mod);
    free(dbg);
    return rc;
}
