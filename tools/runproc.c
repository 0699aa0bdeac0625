/*
 * runproc.c - every measured run in a fresh process image.
 *
 * A forked child inherits its parent's malloc state: the arenas, the
 * per-thread caches and the fragmentation left by every earlier run of the
 * same invocation, so that a workload's figures would depend on what ran
 * before it.  So each run forks and then executes cymem-stat itself again
 * (/proc/self/exe) in a hidden helper mode, which starts from the heap of
 * a program that has done nothing yet.
 *
 * The plans travel in a file that is never named (memfd_create, or an
 * unlinked temporary file): written once per workload, mapped read-only by
 * each run.  The run writes one struct sample down a pipe; both are the
 * same binary, so the layout of the structures is the same on both sides.
 * An allocator such as jemalloc is preloaded into the run's process only
 * (LD_PRELOAD in its environment), so that it replaces malloc there from
 * the first allocation on.
 *
 *   cymem-stat --run-one BACKEND PLAN-FD RESULT-FD     (internal)
 */
#include "config.h"

#include "cymem-stat.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PLAN_MAGIC "cymplan1"

struct plan_file_header {
    char magic[8];
    uint64_t nplans;
};

/* Write @len bytes, whatever write(2) does in pieces. */
static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static int anonymous_file(void)
{
    int fd;
#ifdef MFD_CLOEXEC
    if ((fd = memfd_create("cymem-stat-plans", MFD_CLOEXEC)) >= 0)
        return fd;
#endif
    FILE *f = tmpfile();
    if (f == NULL)
        return -1;
    fd = fcntl(fileno(f), F_DUPFD_CLOEXEC, 3);
    fclose(f);
    return fd;
}

int plan_set_export(struct plan_set *ps, const struct plan *plans, unsigned n,
                    char *err, size_t errlen)
{
    struct plan_file_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, PLAN_MAGIC, sizeof h.magic);
    h.nplans = n;
    ps->fd = anonymous_file();
    if (ps->fd < 0) {
        snprintf(err, errlen, "cannot create a file for the plans: %s", strerror(errno));
        return -1;
    }
    int rc = write_all(ps->fd, &h, sizeof h);
    for (unsigned i = 0; i < n && rc == 0; i++)
        rc = write_all(ps->fd, &plans[i], sizeof plans[i]);
    for (unsigned i = 0; i < n && rc == 0; i++)
        rc = write_all(ps->fd, plans[i].ops, plans[i].nops * sizeof *plans[i].ops);
    if (rc != 0) {
        snprintf(err, errlen, "cannot write the plans: %s", strerror(errno));
        plan_set_close(ps);
        return -1;
    }
    return 0;
}

void plan_set_close(struct plan_set *ps)
{
    if (ps->fd >= 0)
        close(ps->fd);
    ps->fd = -1;
}

#ifdef MAP_POPULATE
#define MAP_POPULATE_OR_0 MAP_POPULATE
#else
#define MAP_POPULATE_OR_0 0
#endif

/* Read a byte of every page of the plans before the run's resident set is
 * taken as its baseline: the plans are the tool's memory, not the
 * backend's, and their pages must not count as the run's growth. */
static void prefault(const void *map, size_t len)
{
    volatile const char *p = map;
    long page = sysconf(_SC_PAGESIZE);
    char sum = 0;
    for (size_t off = 0; off < len; off += (size_t)(page > 0 ? page : 4096))
        sum = (char)(sum + p[off]);
    (void)sum;
}

