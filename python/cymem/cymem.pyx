# cython: language_level=3, embedsignature=True
"""cymem.cymem - memory pools for Cython and Python, on libcymem.

Source- and binary-compatible with upstream cymem 2.x (the classes, their
layout and Pool's vtable are those of cymem.pxd), plus a Python-level API:
``Pool().alloc(number, size)`` returns the block's address as an int,
``free()`` frees everything, ``with Pool() as p:``, ``aligned_alloc``,
``stats()`` and ``view()`` for safe access to the memory from Python.

Every value that reaches C from Python goes through _size() (an exact
int in range, never a float) and every product or sum of sizes is checked:
nothing a Python caller passes may crash the interpreter.
"""

cimport cython
from cpython.mem cimport PyMem_Malloc, PyMem_Free
from cpython.buffer cimport PyBuffer_FillInfo
from cpython.dict cimport PyDict_SetItem, PyDict_Clear, PyDict_Size, PyDict_Copy
from cpython.number cimport PyNumber_Index
from libc.errno cimport errno, EINVAL
from libc.string cimport memcpy, memset
import os
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
    int cymem_pool_free_size(cymem_pool *pool, void *ptr, size_t *size)
    int cymem_pool_find(const cymem_pool *pool, const void *addr,
                        void **block, size_t *size)
    size_t cymem_pool_block_size(const cymem_pool *pool, const void *ptr)
    int cymem_pool_stats(const cymem_pool *pool, cymem_stats *out)
    int cymem_pool_foreach(const cymem_pool *pool,
                           int (*fn)(void *ptr, size_t size, void *ctx), void *ctx)
    const char *cymem_version()

cdef extern from *:
    bint mul_overflow "__builtin_mul_overflow"(size_t a, size_t b, size_t *out)

cdef extern from "Python.h":
    ctypedef struct PyObject
    ctypedef int (*inquiry)(PyObject *)
    ctypedef int (*traverseproc)(PyObject *, void *, void *)
    ctypedef struct TypeObject "PyTypeObject":
        PyObject *tp_dict
        traverseproc tp_traverse
        inquiry tp_clear
    void PyType_Modified(TypeObject *t)
    Py_ssize_t Py_REFCNT(object o)
    void Py_INCREF(object o)
    void Py_DECREF(object o)
    size_t PyLong_AsSize_t(object o) except? <size_t>-1

WARN_ZERO_ALLOC = False

LIBCYMEM_VERSION = cymem_version().decode("ascii")


cdef inline size_t _size(object x) except? <size_t>-1:
    """x as a size_t: an int (or an object with __index__) in range.  A
    float or a str is a TypeError, a negative or too large int an
    OverflowError: never a silently truncated value."""
    if type(x) is not int:
        x = PyNumber_Index(x)
    return PyLong_AsSize_t(x)


cdef size_t _addr(object x) except? <size_t>-1:
    """An address from Python: as _size(), but an int out of the range of
    size_t is 0, which no block has, so that every method takes it for
    what it is: an address that is not a live block of the pool."""
    try:
        return _size(x)
    except OverflowError:
        return 0


# ---- allocator wrappers (upstream's API) ---------------------------------
# Made from C with WrapMalloc/WrapFree.  One made from Python holds no
# function; Pool and Address refuse it.

@cython.auto_pickle(False)
cdef class PyMalloc:
    cdef void _set(self, malloc_t malloc):
        self.malloc = malloc

cdef PyMalloc WrapMalloc(malloc_t malloc):
    cdef PyMalloc o = PyMalloc()
    o._set(malloc)
    return o

@cython.auto_pickle(False)
cdef class PyFree:
    cdef void _set(self, free_t free):
        self.free = free

cdef PyFree WrapFree(free_t free):
    cdef PyFree o = PyFree()
    o._set(free)
    return o

Default_Malloc = WrapMalloc(PyMem_Malloc)
Default_Free = WrapFree(PyMem_Free)
cdef PyMalloc _default_malloc = Default_Malloc
cdef PyFree _default_free = Default_Free


cdef _check_allocator(PyMalloc pymalloc, PyFree pyfree):
    if pymalloc.malloc == NULL or pyfree.free == NULL:
        raise ValueError("an allocator made from Python has no function: "
                         "use WrapMalloc()/WrapFree() from Cython")


# ---- address tracking ----------------------------------------------------
# Upstream keeps {address: size} of every block in Pool.addresses, a dict
# that Cython code compiled against upstream's .pxd reads straight from
# the object.  Keeping it costs a dict insert and delete per block, so it
# is opt-in: pools made while tracking is on keep it exactly as upstream.

cdef bint _track = os.environ.get("CYMEM_TRACK_ADDRESSES", "") not in ("", "0")


