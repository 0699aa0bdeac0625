/*
 * mtrace-start.c - cymem-mtrace.so, preloaded by `cymem-stat record'.
 *
 * glibc's tracer (libc_malloc_debug.so.0, preloaded beside this module)
 * only writes a log once the program calls mtrace(), into the file named
 * by MALLOC_TRACE, truncating it.  This module makes it trace every
 * process of a recording, each into a log of its own, BASE.PID (like
 * strace -ff), with BASE taken from $CYMEM_STAT_TRACE:
 *
 *  - at start-up (a new program, or the same process after an exec) it
 *    calls mtrace() and moves the tracer's stream onto BASE.PID opened
 *    for appending: the lines of a process's successive images follow
 *    each other, each between "= Start" and "= End";
 *  - in the child of a fork, which inherits the parent's stream and file,
 *    it points the inherited stream at /dev/null, closes it (its "= End"
 *    goes there) and starts the child's own log;
 *  - before an exec, and in _exit and _Exit, which skip the C library's
 *    exit handlers, it stops the tracer, which writes "= End" and flushes
 *    everything buffered; at a normal exit its destructor does the same.
 *    A log that does not end with "= End" is thus incomplete: the process
 *    died, or left by a way this module does not see.
 *
 * A vfork child shares its parent's memory, stream included: it is
 * recognised by its process ID, which is not the one the stream was
 * opened for, and left alone; it execs or _exits without touching it.
 *
 * The module allocates nothing of its own once tracing runs, apart from
 * what setenv() and the tracer do.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mcheck.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

void cymem_stat_mtrace_start(void) __attribute__((constructor));
void cymem_stat_mtrace_stop(void) __attribute__((destructor));

static char base[PATH_MAX];   /* the recording's BASE; "" when not recording */
static pid_t trace_pid;       /* the process the open log belongs to */
static int trace_fd = -1;     /* the descriptor of the tracer's stream */

/* The descriptor open on @path, found through /proc/self/fd without
 * allocating; -1 if none. */
static int fd_of(const char *path)
{
    char link[32], target[PATH_MAX + 64];
    for (int fd = 0; fd < 4096; fd++) {
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n < 0)
            continue;
        target[n] = '\0';
        if (strcmp(target, path) == 0)
            return fd;
    }
    return -1;
}

/* Start the tracer for this process, into BASE.PID, appending. */
static void start(void)
{
    char path[PATH_MAX + 32], opening[PATH_MAX + 48];
    pid_t pid = getpid();
    snprintf(path, sizeof path, "%s.%ld", base, (long)pid);
    snprintf(opening, sizeof opening, "%s.%ld.opening", base, (long)pid);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0)
        return;
    /* The tracer truncates the file it opens: let it open a scratch file,
     * then put the log under its stream before anything is written. */
    setenv("MALLOC_TRACE", opening, 1);
    mtrace();
    unsetenv("MALLOC_TRACE");
    int t = fd_of(opening);
    unlink(opening);
    if (t < 0 || dup3(fd, t, O_CLOEXEC) < 0) {
        close(fd);
        return;
    }
    close(fd);
    trace_fd = t;
    trace_pid = pid;
}

/* Stop the tracer if this process owns it: "= End", flush, close.
 * Returns whether it did. */
static int stop(void)
{
    if (trace_fd < 0 || getpid() != trace_pid)
        return 0;
    muntrace();
    trace_fd = -1;
    return 1;
}

/* A fork child: leave the parent's log alone, open its own. */
static void forked_child(void)
{
    if (trace_fd < 0)
        return;
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null < 0 || dup3(null, trace_fd, O_CLOEXEC) < 0)
        abort();   /* writing on would splice two processes' lines */
    close(null);
    muntrace();
    trace_fd = -1;
    start();
}

void cymem_stat_mtrace_start(void)
{
    const char *b = getenv("CYMEM_STAT_TRACE");
    if (b == NULL || *b == '\0' || strlen(b) >= sizeof base)
        return;
    strcpy(base, b);
    pthread_atfork(NULL, NULL, forked_child);
    start();
}

void cymem_stat_mtrace_stop(void)
{
    stop();
}

/* ---- leaving the process image ------------------------------------------------ */

void _exit(int status)
{
    stop();
    for (;;)
        syscall(SYS_exit_group, status);
}

void _Exit(int status)
{
    _exit(status);
}

/* The C library's own exec function of @name. */
static void *next(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

/* Around an exec: stop the log before it, restart it if the exec failed. */
#define AROUND_EXEC(call)            \
    do {                             \
        int stopped_ = stop();       \
        int rc_ = (call);            \
        int errno_ = errno;          \
        if (stopped_)                \
            start();                 \
        errno = errno_;              \
        return rc_;                  \
    } while (0)

typedef int exec3_fn(const char *, char *const[], char *const[]);
typedef int exec2_fn(const char *, char *const[]);
typedef int fexec_fn(int, char *const[], char *const[]);

int execve(const char *path, char *const argv[], char *const envp[])
{
    exec3_fn *f = (exec3_fn *)next("execve");
    AROUND_EXEC(f ? f(path, argv, envp) : (errno = ENOSYS, -1));
}

int execvpe(const char *file, char *const argv[], char *const envp[])
{
    exec3_fn *f = (exec3_fn *)next("execvpe");
    AROUND_EXEC(f ? f(file, argv, envp) : (errno = ENOSYS, -1));
}

int execv(const char *path, char *const argv[])
{
    exec2_fn *f = (exec2_fn *)next("execv");
    AROUND_EXEC(f ? f(path, argv) : (errno = ENOSYS, -1));
}

int execvp(const char *file, char *const argv[])
{
    exec2_fn *f = (exec2_fn *)next("execvp");
    AROUND_EXEC(f ? f(file, argv) : (errno = ENOSYS, -1));
}

int fexecve(int fd, char *const argv[], char *const envp[])
{
    fexec_fn *f = (fexec_fn *)next("fexecve");
    AROUND_EXEC(f ? f(fd, argv, envp) : (errno = ENOSYS, -1));
}

/* execl, execlp, execle: their arguments as an array, on the stack. */
#define COLLECT_ARGS(first, argv, envp_out)                             \
    size_t n_ = 1;                                                      \
    va_list ap_;                                                        \
    va_start(ap_, first);                                               \
    while (va_arg(ap_, char *) != NULL)                                 \
        n_++;                                                           \
    va_end(ap_);                                                        \
    char *argv[n_ + 1];                                                 \
    va_start(ap_, first);                                               \
    argv[0] = (char *)(first);                                          \
    for (size_t i_ = 1; i_ <= n_; i_++)                                 \
        argv[i_] = va_arg(ap_, char *);                                 \
    envp_out;                                                           \
    va_end(ap_)

int execl(const char *path, const char *arg, ...)
{
    COLLECT_ARGS(arg, argv, (void)0);
    return execv(path, argv);
}

int execlp(const char *file, const char *arg, ...)
{
    COLLECT_ARGS(arg, argv, (void)0);
    return execvp(file, argv);
}

int execle(const char *path, const char *arg, ...)
{
    char *const *envp;
    COLLECT_ARGS(arg, argv, envp = va_arg(ap_, char *const *));
    return execve(path, argv, envp);
}