/* The child's side of the helper mode: map the plans, run, report. */
int run_helper_main(int argc, char **argv)
{
    struct sample s;
    struct stat st;
    enum backend b = NBACKENDS;
    memset(&s, 0, sizeof s);
    if (argc != 5)
        return 2;
    int pfd = atoi(argv[3]), ofd = atoi(argv[4]);
    for (int k = 0; k < NBACKENDS; k++)
        if (strcmp(argv[2], backend_names[k]) == 0)
            b = (enum backend)k;
    fcntl(pfd, F_SETFD, FD_CLOEXEC);
    fcntl(ofd, F_SETFD, FD_CLOEXEC);
    const char *why = NULL;
    void *map = MAP_FAILED;
    if (b == NBACKENDS)
        why = "unknown backend";
    else if (fstat(pfd, &st) != 0 || (size_t)st.st_size < sizeof(struct plan_file_header))
        why = "no plans";
    else if ((map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE_OR_0,
                         pfd, 0)) == MAP_FAILED)
        why = "cannot map the plans";
    else
        prefault(map, (size_t)st.st_size);
    struct plan *plans = NULL;
    unsigned n = 0;
    if (why == NULL) {
        const struct plan_file_header *h = map;
        const char *p = (const char *)(h + 1), *end = (const char *)map + st.st_size;
        n = (unsigned)h->nplans;
        if (memcmp(h->magic, PLAN_MAGIC, sizeof h->magic) != 0 || h->nplans == 0 ||
            h->nplans > MAX_THREADS || (size_t)(end - p) < n * sizeof *plans)
            why = "bad plan file";
        else if ((plans = calloc(n, sizeof *plans)) == NULL)
            why = "out of memory";
        else {
            memcpy(plans, p, n * sizeof *plans);
            p += n * sizeof *plans;
            for (unsigned i = 0; i < n && why == NULL; i++) {
                size_t len = plans[i].nops * sizeof *plans[i].ops;
                if ((size_t)(end - p) < len)
                    why = "truncated plan file";
                plans[i].ops = (struct op *)p;
                plans[i].cap = plans[i].nops;
                p += len;
            }
        }
    }
    close(pfd);
    if (why != NULL) {
        snprintf(s.error, sizeof s.error, "run helper: %s", why);
    } else {
        char identity[sizeof s.identity];
        const char *trace_path = getenv(TRACE_ENV);
        FILE *trace = trace_path && *trace_path ? fopen(trace_path, "we") : NULL;
        /* Which malloc the run has, said before the run allocates. */
        adapter_malloc.identify(identity, sizeof identity);
        run_set_malloc_header(malloc_is_glibc() ? sizeof(size_t) : 0);
        if (trace_path && *trace_path && trace == NULL)
            snprintf(s.error, sizeof s.error, "run helper: cannot write %.100s", trace_path);
        else
            run_measure(plans, n, b, trace, &s);
        if (trace != NULL && fclose(trace) != 0 && s.ok) {
            s.ok = 0;
            snprintf(s.error, sizeof s.error, "run helper: cannot write %.100s", trace_path);
        }
        memcpy(s.identity, identity, sizeof s.identity);
    }
    /* The process ends here: what the run allocated goes with it, and
     * _exit() spares the exit handlers (and a leak checker) the blocks
     * the run left for its snapshot. */
    _exit(write_all(ofd, &s, sizeof s) == 0 ? 0 : 3);
}

int run_once(const struct plan_set *ps, const struct allocator *a, struct sample *out)
{
    enum backend b = a->kind;
    int fds[2], status;
    pid_t pid;
    memset(out, 0, sizeof *out);
    fflush(NULL);
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(out->error, sizeof out->error, "pipe: %s", strerror(errno));
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        snprintf(out->error, sizeof out->error, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        char pfd[16], ofd[16];
        snprintf(pfd, sizeof pfd, "%d", ps->fd);
        snprintf(ofd, sizeof ofd, "%d", fds[1]);
        fcntl(ps->fd, F_SETFD, 0);
        fcntl(fds[1], F_SETFD, 0);
        if (a->preload[0]) {
            /* The allocator replaces malloc in the run's process, before
             * anything the user preloads. */
            const char *old = getenv("LD_PRELOAD");
            char preload[1024];
            snprintf(preload, sizeof preload, "%s%s%s", a->preload, old && *old ? " " : "",
                     old ? old : "");
            setenv("LD_PRELOAD", preload, 1);
        }
        char *argv[] = { (char *)progname, (char *)"--run-one", (char *)backend_names[b],
                         pfd, ofd, NULL };
        execv("/proc/self/exe", argv);
        struct sample s;
        memset(&s, 0, sizeof s);
        snprintf(s.error, sizeof s.error, "cannot execute /proc/self/exe: %s",
                 strerror(errno));
        _exit(write_all(fds[1], &s, sizeof s) == 0 ? 0 : 3);
    }
    close(fds[1]);
    size_t got = 0;
    while (got < sizeof *out) {
        ssize_t r = read(fds[0], (char *)out + got, sizeof *out - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (got != sizeof *out || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        memset(out, 0, sizeof *out);
        if (WIFSIGNALED(status))
            snprintf(out->error, sizeof out->error, "the %s run died of signal %d (%s)",
                     a->name, WTERMSIG(status), strsignal(WTERMSIG(status)));
        else
            snprintf(out->error, sizeof out->error, "the %s run ended abnormally",
                     a->name);
        return -1;
    }
    if (!out->ok) {
        char msg[sizeof out->error];
        snprintf(msg, sizeof msg, "%s", out->error);
        snprintf(out->error, sizeof out->error, "%s: %.140s", a->name, msg);
        return -1;
    }
    return 0;
}