def track_addresses(on=None):
    """track_addresses([on]) -> bool: whether pools made from now on keep
    upstream's addresses dict in the object (CYMEM_TRACK_ADDRESSES=1 in
    the environment turns it on at import); with an argument, set it and
    return the previous setting."""
    global _track
    cdef bint old = _track
    if on is not None:
        _track = bool(on)
    return old


# ---- the pool ------------------------------------------------------------

@cython.final
@cython.no_gc_clear             # its view counts must outlive a GC cycle's clear
@cython.auto_pickle(False)
cdef class _Blocks(dict):
    """What Pool keeps in upstream's `addresses` slot: a dict (empty, or
    exactly upstream's in tracking mode) that also holds the libcymem
    pool, made on the first allocation, its backing allocator when the
    pool was given pymalloc/pyfree, and the count of live views per
    block."""
    cdef cymem_pool *pool
    cdef cymem_allocator backing
    cdef malloc_t user_malloc
    cdef free_t user_free
    cdef dict views             # {block: live views}, or None
    cdef bint exact
    cdef bint plain             # neither exact nor on user_malloc: fast paths
    cdef bint busy              # in user_malloc or user_free (below)

    def __dealloc__(self):
        if self.pool != NULL:
            cymem_pool_destroy(self.pool)
            self.pool = NULL

# A collection clears the dict as a dict, which breaks the cycles that go
# through it (a tracked addresses dict that holds its own pool), and
# leaves the C fields and the view counts to __dealloc__ and the views.
# It traverses it as a dict too: the view counts hold ints only, so no
# cycle goes through them, and gc.get_referents() must not hand them out
# (emptied, they would let a block with live views be freed).
(<TypeObject *>_Blocks).tp_traverse = (<TypeObject *>dict).tp_traverse
(<TypeObject *>_Blocks).tp_clear = (<TypeObject *>dict).tp_clear

# The caller's functions run inside a libcymem call on the pool, and may
# run Python code: their own, a finalizer that the collector calls, or
# another thread's, if they let go of the GIL.  That code must not call
# into the pool while libcymem is in the middle of a call on it: busy is
# set while they run, and every method then refuses the pool (_check_idle).
# Upstream's pool called them outside of its own bookkeeping.
# ctx is cast at each use: a typed local would take a reference, and they
# also run from _Blocks.__dealloc__.
cdef void *_backing_malloc(size_t size, void *ctx) noexcept:
    (<_Blocks>ctx).busy = True
    cdef void *p = (<_Blocks>ctx).user_malloc(size)
    (<_Blocks>ctx).busy = False
    return p

cdef void _backing_free(void *ptr, size_t size, void *ctx) noexcept:
    (<_Blocks>ctx).busy = True
    (<_Blocks>ctx).user_free(ptr)
    (<_Blocks>ctx).busy = False

cdef int _check_idle(_Blocks b) except -1:
    """RuntimeError if b's pool is in a call to its allocator functions:
    called right before each libcymem call on the pool, with no Python
    code in between."""
    if b.busy:
        raise RuntimeError("the pool is in a call to its pymalloc or pyfree "
                           "function, which cannot use it (nor can another "
                           "thread meanwhile)")
    return 0

cdef cymem_pool *_open(_Blocks b) except NULL:
    """The libcymem pool of b, made now: a Pool that never allocates (as
    often in spaCy, which makes one per Doc) costs no pool."""
    cdef cymem_pool_options opts
    memset(&opts, 0, sizeof(opts))
    if b.user_malloc != NULL:
        b.backing.malloc = _backing_malloc
        b.backing.free = _backing_free
        b.backing.ctx = <void *>b
        opts.allocator = &b.backing
    b.pool = cymem_pool_new_ex(&opts)
    if b.pool == NULL:
        raise MemoryError("cannot create a pool")
    return b.pool

cdef int _remember(_Blocks b, void *p, size_t n) except -1:
    PyDict_SetItem(b, <size_t>p, n)
    return 0

cdef int _forget(_Blocks b, void *p) except -1:
    dict.pop(b, <size_t>p, None)
    return 0

cdef int _check_no_views(_Blocks b, void *p) except -1:
    n = b.views.get(<size_t>p, 0)
    if n:
        raise BufferError("block %#x has %d live views" % (<size_t>p, n))
    return 0

# Pool.addresses in the default mode: the blocks are copied out in C first,
# and the dict is built after the walk, so that no Python code (a __del__
# run by the collector while the dict grows, say) can free a block of
# the pool in the middle of cymem_pool_foreach().
cdef struct _Walk:
    size_t n, cap
    size_t *pairs               # address, size, address, size, ...

cdef int _collect(void *ptr, size_t size, void *ctx) noexcept:
    cdef _Walk *w = <_Walk *>ctx
    if w.n == w.cap:
        return -1               # more blocks than counted: cannot happen
    w.pairs[2 * w.n] = <size_t>ptr
    w.pairs[2 * w.n + 1] = size
    w.n += 1
    return 0

