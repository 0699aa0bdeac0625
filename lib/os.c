/*
 * os.c - the bottom layer: memory from the system.
 *
 * Pages come from anonymous mappings (mmap, munmap, mremap, madvise: this
 * is the one file that includes <sys/mman.h>); smaller zeroed pieces from
 * calloc, which reuses and coalesces freed memory well.  os.c knows
 * nothing of pools, caches or accounting, and calls nothing else in lib/.
 *
 * Invariants:
 *  - memory handed out here is zero, and goes back with the size it was
 *    asked for: cymem__sys_free(p, n) after cymem__sys_alloc(n) takes the
 *    same path (pages or calloc) because the size decides it;
 *  - the page size is read from the system once, and the same value is
 *    returned from then on, on every thread;
 *  - a failed call changes nothing: a mapping that could not be made,
 *    moved or advised leaves the old one as it was.
 */
#include "internal.h"
#include "os.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef HAVE_UNISTD_H
#  include <unistd.h>
#endif
#ifdef HAVE_SYS_MMAN_H
#  include <sys/mman.h>
#endif

uint64_t cymem__os_now_ms(void)
{
#ifdef HAVE_CLOCK_GETTIME
    struct timespec ts;
    /* The coarse clock is read without a system call where the C library
     * has the kernel's vDSO; it is as coarse as the timer tick. */
#  ifdef CLOCK_MONOTONIC_COARSE
    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0)
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
#  endif
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0)
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
#endif
    return (uint64_t)time(NULL) * 1000u;
}

void *cymem__os_pages_alloc(size_t size)
{
#ifdef HAVE_SYS_MMAN_H
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
#else
    return calloc(1, size);
#endif
}

size_t cymem__page_size(void)
{
    static size_t page;
    size_t p = __atomic_load_n(&page, __ATOMIC_RELAXED);
    if (p == 0) {
        long v = -1;
#ifdef HAVE_UNISTD_H
        v = sysconf(_SC_PAGESIZE);
#endif
        /* Threads racing here all store the same value. */
        p = v > 0 ? (size_t)v : 4096;
        __atomic_store_n(&page, p, __ATOMIC_RELAXED);
    }
    return p;
}

/* A lock's holder is likely running on another processor, for a few dozen
 * instructions: spin a little, then yield. */
void cymem__spin_wait(int *lock)
{
    unsigned spins = 0;
    do {
        while (__atomic_load_n(lock, __ATOMIC_RELAXED) != 0) {
            if (++spins < 128) {
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#endif
            } else {
                sched_yield();
            }
        }
    } while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE) != 0);
}

/* Read once: glibc reads a file of /sys for it, three system calls. */
unsigned cymem__os_cpus(void)
{
    static unsigned cpus;
    unsigned n = __atomic_load_n(&cpus, __ATOMIC_RELAXED);
    if (n == 0) {
        long v = -1;
#if defined(HAVE_UNISTD_H) && defined(_SC_NPROCESSORS_ONLN)
        v = sysconf(_SC_NPROCESSORS_ONLN);
#endif
        /* Threads racing here all store the same value. */
        n = v > 0 ? (unsigned)v : 1;
        __atomic_store_n(&cpus, n, __ATOMIC_RELAXED);
    }
    return n;
}

/* munmap() fails only for a bad range or when splitting a mapping would
 * pass the system's limit on mappings; either way the pages stay mapped
 * (address space lost, nothing corrupted), and there is nothing better
 * to do with them, so the result is not used. */
void cymem__os_pages_free(void *p, size_t size)
{
#ifdef HAVE_SYS_MMAN_H
    (void)munmap(p, size);
#else
    (void)size;
    free(p);
#endif
}

/* Map @align more than asked and trim both ends. */
void *cymem__os_pages_alloc_aligned(size_t size, size_t align)
{
#ifdef HAVE_SYS_MMAN_H
    char *m = cymem__os_pages_alloc(size + align);
    if (m == NULL)
        return NULL;
    char *r = (char *)(((uintptr_t)m + align - 1) & ~(uintptr_t)(align - 1));
    if (r > m)
        cymem__os_pages_free(m, (size_t)(r - m));
    cymem__os_pages_free(r + size, (size_t)(m + align - r));
    return r;
#else
    (void)size;
    (void)align;
    return NULL;
#endif
}

void cymem__os_advise_huge(void *p, size_t size, int huge)
{
#if defined(HAVE_MADVISE) && defined(MADV_HUGEPAGE) && defined(MADV_NOHUGEPAGE)
    /* Advice only: where the kernel refuses it (no transparent huge
     * pages), the memory works the same with small pages. */
    (void)madvise(p, size, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
#else
    (void)p;
    (void)size;
    (void)huge;
#endif
}

int cymem__os_pages_discard(void *p, size_t size)
{
#if defined(__linux__) && defined(HAVE_MADVISE) && defined(MADV_DONTNEED)
    /* Linux gives private anonymous pages back zero-filled. */
    return madvise(p, size, MADV_DONTNEED) == 0 ? 0 : -1;
#elif defined(HAVE_SYS_MMAN_H)
    /* Elsewhere MADV_DONTNEED need not zero: map fresh pages over them. */
    void *q = mmap(p, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                   -1, 0);
    return q == p ? 0 : -1;
#else
    (void)p;
    (void)size;
    return -1;
#endif
}

void cymem__os_pages_resident(void *p, size_t size, unsigned char *vec)
{
    size_t pages = (size + cymem__page_size() - 1) / cymem__page_size();
#if defined(HAVE_MINCORE) && defined(HAVE_SYS_MMAN_H)
    /* (Its vector is unsigned char * on some systems, char * on others.) */
    if (mincore(p, size, (void *)vec) == 0)
        return;
#endif
    (void)p;
    memset(vec, 1, pages);
}

#ifdef HAVE_MREMAP
void *cymem__os_remap(void *p, size_t old_size, size_t new_size)
{
    void *q = mremap(p, old_size, new_size, MREMAP_MAYMOVE);
    return q == MAP_FAILED ? NULL : q;
}
#endif

void *cymem__sys_alloc(size_t size)
{
    void *p = size >= CYMEM__MMAP_MIN ? cymem__os_pages_alloc(size) : calloc(1, size);
    if (p == NULL)
        errno = ENOMEM;
    return p;
}

size_t cymem__sys_usable(size_t size)
{
    if (!CYMEM__OS_PAGES || size < CYMEM__MMAP_MIN)
        return size;
    size_t page = cymem__page_size();
    return (size + page - 1) / page * page;
}

void cymem__sys_free(void *p, size_t size)
{
    if (size >= CYMEM__MMAP_MIN)
        cymem__os_pages_free(p, size);
    else
        free(p);
}
