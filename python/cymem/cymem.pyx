# cython: language_level=3, embedsignature=True
"""cymem.cymem - memory pools for Cython and Python, on libcymem.

Source- and binary-compatible with upstream cymem 2.x (the classes, their
layout and Pool's vtable are those of cymem.pxd), plus a Python-level API:
``Pool().alloc(number, size)`` returns the block's address as an int,
``free()`` frees everything, ``with Pool() as p:``, ``aligned_alloc``,
``stats()`` and ``view()`` for safe access to the memory from Python.
"""

from cpython.mem cimport PyMem_Malloc, PyMem_Free
from cpython.buffer cimport PyBuffer_FillInfo
from cpython.ref cimport Py_INCREF, Py_DECREF
from libc.errno cimport errno, ENOMEM, EINVAL
from libc.stdint cimport uintptr_t
from libc.stdlib cimport malloc as c_malloc, free as c_free
from libc.string cimport memset, memcpy
import operator
import warnings

cdef extern from "cymem.h":
    ctypedef struct cymem_pool:
        pass
    ctypedef struct cymem_allocator:
        void *(*malloc)(size_t size, void *ctx)
        void (*free)(void *ptr, size_t size, void *ctx)
        void *ctx
    ctypedef struct cymem_pool_options:
        const cymem_allocator *allocator
        cymem_pool *parent
        unsigned flags
        size_t chunk_size
    ctypedef struct cymem_stats:
        size_t live_bytes
        size_t live_blocks
        size_t peak_bytes
        size_t reserved_bytes
        size_t used_bytes
        size_t chunk_count
        size_t metadata_bytes
    cymem_pool *cymem_pool_new_ex(const cymem_pool_options *opts)
    void cymem_pool_destroy(cymem_pool *pool)
    void cymem_pool_reset(cymem_pool *pool)
    void *cymem_pool_alloc(cymem_pool *pool, size_t number, size_t size)
    void *cymem_pool_alloc_aligned(cymem_pool *pool, size_t number, size_t size,
                                   size_t alignment)
    void *cymem_pool_realloc(cymem_pool *pool, void *ptr, size_t new_size)
    int cymem_pool_free(cymem_pool *pool, void *ptr)
    int cymem_pool_owns(const cymem_pool *pool, const void *ptr)
    size_t cymem_pool_block_size(const cymem_pool *pool, const void *ptr)
    int cymem_pool_stats(const cymem_pool *pool, cymem_stats *out)
    int cymem_pool_foreach(const cymem_pool *pool,
                           int (*fn)(void *ptr, size_t size, void *ctx), void *ctx)
    const char *cymem_version()

WARN_ZERO_ALLOC = False

LIBCYMEM_VERSION = cymem_version().decode("ascii")


# ---- allocator wrappers (upstream's API) ---------------------------------

cdef class PyMalloc:
    cdef void _set(self, malloc_t malloc):
        self.malloc = malloc

cdef PyMalloc WrapMalloc(malloc_t malloc):
    cdef PyMalloc o = PyMalloc()
    o._set(malloc)
    return o

cdef class PyFree:
    cdef void _set(self, free_t free):
        self.free = free

cdef PyFree WrapFree(free_t free):
    cdef PyFree o = PyFree()
    o._set(free)
    return o

Default_Malloc = WrapMalloc(PyMem_Malloc)
Default_Free = WrapFree(PyMem_Free)


# ---- the pool ------------------------------------------------------------

# What Pool._impl points to: the libcymem pool, the backing allocator
# made from pymalloc/pyfree (when they are not the defaults), and the
# count of exported views per block.
cdef struct Impl:
    cymem_pool *pool
    cymem_allocator backing
    malloc_t user_malloc
    free_t user_free
    void *views            # a dict {address: live views}, or NULL

cdef void *_backing_malloc(size_t size, void *ctx) noexcept:
    return (<Impl *>ctx).user_malloc(size)

cdef void _backing_free(void *ptr, size_t size, void *ctx) noexcept:
    (<Impl *>ctx).user_free(ptr)

