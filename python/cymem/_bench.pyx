# cython: language_level=3
"""cymem._bench - the Cython half of `python3 -m cymem.bench`: loops that
must run in C to measure the pool (through Pool's vtable, as compiled
clients call it) and not the interpreter.  Compiled against cymem.pxd; it
runs on whichever cymem.cymem is imported first, ours or upstream's (the
layouts are the same), so one build measures both."""

from cymem.cymem cimport Pool
from libc.stdlib cimport calloc, free
from posix.time cimport clock_gettime, timespec, CLOCK_MONOTONIC


cdef double now():
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec + ts.tv_nsec * 1e-9


def alloc_free_pair(int n):
    """ns per alloc(1, 32) + free() of the same block."""
    cdef Pool mem = Pool()
    cdef int i
    cdef double t = now()
    for i in range(n):
        mem.free(mem.alloc(1, 32))
    return (now() - t) / n * 1e9


def calloc_free_pair(int n):
    """ns per calloc(1, 32) + free(): the system allocator, zeroed as a
    pool block is."""
    cdef int i
    cdef void *p
    cdef double t = now()
    for i in range(n):
        p = calloc(1, 32)
        if p == NULL:
            raise MemoryError()
        free(p)
    return (now() - t) / n * 1e9


def alloc_then_teardown(int n):
    """(ns per alloc(1, 32) of n live blocks, ns per block to destroy the
    pool that holds them)."""
    cdef Pool mem = Pool()
    cdef int i
    cdef double t = now()
    for i in range(n):
        mem.alloc(1, 32)
    cdef double t_alloc = now() - t
    t = now()
    mem = None
    return t_alloc / n * 1e9, (now() - t) / n * 1e9


def realloc_grow(int n):
    """ns per realloc() of a 16-byte block to 64 bytes."""
    cdef Pool mem = Pool()
    cdef void **ps = <void **>mem.alloc(n, sizeof(void *))
    cdef int i
    for i in range(n):
        ps[i] = mem.alloc(1, 16)
    cdef double t = now()
    for i in range(n):
        ps[i] = mem.realloc(ps[i], 64)
    return (now() - t) / n * 1e9


def create_destroy(int n, int allocs):
    """ns per Pool() made, given `allocs` 32-byte blocks, and destroyed."""
    cdef Pool mem
    cdef int i, j
    cdef double t = now()
    for i in range(n):
        mem = Pool()
        for j in range(allocs):
            mem.alloc(1, 32)
        mem = None
    return (now() - t) / n * 1e9


def brief_10k(int n, int size):
    """The brief's 4.1 table, n allocations of `size` bytes, in ms:
    calloc + free each; pool alloc each + one teardown; and one pool
    buffer carved into n pieces (the brief's preallocation)."""
    cdef void **ps = <void **>calloc(n, sizeof(void *))
    cdef int i
    cdef Pool mem
    cdef char *buf
    if ps == NULL:
        raise MemoryError()
    cdef double t = now()
    for i in range(n):
        ps[i] = calloc(1, size)
    for i in range(n):
        free(ps[i])
    cdef double t_malloc = now() - t
    t = now()
    mem = Pool()
    for i in range(n):
        ps[i] = mem.alloc(1, size)
    mem = None
    cdef double t_pool = now() - t
    t = now()
    mem = Pool()
    buf = <char *>mem.alloc(n, size)
    for i in range(n):
        ps[i] = buf + <size_t>i * size
    mem = None
    cdef double t_pre = now() - t
    free(ps)
    return t_malloc * 1e3, t_pool * 1e3, t_pre * 1e3


def floats_pool(int n):
    """The brief's 5.2 operation on n floats in a pool block, from Cython:
    a[i] = i * 0.5, then the sum of a[i] * 1.5.  Returns (ms, sum)."""
    cdef double t = now()
    cdef Pool mem = Pool()
    cdef float *a = <float *>mem.alloc(n, sizeof(float))
    cdef int i
    cdef double s = 0
    for i in range(n):
        a[i] = i * 0.5
    for i in range(n):
        s += a[i] * 1.5
    return (now() - t) * 1e3, s
