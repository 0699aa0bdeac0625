# cymem.pxd - the C-level interface of cymem.cymem, compatible with
# upstream cymem 2.x: the same classes, the same attribute layout and the
# same vtable order, so Cython code written (or compiled) against upstream
# works unchanged.  Self-contained: it needs no libcymem header.

ctypedef void* (*malloc_t)(size_t n)
ctypedef void (*free_t)(void *p)

cdef class PyMalloc:
    cdef malloc_t malloc
    cdef void _set(self, malloc_t malloc)

cdef PyMalloc WrapMalloc(malloc_t malloc)

cdef class PyFree:
    cdef free_t free
    cdef void _set(self, free_t free)

cdef PyFree WrapFree(free_t free)

cdef class Pool:
    cdef readonly size_t size
    # Upstream keeps a dict of addresses in this slot; here it holds the
    # libcymem pool (see doc/python.md), and `addresses` is computed.
    cdef void* _impl
    cdef readonly list refs
    cdef readonly PyMalloc pymalloc
    cdef readonly PyFree pyfree

    cdef void* alloc(self, size_t number, size_t size) except NULL
    cdef void free(self, void* addr) except *
    cdef void* realloc(self, void* addr, size_t n) except NULL


cdef class Address:
    cdef void* ptr
    cdef readonly PyMalloc pymalloc
    cdef readonly PyFree pyfree
