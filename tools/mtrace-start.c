/*
 * mtrace-start.c - cymem-mtrace.so, preloaded by `cymem-stat record'.
 *
 * glibc's tracer (libc_malloc_debug.so.0, preloaded beside this module)
 * only writes a log once the program calls mtrace(), into the file named
 * by MALLOC_TRACE.  This module makes it trace every process of a
 * recording, each into a log of its own, BASE.PID (like strace -ff), with
 * BASE taken from $CYMEM_STAT_TRACE:
 *
 *  - at start-up (a new program, or the same process after an exec) it
 *    calls mtrace(); when the tracer opens its file, the fopen() it calls
 *    is this module's, which gives it a stream of the module's own
 *    (fopencookie) on BASE.PID, opened for appending: the lines of a
 *    process's successive images follow each other;
 *  - in the child of a fork, which inherits the parent's stream, the
 *    stream is pointed at the child's own log, without the lines the
 *    parent has not written yet (the parent writes them).
 *
 * What the tracer writes goes to a buffer of the module's, and from there
 * to the log a whole line at a time, so that a process killed, or a
 * descriptor closed under the module, never leaves a line cut short in
 * the middle of a log.  The log's descriptor is never 0, 1 or 2 (a
 * program started with those closed would write its own output into the
 * log), and before each write it is checked to be the log still: a
 * program that closes every descriptor (before an exec, say) or puts
 * another file under its number does not lose the log's lines, nor get
 * them; the log is opened again.
 *
 * The log ends with "= End" when the process leaves: at a normal exit
 * (this module's destructor stops the tracer, which writes it), in _exit,
 * _Exit and quick_exit, which skip the C library's exit handlers, and in
 * the parent of daemon(), which calls the C library's _exit directly,
 * not this module's: a fork handler ends the log there.  _exit
 * may be called in a signal handler that interrupted the tracer in the
 * middle of a line: it writes the whole lines and "= End" with
 * async-signal-safe calls only, leaving out the line cut short.  An exec
 * writes the whole lines and ends nothing: the next program, when it
 * starts tracing, writes "= End" before its "= Start", and an exec that
 * fails leaves no trace in the log.  A log that does not end with
 * "= End" is thus incomplete: the process died, left by a way this
 * module does not see, or went on in a program that could not be traced.
 *
 * A vfork child shares its parent's memory, stream included: it is
 * recognised by its process ID, which is not the one the log was opened
 * for, and left alone; it execs or _exits without touching it.  It gets
 * a log of its own all the same, as a fork child does, when it execs (as
 * dash starts its commands): BASE.PID, begun with "= Start" by the exec
 * function, made with async-signal-safe calls and nothing of the parent's
 * memory written.  The program it execs goes on in that log, or leaves it
 * incomplete if it cannot be traced; _exit() ends it after an exec that
 * failed.
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
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void cymem_stat_mtrace_start(void) __attribute__((constructor));
void cymem_stat_mtrace_stop(void) __attribute__((destructor));

/* The states of the log. */
enum { LOG_OPEN, LOG_FLUSHING, LOG_ENDED };

static const char end_line[] = "= End\n";

static char base[PATH_MAX];   /* the recording's BASE; "" when not recording */
static volatile int catching; /* while mtrace() opens the tracer's file */

/* The log of this process, and the lines the tracer wrote that are not in
 * it yet. */
static struct {
    char path[PATH_MAX + 32];  /* BASE.PID */
    pid_t pid;                 /* the process it belongs to */
    FILE *stream;              /* the tracer's, while it traces */
    int fd;                    /* open on path, never 0, 1 or 2; -1 */
    dev_t dev;                 /* the file fd must still be */
    ino_t ino;
    int state;                 /* LOG_...: one flush at a time, none after the end */
    size_t len;                /* bytes in buf */
    char buf[4096];
} lg = { .fd = -1, .state = LOG_ENDED };

/* ---- the log's file, with async-signal-safe calls only ------------------------ */

/* Open the log for appending, on a descriptor above 2; 0 or -1. */
static int open_log(void)
{
    struct stat st;
    int fd = open(lg.path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd >= 0 && fd <= STDERR_FILENO) {
        int high = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
        close(fd);
        fd = high;
    }
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return -1;
    }
    lg.fd = fd;
    lg.dev = st.st_dev;
    lg.ino = st.st_ino;
    return 0;
}

/* Whether lg.fd is the log still (the program may have closed it, and
 * opened another file under its number). */