cdef dict _addresses(cymem_pool *pool):
    cdef cymem_stats st
    cdef _Walk w
    cdef dict d = {}
    cdef size_t i
    if pool == NULL:
        return d
    cymem_pool_stats(pool, &st)
    w.n = 0
    w.cap = st.live_blocks
    w.pairs = <size_t *>PyMem_Malloc(2 * w.cap * sizeof(size_t) + 1)
    if w.pairs == NULL:
        raise MemoryError()
    try:
        if cymem_pool_foreach(pool, _collect, &w) != 0:
            raise RuntimeError("the pool changed while its blocks were listed")
        for i in range(w.n):
            d[w.pairs[2 * i]] = w.pairs[2 * i + 1]
    finally:
        PyMem_Free(w.pairs)
    return d

# _Blocks of dead pools, kept for new ones: a dict subclass is slower to
# make than the plain dict upstream makes, and spaCy makes a Pool per Doc.
DEF NSPARE = 16
cdef PyObject *_spare[NSPARE]
cdef int _nspare = 0

cdef inline _Blocks _new_blocks():
    global _nspare
    cdef _Blocks b
    if _nspare == 0:
        return _Blocks.__new__(_Blocks)
    _nspare -= 1
    b = <_Blocks>_spare[_nspare]
    Py_DECREF(b)                # the cache's reference is now b's
    return b

# A dying pool's dict is cleared in its __dealloc__, and its values may
# hold other pools: a chain of pools, each in the dict of the one before,
# would be cleared one C frame per pool, past the end of the stack.
# Beyond CLEAR_DEPTH nested clears, the items go to a plain dict that is
# then dropped: CPython's dict deallocator defers deep chains (the
# "trashcan"), as it did for upstream's plain addresses dicts.
DEF CLEAR_DEPTH = 32
cdef int _clear_depth = 0

cdef void _clear_blocks(_Blocks b):
    global _clear_depth
    if _clear_depth < CLEAR_DEPTH:
        _clear_depth += 1
        PyDict_Clear(b)
        _clear_depth -= 1
        return
    try:
        items = PyDict_Copy(b)
    except MemoryError:
        items = None
    PyDict_Clear(b)
    del items

cdef inline void _keep_blocks(_Blocks b):
    """Put b, whose pool is gone, in the cache if nothing else holds it
    (its caller's reference and the dead Pool's are the only two)."""
    global _nspare
    if Py_REFCNT(b) != 2 or type(b) is not _Blocks:
        return
    if PyDict_Size(b):
        # The values' finalizers run here: they may make and drop pools
        # (filling the cache), or take b and put items in it.
        _clear_blocks(b)
        if Py_REFCNT(b) != 2 or PyDict_Size(b):
            return
    if _nspare == NSPARE:
        return
    b.user_malloc = NULL
    b.user_free = NULL
    b.views = None
    Py_INCREF(b)
    _spare[_nspare] = <PyObject *>b
    _nspare += 1


cdef _no_memory(size_t number, size_t size):
    """The MemoryError of an allocation of number * size bytes, with the
    product in Python ints: it may not fit in a size_t."""
    return MemoryError("Error assigning %d bytes" % (<object>number * <object>size))

cdef void *_alloc_slow(Pool self, size_t number, size_t elem_size,
                       bint failed) except NULL:
    """Pool.alloc() for every case but the common one: a zero size (which
    may warn), the pool's first block, tracking mode, a pool on the
    caller's functions, a failure (failed: the fast path's allocation,
    which is not tried again)."""
    cdef _Blocks b = <_Blocks>self._blocks
    cdef void *p = NULL
    if not failed:
        if (number == 0 or elem_size == 0) and WARN_ZERO_ALLOC:
            warnings.warn("Allocating zero bytes")
        _check_idle(b)
        if b.pool == NULL:
            _open(b)
        p = cymem_pool_alloc(b.pool, number, elem_size)
    if p == NULL:
        raise _no_memory(number, elem_size)
    self.size += number * elem_size
    if b.exact:
        _remember(b, p, number * elem_size)
    return p

cdef int _free_slow(Pool self, void *p) except -1:
    """Pool.free() for every case but the common one: live views, tracking
    mode, a pool on the caller's functions, a pointer that is not a live
    block of the pool (KeyError)."""
    cdef _Blocks b = <_Blocks>self._blocks
    cdef size_t n
    if b.views is not None:
        _check_no_views(b, p)
    _check_idle(b)
    if p == NULL or b.pool == NULL or cymem_pool_free_size(b.pool, p, &n) != 0:
        raise KeyError(<size_t>p)
    self.size -= n
    if b.exact:
        _forget(b, p)
    return 0

