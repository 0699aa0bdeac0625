/*
 * adapt-malloc.c - the C library's malloc, or whatever replaces it in the
 * process (jemalloc, tcmalloc, mimalloc: linked in or preloaded): calloc
 * or malloc, free, realloc, aligned_alloc.  There is no arena: "free
 * everything" is a free() of every block the executor holds.  The memory
 * figures are mallinfo2()'s, which describe the GNU C library's heap only.
 */
#include "config.h"

#include "adapter.h"

#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <gnu/libc-version.h>
#endif

static int token;

static void *m_create(void) { return &token; }
static void m_destroy(void *arena) { (void)arena; }
static void *m_zalloc(void *arena, size_t n) { (void)arena; return calloc(1, n ? n : 1); }
static void *m_alloc(void *arena, size_t n) { (void)arena; return malloc(n); }
static int m_release(void *arena, void *p, size_t n)
{
    (void)arena;
    (void)n;
    free(p);
    return 0;
}

static void *m_realloc(void *arena, void *p, size_t old, size_t n)
{
    (void)arena;
    (void)old;
    return realloc(p, n ? n : 1);
}

static void *m_resize(void *arena, void *p, size_t old, size_t n)
{
    char *q = m_realloc(arena, p, old, n);
    if (q != NULL && n > old)
        memset(q + old, 0, n - old);
    return q;
}

static void *m_aligned(void *arena, size_t n, size_t align, int zero)
{
    (void)arena;
    void *p = aligned_alloc(align, (n + align - 1) & ~(align - 1));
    if (p != NULL && zero)
        memset(p, 0, n);
    return p;
}

static int m_memory(void *arena, struct adapter_memory *m)
{
    (void)arena;
    memset(m, 0, sizeof *m);
#ifdef HAVE_MALLINFO2
    struct mallinfo2 mi = mallinfo2();
    m->used = mi.uordblks + mi.hblkhd;
    m->reserved = mi.arena + mi.hblkhd;
    return 0;
#else
    return -1;
#endif
}

static size_t m_usable(void *arena, void *p)
{
    (void)arena;
#if defined(__GLIBC__) || defined(__linux__)
    return malloc_usable_size(p);
#else
    (void)p;
    return 0;
#endif
}

const char *libc_version(void)
{
#ifdef __GLIBC__
    static char buf[64];
    snprintf(buf, sizeof buf, "glibc %s", gnu_get_libc_version());
    return buf;
#else
    return "not glibc (version unknown)";
#endif
}

/* The file name of the library malloc comes from in this process. */
static const char *malloc_library(void)
{
    Dl_info info;
    void *sym = dlsym(RTLD_DEFAULT, "malloc");
    if (sym != NULL && dladdr(sym, &info) && info.dli_fname)
        return strrchr(info.dli_fname, '/') ? strrchr(info.dli_fname, '/') + 1
                                            : info.dli_fname;
    return "?";
}

int malloc_is_glibc(void)
{
    return strncmp(malloc_library(), "libc.so", 7) == 0;
}

typedef int mallctl_fn(const char *, void *, size_t *, void *, size_t);
typedef const char *tc_version_fn(int *, int *, const char **);
typedef int mi_version_fn(void);

/* Which library malloc comes from and its version: a preloaded jemalloc
 * is never called "the system malloc". */
static void m_identify(char *buf, size_t len)
{
    const char *lib = malloc_library();
    char version[48] = "";
    void *f;
    if ((f = dlsym(RTLD_DEFAULT, "mallctl")) != NULL) {
        const char *v = NULL;
        size_t sz = sizeof v;
        if (((mallctl_fn *)f)("version", &v, &sz, NULL, 0) == 0 && v)
            snprintf(version, sizeof version, "jemalloc %.*s", (int)strcspn(v, "-"), v);
    } else if ((f = dlsym(RTLD_DEFAULT, "tc_version")) != NULL) {
        int major = 0, minor = 0;
        const char *patch = NULL;
        const char *v = ((tc_version_fn *)f)(&major, &minor, &patch);
        snprintf(version, sizeof version, "%.40s", v ? v : "tcmalloc");
    } else if ((f = dlsym(RTLD_DEFAULT, "mi_version")) != NULL) {
        int v = ((mi_version_fn *)f)();
        snprintf(version, sizeof version, "mimalloc %d.%d.%d", v / 100, v / 10 % 10, v % 10);
    }
    if (malloc_is_glibc())
        snprintf(version, sizeof version, "%.40s", libc_version());
    else if (version[0] == '\0')
        snprintf(version, sizeof version, "%s", strstr(lib, "musl") ? "musl libc" :
                 "version unknown");
    snprintf(buf, len, "%s (malloc from %s)", version, lib);
}

const struct adapter adapter_malloc = {
    .name = "malloc",
    .create = m_create,
    .destroy = m_destroy,
    .reset = m_destroy,
    .zalloc = m_zalloc,
    .release = m_release,
    .resize = m_resize,
    .blocks_need_release = 1,
    .threadsafe = 1,
    .alloc = m_alloc,
    .realloc = m_realloc,
    .aligned = m_aligned,
    .memory = m_memory,
    .memory_is_global = 1,
    .usable = m_usable,
    .identify = m_identify,
};