static int fd_is_log(void)
{
    struct stat st;
    return lg.fd >= 0 && fstat(lg.fd, &st) == 0 && st.st_dev == lg.dev &&
           st.st_ino == lg.ino;
}

/* Close the log, if its descriptor is the log's still. */
static void close_log(void)
{
    if (fd_is_log())
        close(lg.fd);
    lg.fd = -1;
}

/* Write @n bytes at @p to the log, opening it again if its descriptor
 * is not the log's any more; 0 or -1. */
static int write_log(const char *p, size_t n)
{
    if (!fd_is_log() && open_log() != 0)
        return -1;
    while (n > 0) {
        ssize_t k = write(lg.fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Whether the log holds a run that nothing ended: the program before an
 * exec, whose last line is not "= End". */
static int run_left_open(void)
{
    char tail[sizeof end_line - 1];
    struct stat st;
    if (fstat(lg.fd, &st) != 0 || st.st_size == 0)
        return 0;
    return st.st_size < (off_t)sizeof tail ||
           pread(lg.fd, tail, sizeof tail, st.st_size - (off_t)sizeof tail) !=
               (ssize_t)sizeof tail ||
           memcmp(tail, end_line, sizeof tail) != 0;
}

/* ---- the buffer ----------------------------------------------------------------- */

/* The end of the buffer's last whole line (0: none). */
static size_t whole_lines(size_t len)
{
    while (len > 0 && lg.buf[len - 1] != '\n')
        len--;
    return len;
}

/* Take the buffer for a flush: 1, or 0 once the log has ended.  A flush
 * runs with every signal blocked, so the one under way is another
 * thread's, done at once. */
static int claim(void)
{
    int open = LOG_OPEN;
    while (!__atomic_compare_exchange_n(&lg.state, &open, LOG_FLUSHING, 0, __ATOMIC_ACQUIRE,
                                        __ATOMIC_ACQUIRE)) {
        if (open == LOG_ENDED)
            return 0;
        open = LOG_OPEN;
        struct timespec ms = { 0, 1000000 };
        nanosleep(&ms, NULL);
    }
    return 1;
}

/* Write the buffer's whole lines to the log, or with @all everything it
 * holds; 0, or -1 when nothing can be written: the log has ended, or
 * this is not the process it belongs to (a vfork child: the buffer is its
 * parent's).  A log that cannot be written to ends there, without
 * "= End". */
static int flush(int all)
{
    sigset_t every, old;
    int rc = -1;
    if (getpid() != lg.pid)
        return -1;
    /* A signal handler that calls _exit() must not find the buffer half
     * written out. */
    sigfillset(&every);
    pthread_sigmask(SIG_BLOCK, &every, &old);
    if (claim()) {
        size_t len = __atomic_load_n(&lg.len, __ATOMIC_ACQUIRE);
        size_t n = all ? len : whole_lines(len);
        rc = write_log(lg.buf, n);
        memmove(lg.buf, lg.buf + n, len - n);
        __atomic_store_n(&lg.len, len - n, __ATOMIC_RELEASE);
        __atomic_store_n(&lg.state, rc == 0 ? LOG_OPEN : LOG_ENDED, __ATOMIC_RELEASE);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* Add @n bytes at @p to the buffer, writing whole lines out to make room;
 * they are dropped once the log has ended. */
static void append(const char *p, size_t n)
{
    while (n > 0) {
        if (lg.len == sizeof lg.buf && flush(0) != 0)
            return;
        if (lg.len == sizeof lg.buf && flush(1) != 0)   /* a line longer than it */
            return;
        size_t k = sizeof lg.buf - lg.len < n ? sizeof lg.buf - lg.len : n;
        memcpy(lg.buf + lg.len, p, k);
        /* The bytes are in before the length says so: a signal handler
         * that ends the log sees them whole or not at all. */
        __atomic_store_n(&lg.len, lg.len + k, __ATOMIC_RELEASE);
        p += k;
        n -= k;
    }
}

/* End the log: its whole lines, then "= End", and nothing after it; with
 * async-signal-safe calls only, for _exit().  A line the process was
 * writing when a signal handler called _exit() is left out. */
static void end_log(void)
{
    if (!claim())
        return;
    size_t n = whole_lines(__atomic_load_n(&lg.len, __ATOMIC_ACQUIRE));
    if (write_log(lg.buf, n) == 0)
        write_log(end_line, sizeof end_line - 1);
    __atomic_store_n(&lg.state, LOG_ENDED, __ATOMIC_RELEASE);
}

/* ---- the tracer's stream ----------------------------------------------------------- */

static ssize_t stream_write(void *cookie, const char *p, size_t n)
{
    (void)cookie;
    append(p, n);
    return (ssize_t)n;
}

/* The tracer stopped (muntrace()): its "= End" is the buffer's last
 * line. */
static int stream_close(void *cookie)
{
    (void)cookie;
    flush(1);
    if (claim())
        __atomic_store_n(&lg.state, LOG_ENDED, __ATOMIC_RELEASE);
    close_log();
    lg.stream = NULL;
    return 0;
}

/* Open this process's log (lg.path) and begin a run; "= End" first when
 * @after_exec and the program before this one left its run open. */
static int begin_log(int after_exec)
{
    lg.len = 0;
    if (open_log() != 0)
        return -1;
    lg.state = LOG_OPEN;
    if (after_exec && run_left_open())
        append(end_line, sizeof end_line - 1);
    return 0;
}

/* The stream the tracer opens, or NULL (then it does not trace). */
static FILE *log_stream(void)
{
    static const cookie_io_functions_t io = { NULL, stream_write, NULL, stream_close };
    if (begin_log(1) != 0)
        return NULL;
    if ((lg.stream = fopencookie(NULL, "w", io)) == NULL) {
        close_log();
        lg.state = LOG_ENDED;
    }
    return lg.stream;
}

/* The C library's own function @name. */
static void *next(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

typedef FILE *fopen_fn(const char *, const char *);

FILE *fopen(const char *path, const char *mode)
{
    static fopen_fn *real;
    if (catching && strcmp(path, lg.path) == 0)
        return log_stream();
    if (real == NULL && (real = (fopen_fn *)next("fopen")) == NULL) {
        errno = ENOSYS;
        return NULL;
    }
    return real(path, mode);
}

/* ---- starting and stopping ------------------------------------------------------- */

/* Whether this process writes the log (a vfork child does not). */
static int owner(void)
{
    return lg.stream != NULL && getpid() == lg.pid;
}

/* Whether this process is a vfork child of a traced one: the log in its
 * memory is its parent's. */
static int vfork_child(void)
{
    return lg.stream != NULL && getpid() != lg.pid;
}

/* The log of a vfork child, BASE.PID, into @path (sizeof lg.path bytes),
 * without snprintf(): the child runs on its parent's memory. */
static void vfork_log_path(char *path)
{
    char digits[24];
    size_t n = 0, len = strlen(base);
    for (unsigned long pid = (unsigned long)getpid(); pid || n == 0; pid /= 10)
        digits[n++] = (char)('0' + pid % 10);
    memcpy(path, base, len);
    path[len++] = '.';
    while (n > 0)
        path[len++] = digits[--n];
    path[len] = '\0';
}

/* A vfork child's log: begun with "= Start" before its first exec (a
 * log that is there already was begun by an exec that failed), ended
 * with "= End" when it leaves without one that worked. */
static void vfork_log(const char *line, int flags)
{
    char path[sizeof lg.path];
    vfork_log_path(path);
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | flags, 0666);
    if (fd < 0)
        return;
    ssize_t k;
    do
        k = write(fd, line, strlen(line));
    while (k < 0 && errno == EINTR);
    close(fd);
}

typedef char *getenv_fn(const char *);
typedef int setenv_fn(const char *, const char *, int);
typedef int unsetenv_fn(const char *);

/* Start the tracer for this process, into BASE.PID. */
static void start(void)
{
    /* The C library's setenv(), not the program's: bash has its own,
     * which does not change the environment the tracer reads. */
    setenv_fn *set = (setenv_fn *)next("setenv");
    unsetenv_fn *unset = (unsetenv_fn *)next("unsetenv");
    if (set == NULL || unset == NULL)
        return;
    lg.pid = getpid();
    snprintf(lg.path, sizeof lg.path, "%s.%ld", base, (long)lg.pid);
    set("MALLOC_TRACE", lg.path, 1);
    /* <mcheck.h> declares mtrace() a leaf, a function that calls nothing
     * of this file: it calls fopen() all the same, so catching is
     * volatile, and what log_stream() did is read again after it. */
    catching = 1;
    mtrace();
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    catching = 0;
    unset("MALLOC_TRACE");
    if (lg.stream == NULL)
        return;
    /* The tracer gave its stream a buffer of 512 bytes: whatever it
     * writes comes to this module's buffer at once instead, where
     * _exit() can write it out with async-signal-safe calls. */
    setvbuf(lg.stream, NULL, _IONBF, 0);
    flush(0);   /* "= Start" at once: record tells a log by it */
}

/* A fork child: the log becomes its own; the parent's lines not written
 * yet, in the stream or in the buffer, are the parent's to write. */
static void forked_child(void)
{
    static const char start_line[] = "= Start\n";
    if (lg.stream == NULL)
        return;
    __fpurge(lg.stream);
    close_log();
    lg.pid = getpid();
    snprintf(lg.path, sizeof lg.path, "%s.%ld", base, (long)lg.pid);
    if (begin_log(0) == 0) {
        append(start_line, sizeof start_line - 1);
        flush(0);
    } else {
        lg.state = LOG_ENDED;   /* the child's lines go nowhere */
    }
}

/* Whether this thread is in daemon(), whose parent leaves through the C
 * library's own _exit(), not this module's. */
static __thread int daemonizing;

/* The parent of a fork: in daemon(), it leaves at once, so its log ends
 * here. */
static void forked_parent(void)
{
    if (daemonizing && owner())
        end_log();
}

/* quick_exit() runs this after the program's own handlers. */
static void quick_exited(void)
{
    if (owner())
        end_log();
}

void cymem_stat_mtrace_start(void)
{
    getenv_fn *get = (getenv_fn *)next("getenv");
    const char *b = get ? get("CYMEM_STAT_TRACE") : NULL;
    char cwd[PATH_MAX];
    if (b == NULL || *b == '\0')
        return;
    /* Every process writes beside BASE, whatever its directory. */
    if (b[0] != '/' && getcwd(cwd, sizeof cwd) != NULL) {
        if ((size_t)snprintf(base, sizeof base, "%s/%s", cwd, b) >= sizeof base)
            return;
    } else if ((size_t)snprintf(base, sizeof base, "%s", b) >= sizeof base) {
        return;
    }
    pthread_atfork(NULL, forked_parent, forked_child);
    at_quick_exit(quick_exited);
    start();
}

void cymem_stat_mtrace_stop(void)
{
    /* The tracer writes "= End", and the stream's close the rest. */
    if (owner())
        muntrace();
}

/* ---- leaving the process image ------------------------------------------------ */

void _exit(int status)
{
    if (owner())
        end_log();
    else if (vfork_child())
        vfork_log(end_line, 0);
    for (;;)
        syscall(SYS_exit_group, status);
}

void _Exit(int status)
{
    _exit(status);
}

typedef int daemon_fn(int, int);

int daemon(int nochdir, int noclose)
{
    daemon_fn *f = (daemon_fn *)next("daemon");
    if (f == NULL) {
        errno = ENOSYS;
        return -1;
    }
    daemonizing = 1;
    int rc = f(nochdir, noclose);
    daemonizing = 0;
    return rc;
}

/* Before an exec, the log's whole lines: the next program ends the run
 * when it starts tracing, and a failed exec leaves the log as it was. */
#define EXEC(type, name, ...)                                   \
    do {                                                        \
        type *f_ = (type *)next(name);                          \
        if (owner())                                            \
            flush(0);                                           \
        else if (vfork_child())                                 \
            vfork_log("= Start\n", O_CREAT | O_EXCL);           \
        return f_ ? f_(__VA_ARGS__) : (errno = ENOSYS, -1);     \
    } while (0)

typedef int exec3_fn(const char *, char *const[], char *const[]);
typedef int exec2_fn(const char *, char *const[]);
typedef int fexec_fn(int, char *const[], char *const[]);

int execve(const char *path, char *const argv[], char *const envp[])
{
    EXEC(exec3_fn, "execve", path, argv, envp);
}

int execvpe(const char *file, char *const argv[], char *const envp[])
{
    EXEC(exec3_fn, "execvpe", file, argv, envp);
}

int execv(const char *path, char *const argv[])
{
    EXEC(exec2_fn, "execv", path, argv);
}

int execvp(const char *file, char *const argv[])
{
    EXEC(exec2_fn, "execvp", file, argv);
}

int fexecve(int fd, char *const argv[], char *const envp[])
{
    EXEC(fexec_fn, "fexecve", fd, argv, envp);
}

/* glibc 2.34 and later; declared here for the C libraries before. */
int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags);
typedef int execat_fn(int, const char *, char *const[], char *const[], int);

int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
    EXEC(execat_fn, "execveat", dirfd, path, argv, envp, flags);
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