cdef inline int _check_made(Pool pool) except -1:
    """RuntimeError if pool has no _Blocks: a finalizer that the collector
    runs in the middle of Pool() can find the Pool (gc.get_objects())
    before __cinit__ has given it one, or after __cinit__ has failed."""
    if pool._blocks is None:
        raise RuntimeError("this Pool was not made: a finalizer found it "
                           "in the middle of Pool()")
    return 0

cdef inline _Blocks _blocks_of(Pool pool):
    """pool's _Blocks, for a method that Python calls (_check_made), on a
    pool that is not in its allocator functions (_check_idle)."""
    _check_made(pool)
    _check_idle(<_Blocks>pool._blocks)
    return <_Blocks>pool._blocks

# The live block that starts at p: its size, from one lookup that, unlike
# cymem_pool_find(), looks for no interior address (errno tells a block of
# 0 bytes from none).
cdef extern from *:
    """
    static int cymem_block_at(const cymem_pool *pool, const void *p, size_t *size)
    {
        errno = 0;
        *size = cymem_pool_block_size(pool, p);
        return *size != 0 || errno == 0;
    }
    """
    bint _block_at "cymem_block_at"(const cymem_pool *pool, const void *p, size_t *size)

# A Cython subclass of Pool has a vtable of its own, and may override alloc
# and free (to count or limit what it allocates): its realloc goes through
# them, as upstream's always does.
cdef extern from *:
    """
    struct cymem_vtab_head { PyObject_HEAD void *vtab; };
    #define cymem_vtab(o) (((struct cymem_vtab_head *)(o))->vtab)
    """
    void *_vtab "cymem_vtab"(object o)

cdef void *_pool_vtab = NULL     # Pool's own, set once Pool is made

cdef void *_realloc_through(Pool self, void *p, size_t old, size_t new_size) except NULL:
    cdef size_t now = 0
    cdef void *q = self.alloc(1, new_size)
    # The subclass's alloc may run Python code (its own, or a finalizer
    # the collector calls) that frees p: then it is not read, and q (which
    # may even be p's memory again) stays in the pool, as a failed free
    # would leave it.
    if (q == p or not _block_at((<_Blocks>self._blocks).pool, p, &now)
            or now != old):
        raise ValueError("Pointer %d was freed while it was reallocated" % <size_t>p)
    memcpy(q, p, old)
    self.free(p)
    return q

# Pool.alloc() and Pool.free() reach their slow paths through pointers, so
# that the C compiler keeps them out of line: inlined, they would make the
# fast paths save and restore every register they use.
ctypedef void *(*_alloc_slow_t)(Pool, size_t, size_t, bint) except NULL
ctypedef int (*_free_slow_t)(Pool, void *) except -1
cdef _alloc_slow_t _alloc_slow_p = _alloc_slow
cdef _free_slow_t _free_slow_p = _free_slow

