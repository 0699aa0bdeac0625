/* stat-alloc.c - a program with known allocations, for `cymem-stat record'.
 * 100 mallocs, 10 of them resized, all freed; no stdio.  Then, with an
 * argument:
 *   --fail        exit with status 3;
 *   --kill        kill itself with SIGKILL instead of exiting;
 *   --exit-in-handler  malloc and free blocks of 64 bytes until, 20 ms
 *                 on, a signal handler calls _exit(0);
 *   --quick-exit  leave through quick_exit(0);
 *   --failed-exec keep 100 blocks of 1000 bytes, fail to exec a program
 *                 that does not exist three times, then malloc 5000 bytes;
 *   --stderr      write "stat-alloc: on stderr" to descriptor 2, if open;
 *   --close-exec  fork a child that mallocs 20 blocks of 48 bytes, closes
 *                 every descriptor above 2 (as daemons and subprocess
 *                 modules do), mallocs 20 more and execs this program
 *                 without arguments; exit with its status;
 *   --daemon      become a daemon with daemon(0, 0), whose parent leaves
 *                 through the C library's own _exit(); the daemon mallocs
 *                 30 blocks of 80 bytes and exits;
 *   --execveat    keep 30 blocks of 57 bytes, then exec this program
 *                 without arguments through execveat(2) (status 77 where
 *                 the C library has no execveat());
 *   --vfork       start two children with vfork(2), as dash starts its
 *                 commands: one whose exec fails and that leaves
 *                 through _exit(127), one that execs this program
 *                 without arguments and with an empty environment (a
 *                 program that cannot be traced); wait for both;
 *   --no-room     fork a child under a file size limit of 0 (SIGXFSZ
 *                 ignored), where no write to a file can succeed, as on
 *                 a full file system; wait for it. */
#define _GNU_SOURCE 1   /* execveat */

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static int arg_is(int argc, char **argv, const char *what)
{
    return argc > 1 && strcmp(argv[1], what) == 0;
}

static void leave(int sig)
{
    (void)sig;
    _exit(0);
}

/* Allocate until a signal handler leaves, most likely in the middle of
 * an allocation or a free. */
static int exit_in_handler(void)
{
    struct itimerval in_20ms = { { 0, 0 }, { 0, 20000 } };
    signal(SIGALRM, leave);
    if (setitimer(ITIMER_REAL, &in_20ms, NULL) != 0)
        return 1;
    for (;;) {
        void *volatile q = malloc(64);
        free(q);
    }
}

/* Execs that fail, between allocations of one process image: live bytes
 * peak at 105,000. */
static int failed_exec(void)
{
    static void *volatile keep[101];
    for (int i = 0; i < 100; i++)
        keep[i] = malloc(1000);
    for (int i = 0; i < 3; i++)
        execl("/nonexistent/program", "program", (char *)0);
    keep[100] = malloc(5000);
    return 0;
}

/* A child that closes the descriptors under the tracer, then execs. */
static int close_exec(char *self)
{
    static void *volatile keep[40];
    int status;
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        for (int i = 0; i < 20; i++)
            keep[i] = malloc(48);
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        for (int i = 20; i < 40; i++)
            keep[i] = malloc(48);
        execl(self, self, (char *)0);
        _exit(127);
    }
    if (waitpid(pid, &status, 0) != pid)
        return 1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* A daemon: the parent leaves inside daemon(). */
static int become_daemon(void)
{
    static void *volatile keep[30];
    if (daemon(0, 0) != 0)
        return 1;
    for (int i = 0; i < 30; i++)
        keep[i] = malloc(80);
    return 0;
}

/* Blocks, then the same process goes on in this program through
 * execveat(). */
static int exec_at(char *self)
{
    static void *volatile keep[30];
    for (int i = 0; i < 30; i++)
        keep[i] = malloc(57);
#if defined __GLIBC__ && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    extern char **environ;
    char *args[] = { self, NULL };
    execveat(AT_FDCWD, self, args, environ, 0);
    return 1;
#else
    (void)self;
    return 77;
#endif
}

/* Two children of vfork(): a failed exec, and an exec of a program that
 * is not traced. */
static int vfork_children(char *self)
{
    char *args[] = { self, NULL }, *none[] = { NULL };
    extern char **environ;
    for (int i = 0; i < 2; i++) {
        pid_t pid = vfork();
        if (pid < 0)
            return 1;
        if (pid == 0) {
            if (i == 0)
                execve("/nonexistent/program", args, environ);
            else
                execve(self, args, none);
            _exit(127);
        }
        if (waitpid(pid, NULL, 0) != pid)
            return 1;
    }
    return 0;
}

/* A child that can write to no file: its log cannot even begin. */
static int no_room(void)
{
    struct rlimit old, none;
    if (getrlimit(RLIMIT_FSIZE, &old) != 0)
        return 1;
    none = old;
    none.rlim_cur = 0;
    signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &none) != 0)
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        void *volatile q = malloc(100);
        free(q);
        _exit(0);
    }
    if (setrlimit(RLIMIT_FSIZE, &old) != 0 || pid < 0 || waitpid(pid, NULL, 0) != pid)
        return 1;
    return 0;
}

int main(int argc, char **argv)
{
    char *p[100];
    for (int i = 0; i < 100; i++) {
        p[i] = malloc(16 + (size_t)i * 8);
        if (p[i] == NULL)
            return 1;
        memset(p[i], i, 16);
    }
    for (int i = 0; i < 10; i++) {
        char *q = realloc(p[i], 4096 + (size_t)i);
        if (q == NULL)
            return 1;
        p[i] = q;
    }
    for (int i = 0; i < 100; i++)
        free(p[i]);
    if (arg_is(argc, argv, "--kill"))
        raise(SIGKILL);
    if (arg_is(argc, argv, "--exit-in-handler"))
        return exit_in_handler();
    if (arg_is(argc, argv, "--quick-exit"))
        quick_exit(0);
    if (arg_is(argc, argv, "--stderr") && write(2, "stat-alloc: on stderr\n", 22) < 0) {
        /* descriptor 2 closed, as it should be */
    }
    if (arg_is(argc, argv, "--close-exec"))
        return close_exec(argv[0]);
    if (arg_is(argc, argv, "--failed-exec"))
        return failed_exec();
    if (arg_is(argc, argv, "--daemon"))
        return become_daemon();
    if (arg_is(argc, argv, "--execveat"))
        return exec_at(argv[0]);
    if (arg_is(argc, argv, "--vfork"))
        return vfork_children(argv[0]);
    if (arg_is(argc, argv, "--no-room"))
        return no_room();
    return arg_is(argc, argv, "--fail") ? 3 : 0;
}
