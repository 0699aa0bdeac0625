# addresses.pyx - upstream-style Cython code that reads Pool.addresses
# through a typed Pool.  Compiled against upstream's cymem.pxd, that read
# loads the object's slot directly; the tests run it on our module.
from cymem.cymem cimport Pool

def run():
    cdef Pool mem = Pool()
    cdef void* a = mem.alloc(4, 8)
    cdef void* b = mem.alloc(1, 100)
    r = {}
    r["is_dict"] = isinstance(mem.addresses, dict)
    r["len"] = len(mem.addresses)
    r["has_a"] = <size_t>a in mem.addresses
    r["size_a"] = mem.addresses.get(<size_t>a, -1)
    r["iterated"] = sorted(mem.addresses.values())
    mem.free(a)
    r["len_after_free"] = len(mem.addresses)
    b = mem.realloc(b, 200)
    r["after_realloc"] = dict(mem.addresses) == {<size_t>b: 200}
    return r