@cython.no_gc_clear             # its C state must outlive a GC cycle's clear
@cython.freelist(16)
@cython.auto_pickle(False)
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
            memoryview(buf)[:3] = b"abc"
            del buf                           # (a live view pins its block)

    Attributes:
        size (int): bytes currently allocated (the sum of requested sizes).
        addresses (dict): {address: size} of the live blocks.
        refs (list): Python objects kept alive by own_pyref().
        pymalloc, pyfree: the allocator functions (upstream's API).
    """

    def __cinit__(self, PyMalloc pymalloc not None=Default_Malloc,
                  PyFree pyfree not None=Default_Free):
        # Any allocation here can run the collector, and a finalizer can
        # then find this Pool (gc.get_objects()): the methods refuse it
        # (_check_made) until the last line gives it its _Blocks.
        self.pymalloc = pymalloc
        self.pyfree = pyfree
        self.refs = []
        cdef _Blocks b = _new_blocks()
        if pymalloc is not _default_malloc or pyfree is not _default_free:
            # A pool on the caller's functions, as upstream's would be.
            _check_allocator(pymalloc, pyfree)
            b.user_malloc = pymalloc.malloc
            b.user_free = pyfree.free
        b.exact = _track
        b.plain = not b.exact and b.user_malloc == NULL
        self._blocks = b

    def __dealloc__(self):
        cdef _Blocks b = <_Blocks>self._blocks
        if b is None:
            return
        if b.pool != NULL:
            # now, even if someone still holds the addresses dict
            cymem_pool_destroy(b.pool)
            b.pool = NULL
        _keep_blocks(b)

    # -- the C-level API: upstream's vtable, in upstream's order ----------
    # They trust their Pool: Cython code has it from Pool().  Python
    # reaches them through methods that check it first.

    # alloc and free read the _Blocks through casts of the slot, not a
    # typed local: that would cost a reference count on every call.

    cdef void* alloc(self, size_t number, size_t elem_size) except NULL:
        """Allocate a zero-filled block of number * elem_size bytes that the
        pool owns.  MemoryError when memory is exhausted (or the size
        overflows)."""
        # The common case in a few instructions; the rest out of line, so
        # that this function saves no registers it does not need.
        cdef cymem_pool *pool = (<_Blocks>self._blocks).pool
        cdef void *p
        cdef bint failed = False
        if (pool != NULL and number != 0 and elem_size != 0
                and (<_Blocks>self._blocks).plain):
            p = cymem_pool_alloc(pool, number, elem_size)
            if p != NULL:
                self.size += number * elem_size
                return p
            failed = True
        return _alloc_slow_p(self, number, elem_size, failed)

    cdef void free(self, void* p) except *:
        """Free one block of the pool.  KeyError if p is not a live block of
        this pool (nothing is freed then)."""
        cdef size_t n
        cdef cymem_pool *pool = (<_Blocks>self._blocks).pool
        if ((<_Blocks>self._blocks).views is None and p != NULL and pool != NULL
                and (<_Blocks>self._blocks).plain
                and cymem_pool_free_size(pool, p, &n) == 0):
            self.size -= n
            return
        _free_slow_p(self, p)

    cdef void* realloc(self, void* p, size_t new_size) except NULL:
        """Resize a block to new_size bytes, which must be larger than its
        size now; the new bytes are zero.  ValueError if p is not a live
        block of this pool or new_size is not larger."""
        cdef _Blocks b = <_Blocks>self._blocks
        cdef size_t old = 0
        _check_idle(b)
        if p == NULL or b.pool == NULL or not _block_at(b.pool, p, &old):
            raise ValueError("Pointer %d not found in Pool" % <size_t>p)
        if new_size == 0:
            raise ValueError("Realloc requires new_size > 0")
        if new_size <= old:
            raise ValueError("Realloc requires new_size (%d) > the block's size (%d)"
                             % (new_size, old))
        if b.views is not None:
            _check_no_views(b, p)
        if _vtab(self) != _pool_vtab:
            return _realloc_through(self, p, old, new_size)
        cdef void *q = cymem_pool_realloc(b.pool, p, new_size)
        if q == NULL:
            raise MemoryError("Error reallocating to %d bytes" % new_size)
        self.size += new_size - old
        if b.exact:
            _forget(b, p)
            _remember(b, q, new_size)
        return q

    # -- upstream's Python-level API -------------------------------------

    def own_pyref(self, object py_ref):
        """Keep py_ref alive as long as the pool."""
        _check_made(self)
        self.refs.append(py_ref)

    @property
    def addresses(self):
        """{address: size} of every live block.  With address tracking
        (track_addresses()) it is the pool's own dict, as upstream;
        otherwise a new dict made on each read."""
        cdef _Blocks b = _blocks_of(self)
        if b.exact:
            return b
        return _addresses(b.pool)

    # -- the Python API of the product brief -----------------------------
    # alloc, free and realloc are C-level methods (the vtable above); their
    # Python-level methods are added to the type's dict at import (see the
    # end of the module), so that Python code finds them by ordinary
    # lookup, and Cython code typed as Pool still calls the C methods.

    def aligned_alloc(self, number, size, alignment=64):
        """aligned_alloc(number, size, alignment=64) -> address: alloc() with
        the block aligned to alignment (a power of two, at most 1 MiB)."""
        cdef size_t k = _size(number), n = _size(size), al = _size(alignment)
        cdef _Blocks b = _blocks_of(self)
        cdef cymem_pool *pool = b.pool
        if pool == NULL:
            pool = _open(b)
        cdef void *p = cymem_pool_alloc_aligned(pool, k, n, al)
        if p == NULL:
            if errno == EINVAL:
                raise ValueError("alignment must be a power of two up to 1 MiB, not %d"
                                 % al)
            raise _no_memory(k, n)
        self.size += k * n
        if b.exact:
            _remember(b, p, k * n)
        return <size_t>p

    def reset(self):
        """Free every block and keep the pool.  BufferError if a view of the
        memory is still alive."""
        cdef _Blocks b = _blocks_of(self)
        if b.views:
            raise BufferError("a view of the pool's memory is still alive")
        if b.pool != NULL:
            cymem_pool_reset(b.pool)
        self.size = 0
        if b.exact:
            PyDict_Clear(b)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        # A block that raises while a view is alive (its frame, held by
        # the traceback, still has the view): its exception goes on, not
        # a BufferError that would hide it.  The blocks are left to the
        # pool, which frees them when it goes (after its views, which
        # hold it), or to a later free().
        if exc and exc[0] is not None and (<_Blocks>_blocks_of(self)).views:
            return False
        self.reset()
        return False

    def __bool__(self):
        # A pool is always true, as upstream's: `mem = mem or Pool()`.
        return True

    def __len__(self):
        cdef cymem_stats st
        cdef _Blocks b = _blocks_of(self)
        if b.pool == NULL:
            return 0
        cymem_pool_stats(b.pool, &st)
        return st.live_blocks

    def __contains__(self, addr):
        # addr first: its __index__ may run Python code (see _check_idle)
        cdef size_t n, a = _addr(addr)
        return _owns(_blocks_of(self), a, &n)

    @cython.always_allow_keywords(True)     # block_size(addr=...), as free(addr=...)
    def block_size(self, addr):
        """The requested size of a live block; KeyError if addr is not one."""
        cdef size_t n = 0, a = _addr(addr)
        if _owns(_blocks_of(self), a, &n):
            return n
        raise KeyError(addr)

    def stats(self):
        """A dict: live_bytes, live_blocks, peak_bytes, reserved_bytes,
        used_bytes, metadata_bytes, chunk_count, and fragmentation: the
        share of reserved memory not holding requested bytes."""
        cdef cymem_stats st
        cdef _Blocks b = _blocks_of(self)
        memset(&st, 0, sizeof(st))
        if b.pool != NULL:
            cymem_pool_stats(b.pool, &st)
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

    def view(self, addr, nbytes):
        """A writable buffer over nbytes at addr, for memoryview, struct or
        numpy.frombuffer.  The range must lie inside one live block
        (KeyError if addr is in none, ValueError if the range runs past
        its end).  While a view is alive, freeing the block (or resetting
        the pool) raises BufferError instead of leaving it dangling."""
        cdef size_t a = _addr(addr), n = _size(nbytes), size = 0
        cdef void *base = NULL
        cdef _Blocks b = _blocks_of(self)
        # Making a Python object can run the collector, and so a finalizer
        # that frees the block or resets the pool (or lets another thread
        # do it): the view, and the count of views if the pool has none
        # yet, are made first.  From the lookup to the pin, nothing makes
        # an object the collector tracks or runs Python code.
        cdef PoolView v = PoolView.__new__(PoolView)
        cdef dict views = {} if b.views is None else b.views
        _check_idle(b)
        if (a == 0 or b.pool == NULL or
                cymem_pool_find(b.pool, <void *>a, &base, &size) != 0):
            raise KeyError("%s is not inside a live block of this pool"
                           % (hex(a) if a else repr(addr)))
        # base <= a <= base + size, so neither side can wrap
        if n > size - (a - <size_t>base):
            raise ValueError("%d bytes at %#x run past the end of the block (%d bytes)"
                             % (n, a, size))
        if b.views is None:     # (a finalizer may have made one since)
            b.views = views
        _pin(b, <size_t>base)
        v.addr = a
        v.nbytes = n
        v.base = <size_t>base
        v.pool = self           # from here on, its __dealloc__ unpins
        return v


cdef int _free_one(Pool pool, object addr) except -1:
    """Pool.free(addr) from Python: anything that is not a live block of
    the pool is a KeyError (a non-integer a TypeError)."""
    if addr is None:
        raise KeyError(addr)
    cdef size_t a = _addr(addr)
    if a == 0:
        raise KeyError(addr)
    pool.free(<void *>a)
    return 0


cdef bint _owns(_Blocks b, size_t a, size_t *size):
    """Whether a is the start of a live block of b's pool; its size to
    *size."""
    cdef void *base = NULL
    return (a != 0 and b.pool != NULL and
            cymem_pool_find(b.pool, <void *>a, &base, size) == 0 and
            base == <void *>a)


cdef int _pin(_Blocks b, size_t base) except -1:
    """Count one more view of block base.  b.views must exist: making it
    here could run the collector between Pool.view()'s lookup and this."""
    b.views[base] = b.views.get(base, 0) + 1
    return 0

cdef int _unpin(_Blocks b, size_t base) except -1:
    n = b.views[base] - 1
    if n:
        b.views[base] = n
    else:
        del b.views[base]
        if not b.views:
            b.views = None      # the free path tests only for None
    return 0


@cython.final
@cython.no_gc_clear             # its count must be undone by its own dealloc
@cython.auto_pickle(False)
cdef class PoolView:
    """A writable buffer over part of a pool block, made by Pool.view().
    It keeps its pool alive and pins its block while it lives; buffers
    exported from it (memoryview, numpy) keep it alive."""
    cdef Pool pool
    cdef size_t addr, nbytes, base

    def __cinit__(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError("PoolView objects are made by Pool.view()")

    # PoolView() without arguments passes __cinit__, as Pool.view()'s
    # PoolView.__new__(PoolView) must; only a call of the class runs this.
    def __init__(self, *args, **kwargs):
        raise TypeError("PoolView objects are made by Pool.view()")

    def __dealloc__(self):
        if self.pool is not None:
            _unpin(<_Blocks>self.pool._blocks, self.base)

    def __getbuffer__(self, Py_buffer *buffer, int flags):
        if self.pool is None:
            raise BufferError("this PoolView was not made by Pool.view()")
        PyBuffer_FillInfo(buffer, self, <void *>self.addr, self.nbytes, 0, flags)

    def __len__(self):
        return self.nbytes

    @property
    def address(self):
        return self.addr


# ---- Address (upstream's API) --------------------------------------------

@cython.no_gc_clear             # its pyfree must outlive a GC cycle's clear
@cython.auto_pickle(False)
cdef class Address:
    """A block of number * elem_size zero-filled bytes tied to this object:
    it is freed when the object is.

    Attributes:
        ptr (void*): the block (C level).
        addr (int): its address.
    """
    def __cinit__(self, number, elem_size,
                  PyMalloc pymalloc not None=Default_Malloc,
                  PyFree pyfree not None=Default_Free):
        self.ptr = NULL
        self.pymalloc = pymalloc
        self.pyfree = pyfree

    # As upstream: the allocator arguments reach __cinit__ only (Address
    # with four arguments is a TypeError, here from __init__, before the
    # allocator is looked at).
    def __init__(self, number, elem_size):
        # The conversions first: they may run Python code (__index__),
        # which may even initialise this Address.
        cdef size_t k = _size(number), s = _size(elem_size), n
        if self.ptr != NULL:
            raise TypeError("Address is already initialised")
        _check_allocator(self.pymalloc, self.pyfree)
        if mul_overflow(k, s, &n):
            raise _no_memory(k, s)
        cdef void *p = self.pymalloc.malloc(n)
        # The allocator may run Python code (a callback, a finalizer) that
        # initialised this Address meanwhile: its block is kept, this one
        # given back.
        if self.ptr != NULL:
            if p != NULL:
                self.pyfree.free(p)
            raise TypeError("Address is already initialised")
        if p == NULL:
            raise _no_memory(k, s)
        memset(p, 0, n)
        self.ptr = p

    @property
    def addr(self):
        return <size_t>self.ptr

    def __dealloc__(self):
        if self.ptr != NULL and self.pyfree is not None:
            self.pyfree.free(self.ptr)


# ---- Python-level alloc/free/realloc --------------------------------------
# Pool's C methods take these names in the vtable, so Python's cannot be
# def methods.  Python code must find alloc/free/realloc by ordinary
# lookup (dir(), help(), no __getattr__ detour), and find them fast: a
# def method of Cython 0.29 packs its arguments into a tuple and parses
# them, which costs more than the allocation.  So the type's dict gets
# METH_FASTCALL methods that hand positional calls straight to the
# functions below, and bind any other call's arguments (keywords, a wrong
# count) as Python would, with errors that name the method.

cdef extern from *:
    """
    typedef PyObject *(*cymem_impl2)(PyObject *, PyObject *, PyObject *);
    static cymem_impl2 cymem_alloc_impl, cymem_free_impl, cymem_realloc_impl;

    /* The parameters of alloc, free and realloc (the first `required`
       of them required). */
    static const struct cymem_params {
        const char *fn, *names[2];
        Py_ssize_t n, required;
    } cymem_alloc_params = { "alloc", { "number", "size" }, 2, 2 },
      cymem_free_params = { "free", { "addr" }, 1, 0 },
      cymem_realloc_params = { "realloc", { "addr", "size" }, 2, 2 };

    /* A call other than the positional one of a fast path: binds the
       arguments to the method's parameters @p as Python would and calls
       @impl with them (NULL for an optional one not given).  Out of line,
       so that the fast paths stay a test and a jump. */
    static Py_NO_INLINE PyObject *
    cymem_slow_call(const struct cymem_params *p, cymem_impl2 impl, PyObject *self,
                    PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
    {
        const char *fn = p->fn;
        Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
        PyObject *bound[2] = { NULL, NULL };

        if (nargs > p->n)
            return PyErr_Format(PyExc_TypeError,
                                "%s() takes %s %zd positional argument%s (%zd given)", fn,
                                p->n == p->required ? "exactly" : "at most", p->n,
                                p->n == 1 ? "" : "s", nargs);
        for (Py_ssize_t k = 0; k < nargs; k++)
            bound[k] = args[k];
        for (Py_ssize_t k = 0; k < nkw; k++) {
            PyObject *key = PyTuple_GET_ITEM(kwnames, k);
            Py_ssize_t j = 0;
            while (j < p->n && PyUnicode_CompareWithASCIIString(key, p->names[j]) != 0)
                j++;
            if (j == p->n)
                return PyErr_Format(PyExc_TypeError,
                                    "%s() got an unexpected keyword argument '%U'", fn, key);
            if (bound[j] != NULL)
                return PyErr_Format(PyExc_TypeError,
                                    "%s() got multiple values for argument '%s'",
                                    fn, p->names[j]);
            bound[j] = args[nargs + k];
        }
        for (Py_ssize_t j = 0; j < p->required; j++)
            if (bound[j] == NULL)
                return PyErr_Format(PyExc_TypeError,
                                    "%s() missing required argument '%s' (pos %zd)",
                                    fn, p->names[j], j + 1);
        return impl(self, bound[0], bound[1]);
    }

    static PyObject *cymem_alloc_fc(PyObject *self, PyObject *const *args,
                                    Py_ssize_t nargs, PyObject *kwnames)
    {
        if (kwnames == NULL && nargs == 2)
            return cymem_alloc_impl(self, args[0], args[1]);
        return cymem_slow_call(&cymem_alloc_params, cymem_alloc_impl, self, args, nargs, kwnames);
    }

    static PyObject *cymem_free_fc(PyObject *self, PyObject *const *args,
                                   Py_ssize_t nargs, PyObject *kwnames)
    {
        if (kwnames == NULL && nargs <= 1)
            return cymem_free_impl(self, nargs ? args[0] : NULL, NULL);
        return cymem_slow_call(&cymem_free_params, cymem_free_impl, self, args, nargs, kwnames);
    }

    static PyObject *cymem_realloc_fc(PyObject *self, PyObject *const *args,
                                      Py_ssize_t nargs, PyObject *kwnames)
    {
        if (kwnames == NULL && nargs == 2)
            return cymem_realloc_impl(self, args[0], args[1]);
        return cymem_slow_call(&cymem_realloc_params, cymem_realloc_impl, self, args, nargs, kwnames);
    }

    static PyMethodDef cymem_fast_methods[3] = {
        {"alloc", (PyCFunction)(void (*)(void))cymem_alloc_fc, METH_FASTCALL | METH_KEYWORDS,
         "alloc(number, size) -> address: a zero-filled block of number * size "
         "bytes that the pool owns; its address as an int.  MemoryError if it "
         "cannot be had, TypeError for a non-integer, OverflowError for a "
         "negative or too large one."},
        {"free", (PyCFunction)(void (*)(void))cymem_free_fc, METH_FASTCALL | METH_KEYWORDS,
         "free(addr) frees one block: KeyError if addr is not a live block of "
         "this pool (None and 0 included), TypeError if it is not an int. "
         "free() with no argument frees every block and keeps the pool. "
         "BufferError if a view of the memory is still alive."},
        {"realloc", (PyCFunction)(void (*)(void))cymem_realloc_fc, METH_FASTCALL | METH_KEYWORDS,
         "realloc(addr, size) -> address: resize a block to a larger size "
         "(ValueError otherwise, or if addr is not a live block, as upstream); "
         "the contents are kept and the new bytes are zero."},
    };

    /* Put the three methods in @type's dict. */
    static int cymem_publish(PyTypeObject *type)
    {
        for (int i = 0; i < 3; i++) {
            PyObject *desc = PyDescr_NewMethod(type, &cymem_fast_methods[i]);
            if (desc == NULL)
                return -1;
            int rc = PyDict_SetItemString(type->tp_dict, cymem_fast_methods[i].ml_name, desc);
            Py_DECREF(desc);
            if (rc < 0)
                return -1;
        }
        PyType_Modified(type);
        return 0;
    }
    """
    ctypedef object (*cymem_impl2)(PyObject *, PyObject *, PyObject *)
    cymem_impl2 cymem_alloc_impl, cymem_free_impl, cymem_realloc_impl
    int cymem_publish(TypeObject *type) except -1


cdef object _alloc_impl(PyObject *self, PyObject *n, PyObject *s):
    _check_made(<Pool>self)
    return <size_t>(<Pool>self).alloc(_size(<object>n), _size(<object>s))

cdef object _free_impl(PyObject *self, PyObject *addr, PyObject *unused):
    _check_made(<Pool>self)
    if addr == NULL:
        (<Pool>self).reset()
    else:
        _free_one(<Pool>self, <object>addr)

cdef object _realloc_impl(PyObject *self, PyObject *addr, PyObject *n):
    _check_made(<Pool>self)
    cdef size_t a = _addr(<object>addr)
    # An address out of the range of size_t is 0 to _addr(); the message
    # names the one given, as free() and view() do.
    if a == 0 and PyNumber_Index(<object>addr) != 0:
        raise ValueError("Pointer %d not found in Pool" % PyNumber_Index(<object>addr))
    return <size_t>(<Pool>self).realloc(<void *>a, _size(<object>n))

_pool_vtab = _vtab(Pool.__new__(Pool))

cymem_alloc_impl = _alloc_impl
cymem_free_impl = _free_impl
cymem_realloc_impl = _realloc_impl
cymem_publish(<TypeObject *>Pool)
