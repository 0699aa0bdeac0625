/*
 * allocators.c - the allocators a report compares (--allocators).
 *
 * "malloc" is whatever malloc cymem-stat runs with (the C library's, or
 * one the user preloaded); "jemalloc", "tcmalloc" and "mimalloc" are the
 * malloc side again with that library preloaded into the run's fresh
 * process (runproc.c), found at run time under its Debian name; "pool" is
 * a plain libcymem pool per thread, "pool-ts" a CYMEM_POOL_THREADSAFE pool
 * per thread and "pool-shared" one CYMEM_POOL_THREADSAFE pool that the
 * threads share.  Each run says which library its malloc came from and its
 * version (the malloc adapter's identify), so a report never calls a
 * preloaded jemalloc "the system malloc".
 */
#include "config.h"

#include "cymem-stat.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct known {
    const char *name;
    enum backend kind;
    const char *const libs[3];   /* Debian's names, the first loadable wins */
};

static const struct known known[] = {
    { "malloc", BACKEND_MALLOC, { NULL } },
    { "jemalloc", BACKEND_MALLOC, { "libjemalloc.so.2", NULL } },
    { "tcmalloc", BACKEND_MALLOC, { "libtcmalloc_minimal.so.4", "libtcmalloc.so.4", NULL } },
    { "mimalloc", BACKEND_MALLOC, { "libmimalloc.so.2", NULL } },
    { "pool", BACKEND_POOL, { NULL } },
    { "pool-ts", BACKEND_POOL_TS, { NULL } },
    { "pool-shared", BACKEND_POOL_SHARED, { NULL } },
};

int loadable(const char *name)
{
    int status;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0)
        _exit(dlopen(name, RTLD_LAZY | RTLD_LOCAL) ? 0 : 1);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Whether this program is built with a sanitizer, whose runtime must be
 * the first library loaded and owns malloc: no other malloc can be
 * preloaded into its runs. */
static int sanitized(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    return 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
    return 1;
#else
    return 0;
#endif
#else
    return 0;
#endif
}

/* The full name of the library @name in the directory of the C library
 * this program runs with, or in /usr of it (Debian's /lib/TRIPLET and
 * /usr/lib/TRIPLET), or in $LD_LIBRARY_PATH: a library of the same
 * architecture as this program.  dlopen() cannot tell, since jemalloc and
 * tcmalloc refuse to be loaded late (static TLS) but preload well. */
static int find_library(const char *name, char *out, size_t len)
{
    Dl_info info;
    char dirs[3][PATH_MAX];
    int ndirs = 0;
    if (dladdr((void *)&printf, &info) && info.dli_fname && strrchr(info.dli_fname, '/')) {
        int n = (int)(strrchr(info.dli_fname, '/') - info.dli_fname);
        snprintf(dirs[ndirs++], sizeof dirs[0], "%.*s", n, info.dli_fname);
        if (strncmp(info.dli_fname, "/usr/", 5) != 0)
            snprintf(dirs[ndirs++], sizeof dirs[0], "/usr%.*s", n, info.dli_fname);
    }
    for (int d = 0; d < ndirs; d++) {
        snprintf(out, len, "%.200s/%s", dirs[d], name);
        if (access(out, R_OK) == 0)
            return 0;
    }
    const char *llp = getenv("LD_LIBRARY_PATH");
    while (llp && *llp) {
        size_t n = strcspn(llp, ":");
        snprintf(out, len, "%.*s/%s", (int)n, llp, name);
        if (n > 0 && access(out, R_OK) == 0)
            return 0;
        llp += n + (llp[n] == ':');
    }
    out[0] = '\0';
    return -1;
}

int allocators_parse(const char *list, struct allocator *out, unsigned *n, char *err,
                     size_t errlen)
{
    char buf[256];
    *n = 0;
    if (strlen(list) >= sizeof buf) {
        snprintf(err, errlen, "allocator list too long");
        return -1;
    }
    if (*list && (list[0] == ',' || list[strlen(list) - 1] == ',' || strstr(list, ",,"))) {
        snprintf(err, errlen, "empty name in the allocator list '%s'", list);
        return -1;
    }
    strcpy(buf, list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        const struct known *k = NULL;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            if (strcmp(tok, known[i].name) == 0)
                k = &known[i];
        if (k == NULL) {
            snprintf(err, errlen, "unknown allocator '%s' (malloc, jemalloc, tcmalloc, "
                     "mimalloc, pool, pool-ts or pool-shared)", tok);
            return -1;
        }
        for (unsigned i = 0; i < *n; i++)
            if (strcmp(out[i].name, tok) == 0) {
                snprintf(err, errlen, "allocator '%s' named twice", tok);
                return -1;
            }
        struct allocator *a = &out[(*n)++];
        memset(a, 0, sizeof *a);
        snprintf(a->name, sizeof a->name, "%s", k->name);
        a->kind = k->kind;
        a->available = k->libs[0] == NULL;
        if (!a->available && sanitized()) {
            snprintf(a->identity, sizeof a->identity,
                     "not usable: cymem-stat is built with a sanitizer");
            continue;
        }
        for (int l = 0; k->libs[l] && !a->available; l++)
            if (find_library(k->libs[l], a->preload, sizeof a->preload) == 0)
                a->available = 1;
        if (!a->available)
            snprintf(a->identity, sizeof a->identity, "not installed (%s)", k->libs[0]);
    }
    if (*n == 0) {
        snprintf(err, errlen, "empty allocator list");
        return -1;
    }
    return 0;
}