cdef int _collect(void *ptr, size_t size, void *ctx) noexcept:
    (<dict>ctx)[<size_t>ptr] = size
    return 0


cdef class Pool:
    """Own blocks of zero-filled memory, and free them all when the pool is
    garbage collected, reset with ``free()``, or left in a ``with`` block.

    From Cython (as upstream cymem)::

        from cymem.cymem cimport Pool
        cdef Pool mem = Pool()
        data = <int*>mem.alloc(10, sizeof(int))

    From Python::

        with Pool() as pool:
            addr = pool.alloc(10, 8)          # the address, an int
            buf = pool.view(addr, 80)         # a writable buffer

    Attributes:
        size (int): bytes currently allocated (the sum of requested sizes).
        addresses (dict): {address: size} of the live blocks, computed.
        refs (list): Python objects kept alive by own_pyref().
        pymalloc, pyfree: the allocator functions (upstream's API).
    """

    def __cinit__(self, PyMalloc pymalloc=Default_Malloc,
                  PyFree pyfree=Default_Free):
        cdef Impl *impl = <Impl *>c_malloc(sizeof(Impl))
        cdef cymem_pool_options opts
        if impl == NULL:
            raise MemoryError("cannot create a pool")
        memset(impl, 0, sizeof(Impl))
        memset(&opts, 0, sizeof(opts))
        self.size = 0
        self.refs = []
        self.pymalloc = pymalloc
        self.pyfree = pyfree
        if pymalloc is not Default_Malloc or pyfree is not Default_Free:
            # A pool on the caller's functions, as upstream's would be.
            impl.user_malloc = pymalloc.malloc
            impl.user_free = pyfree.free
            impl.backing.malloc = _backing_malloc
            impl.backing.free = _backing_free
            impl.backing.ctx = impl
            opts.allocator = &impl.backing
        impl.pool = cymem_pool_new_ex(&opts)
        if impl.pool == NULL:
            c_free(impl)
            raise MemoryError("cannot create a pool")
        self._impl = impl

    def __dealloc__(self):
        cdef Impl *impl = <Impl *>self._impl
        if impl != NULL:
            cymem_pool_destroy(impl.pool)
            if impl.views != NULL:
                Py_DECREF(<object>impl.views)
                impl.views = NULL
            c_free(impl)
            self._impl = NULL

    # -- the C-level API: upstream's vtable, in upstream's order ----------

    cdef void* alloc(self, size_t number, size_t elem_size) except NULL:
        """Allocate a zero-filled block of number * elem_size bytes that the
        pool owns.  MemoryError when memory is exhausted (or the size
        overflows)."""
        if WARN_ZERO_ALLOC and (number == 0 or elem_size == 0):
            warnings.warn("Allocating zero bytes")
        cdef Impl *impl = <Impl *>self._impl
        cdef void *p = cymem_pool_alloc(impl.pool, number, elem_size)
        if p == NULL:
            # Python ints: the product may not fit in a size_t
            raise MemoryError("Error assigning %d bytes"
                              % (<object>number * <object>elem_size))
        self.size += number * elem_size
        return p

    cdef void free(self, void* p) except *:
        """Free one block of the pool.  KeyError if p is not a live block of
        this pool (nothing is freed then)."""
        cdef Impl *impl = <Impl *>self._impl
        cdef size_t n = cymem_pool_block_size(impl.pool, p)
        if impl.views != NULL:
            _check_no_views(impl, <size_t>p)
        if cymem_pool_free(impl.pool, p) != 0:
            raise KeyError(<size_t>p)
        self.size -= n

    cdef void* realloc(self, void* p, size_t new_size) except NULL:
        """Resize a block to new_size bytes, which must be larger than its
        size now; the new bytes are zero.  ValueError if p is not a live
        block of this pool or new_size is not larger."""
        cdef Impl *impl = <Impl *>self._impl
        if p == NULL or not cymem_pool_owns(impl.pool, p):
            raise ValueError("Pointer %d not found in Pool" % <size_t>p)
        cdef size_t old = cymem_pool_block_size(impl.pool, p)
        if new_size == 0:
            raise ValueError("Realloc requires new_size > 0")
        if new_size <= old:
            raise ValueError("Realloc requires new_size (%d) > the block's size (%d)"
                             % (new_size, old))
        if impl.views != NULL:
            _check_no_views(impl, <size_t>p)
        cdef void *q = cymem_pool_realloc(impl.pool, p, new_size)
        if q == NULL:
            raise MemoryError("Error reallocating to %d bytes" % new_size)
        self.size += new_size - old
        return q

    # -- upstream's Python-level API -------------------------------------

    def own_pyref(self, object py_ref):
        """Keep py_ref alive as long as the pool."""
        self.refs.append(py_ref)

    property addresses:
        """{address: size} of every live block (a new dict on each read)."""
        def __get__(self):
            cdef dict d = {}
            cymem_pool_foreach((<Impl *>self._impl).pool, _collect, <void *>d)
            return d

    # -- the Python API of the product brief -----------------------------

    def __getattr__(self, name):
        # alloc, free and realloc are C-level methods (the vtable above);
        # from Python the same names reach the wrappers below.
        if name == "alloc":
            return self.py_alloc
        if name == "free":
            return self.py_free
        if name == "realloc":
            return self.py_realloc
        raise AttributeError("'%s' object has no attribute '%s'"
                             % (type(self).__name__, name))

    def py_alloc(self, size_t number, size_t size):
        """alloc(number, size) -> address: a zero-filled block of
        number * size bytes; its address as an int."""
        return <size_t>self.alloc(number, size)

    def aligned_alloc(self, size_t number, size_t size, size_t alignment=64):
        """aligned_alloc(number, size, alignment=64) -> address: alloc() with
        the block aligned to alignment (a power of two, at most 1 MiB)."""
        cdef Impl *impl = <Impl *>self._impl
        cdef void *p = cymem_pool_alloc_aligned(impl.pool, number, size, alignment)
        if p == NULL:
            if errno == EINVAL:
                raise ValueError("alignment must be a power of two up to 1 MiB, not %d"
                                 % alignment)
            raise MemoryError("Error assigning %d bytes"
                              % (<object>number * <object>size))
        self.size += number * size
        return <size_t>p

    def py_free(self, addr=None):
        """free(addr) frees one block (KeyError if addr is not a live block of
        this pool); free() frees every block and keeps the pool.  BufferError
        if a view of the memory is still alive."""
        if addr is None:
            self.reset()
        else:
            # index(): a float or a str is a TypeError, not a truncated int
            self.free(<void *><size_t>operator.index(addr))

    def py_realloc(self, size_t addr, size_t size):
        """realloc(addr, size) -> address: resize a block to a larger size
        (ValueError otherwise, as upstream); new bytes are zero."""
        return <size_t>self.realloc(<void *>addr, size)

    def reset(self):
        """Free every block and keep the pool.  BufferError if a view of the
        memory is still alive."""
        cdef Impl *impl = <Impl *>self._impl
        if impl.views != NULL and len(<object>impl.views) > 0:
            raise BufferError("a view of the pool's memory is still alive")
        cymem_pool_reset(impl.pool)
        self.size = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.reset()
        return False

    def __len__(self):
        cdef cymem_stats st
        cymem_pool_stats((<Impl *>self._impl).pool, &st)
        return st.live_blocks

    def __contains__(self, size_t addr):
        return bool(cymem_pool_owns((<Impl *>self._impl).pool, <void *>addr))

    def block_size(self, size_t addr):
        """The requested size of a live block; KeyError if addr is not one."""
        cdef Impl *impl = <Impl *>self._impl
        if not cymem_pool_owns(impl.pool, <void *>addr):
            raise KeyError(addr)
        return cymem_pool_block_size(impl.pool, <void *>addr)

    def stats(self):
        """A dict: live_bytes, live_blocks, peak_bytes, reserved_bytes,
        used_bytes, metadata_bytes, chunk_count, and fragmentation: the
        share of reserved memory not holding requested bytes."""
        cdef cymem_stats st
        cymem_pool_stats((<Impl *>self._impl).pool, &st)
        frag = 0.0
        if st.reserved_bytes:
            frag = 1.0 - <double>st.live_bytes / <double>st.reserved_bytes
        return {
            "live_bytes": st.live_bytes,
            "live_blocks": st.live_blocks,
            "peak_bytes": st.peak_bytes,
            "reserved_bytes": st.reserved_bytes,
            "used_bytes": st.used_bytes,
            "metadata_bytes": st.metadata_bytes,
            "chunk_count": st.chunk_count,
            "fragmentation": frag,
        }

    def view(self, size_t addr, size_t nbytes):
        """A writable buffer over nbytes of the block at addr, for memoryview,
        struct or numpy.frombuffer.  The range must lie inside one live
        block.  While a view is alive, freeing the block (or resetting the
        pool) raises BufferError instead of leaving it dangling."""
        cdef Impl *impl = <Impl *>self._impl
        base, size = _containing_block(self, addr)
        if addr + nbytes > base + size:
            raise ValueError("%d bytes at %#x run past the end of the block (%d bytes)"
                             % (nbytes, addr, size))
        return PoolView(self, addr, nbytes, base)


