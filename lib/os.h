/*
 * os.h - the system's memory (os.c): pages, their size and advice, and
 * the zeroed pieces every other layer builds on.
 */
#ifndef CYMEM_OS_H
#define CYMEM_OS_H

#include <stddef.h>
#include <stdint.h>

/* Pages come from mmap where the system has it: only then can memory be
 * cached by the page, mapped at an alignment, or remapped. */
#if defined(HAVE_SYS_MMAN_H)
#  define CYMEM__OS_PAGES 1
#else
#  define CYMEM__OS_PAGES 0
#endif

/* The system's page size, read once (4096 if the system will not say). */
size_t cymem__page_size(void);

/* The processors online (at least 1), read once. */
unsigned cymem__os_cpus(void);

/* Milliseconds since some fixed moment (for how long cached memory has
 * waited), a few milliseconds coarse: the monotonic clock where there is
 * clock_gettime(), else time(), which goes back when the wall clock is
 * set back.  Even the monotonic clock goes back in a child that fork()
 * put in another time namespace: callers must expect it. */
uint64_t cymem__os_now_ms(void);

/* @size bytes of fresh zero pages, or NULL (errno is not set). */
void *cymem__os_pages_alloc(size_t size);
void cymem__os_pages_free(void *p, size_t size);

/* @size fresh zero bytes aligned to @align (a power of two, a multiple of
 * the page size), or NULL; only where CYMEM__OS_PAGES. */
void *cymem__os_pages_alloc_aligned(size_t size, size_t align);

/* Ask for transparent huge pages over [p, p+size), or stop asking: advice
 * only, nothing changes where the system refuses it. */
void cymem__os_advise_huge(void *p, size_t size, int huge);

/* Let the whole pages [p, p+size) of a mapping from cymem__os_pages_alloc()
 * go back to the system: they read as zero from then on, and take memory
 * again only when written.  A write made to them while the call runs may
 * be lost: the caller must keep other threads from writing.  0, or -1 if
 * the system cannot (the pages are as they were). */
int cymem__os_pages_discard(void *p, size_t size);

/* Which pages of [p, p+size) (page-aligned) may be resident: vec[i] is
 * non-zero for page i unless the system says it is not.  Never fails:
 * where the system will not say, every page may be. */
void cymem__os_pages_resident(void *p, size_t size, unsigned char *vec);

#ifdef HAVE_MREMAP
/* Move or resize the pages at @p from @old_size to @new_size bytes; the
 * new address, or NULL with the old pages untouched. */
void *cymem__os_remap(void *p, size_t old_size, size_t new_size);
#endif

/* Zeroed memory: pages from CYMEM__MMAP_MIN bytes on, calloc below it;
 * NULL with errno ENOMEM on failure.  Free with the same size. */
void *cymem__sys_alloc(size_t size);
void cymem__sys_free(void *p, size_t size);
/* The bytes a piece of cymem__sys_alloc(@size) lets a program reach:
 * pages run to the end of their last one; calloc's piece is @size. */
size_t cymem__sys_usable(size_t size);

#endif /* CYMEM_OS_H */
