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
    # Upstream's `addresses` dict sits in this slot.  Here it is a dict
    # too (a subclass that also holds the libcymem pool), empty unless
    # address tracking is on (see doc/python.md); `addresses` from Python
    # or through this .pxd is a property that is always exact.
    cdef dict _blocks
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
