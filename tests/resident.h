/*
 * resident.h - for the tests that compare the process's resident size
 * (rel-trim, rel-unload): the size, and whether a sanitizer whose
 * allocator and shadow memory decide what stays resident
 * (AddressSanitizer, ThreadSanitizer) is built in (UNDER_SANITIZER).
 */
#ifndef CYMEM_TESTS_RESIDENT_H
#define CYMEM_TESTS_RESIDENT_H

#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#  define UNDER_SANITIZER 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#    define UNDER_SANITIZER 1
#  endif
#endif
#ifndef UNDER_SANITIZER
#  define UNDER_SANITIZER 0
#endif

/* Resident bytes, from /proc/self/statm, or 0 if the system does not say. */
static inline size_t rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size, resident = 0;
    if (f == NULL)
        return 0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

#endif /* CYMEM_TESTS_RESIDENT_H */
