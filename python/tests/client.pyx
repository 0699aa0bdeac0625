# client.pyx - Cython code written for upstream cymem, unchanged: the tests
# compile it against a cymem.pxd and run it against that module.
from cymem.cymem cimport Pool, Address, PyMalloc, PyFree, WrapMalloc, WrapFree
from libc.stdlib cimport malloc, free

cdef size_t n_malloc = 0
cdef size_t n_free = 0

cdef void* my_malloc(size_t n):
    global n_malloc
    n_malloc += 1
    return malloc(n)

cdef void my_free(void* p):
    global n_free
    n_free += 1
    free(p)

# A subclass that overrides the C methods, as a pool that counts or limits
# its allocations would: realloc goes through them.
cdef class CountingPool(Pool):
    cdef public int n_alloc, n_free

    cdef void* alloc(self, size_t number, size_t size) except NULL:
        self.n_alloc += 1
        return Pool.alloc(self, number, size)

    cdef void free(self, void* p) except *:
        self.n_free += 1
        Pool.free(self, p)

# A subclass whose alloc runs Python code first (a callback here; a
# finalizer that the collector calls would do the same).
cdef class HookPool(Pool):
    cdef public object hook

    cdef void* alloc(self, size_t number, size_t size) except NULL:
        hook, self.hook = self.hook, None
        if hook is not None:
            hook()
        return Pool.alloc(self, number, size)

# Allocator functions that call a Python hook first (a finalizer that the
# collector calls in them, or a switch to another thread, would run Python
# code there too).
alloc_hook = None
cdef size_t n_hook_malloc = 0
cdef size_t n_hook_free = 0

cdef void* hook_malloc(size_t n):
    global alloc_hook, n_hook_malloc
    hook, alloc_hook = alloc_hook, None
    if hook is not None:
        hook()
    n_hook_malloc += 1
    return malloc(n)

cdef void hook_free(void* p):
    global alloc_hook, n_hook_free
    hook, alloc_hook = alloc_hook, None
    if hook is not None:
        hook()
    n_hook_free += 1
    free(p)

def hook_pool():
    return Pool(WrapMalloc(hook_malloc), WrapFree(hook_free))

def hook_address(number, elem_size):
    """An Address on the hook's functions, not yet initialised."""
    return Address.__new__(Address, number, elem_size,
                           WrapMalloc(hook_malloc), WrapFree(hook_free))

def hook_counts():
    return n_hook_malloc, n_hook_free

def run():
    results = {}
    cdef Pool mem = Pool()
    cdef int* a = <int*>mem.alloc(10, sizeof(int))
    results["zero"] = all(a[i] == 0 for i in range(10))
    a[3] = 7
    results["size_after_alloc"] = mem.size
    a = <int*>mem.realloc(a, 20 * sizeof(int))
    results["kept"] = a[3] == 7 and all(a[i] == 0 for i in range(10, 20))
    results["size_after_realloc"] = mem.size
    # (<object>mem): a module compiled against upstream's .pxd would read
    # the raw slot behind a typed Pool's .addresses; see doc/python.md.
    results["addresses"] = (<object>mem).addresses == {<size_t>a: 20 * sizeof(int)}
    try:
        mem.realloc(<void*>12345, 100)
        results["realloc_unknown"] = "no error"
    except Exception as e:
        results["realloc_unknown"] = type(e).__name__
    try:
        mem.realloc(a, 4)
        results["realloc_smaller"] = "no error"
    except Exception as e:
        results["realloc_smaller"] = type(e).__name__
    mem.free(a)
    results["size_after_free"] = mem.size
    try:
        mem.free(a)
        results["double_free"] = "no error"
    except Exception as e:
        results["double_free"] = type(e).__name__
    cdef void* z1 = mem.alloc(0, 8)
    cdef void* z2 = mem.alloc(0, 8)
    results["zero_distinct"] = z1 != NULL and z2 != NULL and z1 != z2
    results["addresses_len"] = len((<object>mem).addresses)
    mem.own_pyref([1])
    results["refs"] = len(mem.refs)
    cdef Pool custom = Pool(WrapMalloc(my_malloc), WrapFree(my_free))
    cdef char* c = <char*>custom.alloc(100, 1)
    results["custom_zero"] = c[0] == 0 and c[99] == 0
    results["custom_size"] = custom.size
    cdef PyMalloc pm = custom.pymalloc
    cdef PyFree pf = custom.pyfree
    results["custom_fns"] = pm.malloc == my_malloc and pf.free == my_free
    # the counting allocators back the pool; all given back at teardown
    custom = None
    pm = pf = None
    results["counted"] = n_malloc >= 1 and n_free == n_malloc
    cdef CountingPool counting = CountingPool()
    c = <char*>counting.alloc(4, 1)
    c[0] = 9
    c = <char*>counting.realloc(c, 64)
    results["subclass_realloc"] = [counting.n_alloc, counting.n_free, c[0] == 9 and c[63] == 0,
                                   counting.size]
    cdef Address addr = Address(5, 8)
    results["address"] = (<double*>addr.ptr)[4] == 0 and addr.addr == <size_t>addr.ptr
    return results