cdef _check_no_views(Impl *impl, size_t addr):
    cdef dict views = <dict>impl.views
    if views.get(addr, 0):
        raise BufferError("block %#x has %d live views" % (addr, views[addr]))


def _containing_block(Pool pool, size_t addr):
    """(base, size) of the live block of pool that holds addr."""
    cdef Impl *impl = <Impl *>pool._impl
    if cymem_pool_owns(impl.pool, <void *>addr):
        return addr, cymem_pool_block_size(impl.pool, <void *>addr)
    for base, size in pool.addresses.items():
        if base <= addr < base + size:
            return base, size
    raise KeyError("%#x is not inside a live block of this pool" % addr)


cdef class PoolView:
    """A writable buffer over part of a pool block; see Pool.view()."""
    cdef Pool pool
    cdef size_t addr, nbytes, base

    def __cinit__(self, Pool pool, size_t addr, size_t nbytes, size_t base):
        self.pool = pool
        self.addr = addr
        self.nbytes = nbytes
        self.base = base
        self._count(1)          # the view pins the block while it lives

    def __dealloc__(self):
        if self.pool is not None:
            self._count(-1)

    cdef _count(self, int delta):
        # Buffers exported from the view (memoryview, numpy) keep it alive,
        # so the view's lifetime covers them all.
        cdef Impl *impl = <Impl *>self.pool._impl
        cdef dict views
        if impl.views == NULL:
            views = {}
            Py_INCREF(views)    # owned through the raw pointer
            impl.views = <void *>views
        views = <dict>impl.views
        n = views.get(self.base, 0) + delta
        if n:
            views[self.base] = n
        else:
            views.pop(self.base, None)

    def __getbuffer__(self, Py_buffer *buffer, int flags):
        PyBuffer_FillInfo(buffer, self, <void *>self.addr, self.nbytes, 0, flags)

    def __len__(self):
        return self.nbytes

    property address:
        def __get__(self):
            return self.addr


# ---- Address (upstream's API) --------------------------------------------

cdef class Address:
    """A block of number * elem_size zero-filled bytes tied to this object:
    it is freed when the object is.

    Attributes:
        ptr (void*): the block (C level).
        addr (int): its address.
    """
    def __cinit__(self, size_t number, size_t elem_size,
                  PyMalloc pymalloc=Default_Malloc, PyFree pyfree=Default_Free):
        self.ptr = NULL
        self.pymalloc = pymalloc
        self.pyfree = pyfree

    def __init__(self, size_t number, size_t elem_size, *args, **kwargs):
        self.ptr = self.pymalloc.malloc(number * elem_size)
        if self.ptr == NULL:
            raise MemoryError("Error assigning %d bytes" % (number * elem_size))
        memset(self.ptr, 0, number * elem_size)

    property addr:
        def __get__(self):
            return <size_t>self.ptr

    def __dealloc__(self):
        if self.ptr != NULL:
            self.pyfree.free(self.ptr)
