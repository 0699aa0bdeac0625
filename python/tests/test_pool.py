"""The Python API of cymem.cymem: the product brief's calls and upstream
cymem's Python-level behaviour."""
import ctypes
import gc
import struct
import sys
import textwrap
import threading
import tracemalloc
import warnings

import pytest

import cymem.cymem as cm
from cymem.cymem import Pool


def test_module_is_ours():
    assert cm.LIBCYMEM_VERSION
    assert "pkg" in cm.__file__ or "cymem" in cm.__file__


def test_alloc_returns_zeroed_address():
    pool = Pool()
    addr = pool.alloc(10, 8)
    assert isinstance(addr, int) and addr != 0
    assert ctypes.string_at(addr, 80) == bytes(80)
    assert pool.size == 80
    assert pool.addresses == {addr: 80}


def test_free_one_and_free_all():
    pool = Pool()
    a = pool.alloc(4, 4)
    b = pool.alloc(100, 1)
    pool.free(a)
    assert pool.size == 100 and a not in pool and b in pool
    with pytest.raises(KeyError):
        pool.free(a)                        # double free: refused
    with pytest.raises(KeyError):
        pool.free(b + 1)                    # interior pointer: refused
    assert pool.size == 100
    pool.free()                             # everything
    assert pool.size == 0 and len(pool) == 0 and pool.addresses == {}
    c = pool.alloc(1, 1)                    # still usable
    assert c in pool


def test_context_manager_frees_everything():
    with Pool() as pool:
        for _ in range(100):
            pool.alloc(3, 7)
        assert pool.stats()["live_blocks"] == 100
    assert pool.stats()["live_blocks"] == 0 and pool.size == 0


def test_a_with_block_that_raises_keeps_its_exception_under_a_live_view():
    # The block's frame, held by the traceback, still has the view when
    # __exit__ runs: a BufferError there would replace the block's error.
    with pytest.raises(ZeroDivisionError):
        with Pool() as pool:
            addr = pool.alloc(1, 8)
            v = pool.view(addr, 8)
            1 / 0
    assert addr in pool and pool.size == 8  # left as it was
    del v
    pool.free()
    assert len(pool) == 0
    # without a view, or without an exception, nothing changes
    with pytest.raises(ZeroDivisionError):
        with Pool() as pool:
            pool.alloc(1, 8)
            1 / 0
    assert len(pool) == 0
    with pytest.raises(BufferError):
        with Pool() as pool:
            v = pool.view(pool.alloc(1, 8), 8)
    del v


def test_the_python_example_of_pools_docstring_runs():
    # help(Pool) shows it: it must run as written.
    doc = Pool.__doc__
    start = doc.index("From Python::") + len("From Python::")
    lines = []
    for line in doc[start:].splitlines()[1:]:
        if line.strip() and not line.startswith(" " * 8):
            break
        lines.append(line)
    code = textwrap.dedent("\n".join(lines))
    assert "pool.view(" in code
    exec(code, {"Pool": Pool})


def test_realloc_keeps_contents_and_grows_zeroed():
    pool = Pool()
    a = pool.alloc(1, 16)
    ctypes.memmove(a, b"0123456789abcdef", 16)
    b = pool.realloc(a, 64)
    assert ctypes.string_at(b, 16) == b"0123456789abcdef"
    assert ctypes.string_at(b + 16, 48) == bytes(48)
    assert pool.size == 64 and pool.block_size(b) == 64
    with pytest.raises(ValueError):
        pool.realloc(b, 32)                 # not larger: upstream's rule
    with pytest.raises(ValueError):
        pool.realloc(b, 0)
    with pytest.raises(ValueError):
        pool.realloc(12345, 100)            # not a block of this pool
    assert pool.size == 64


def test_realloc_names_the_address_it_was_given():
    # An address out of the range of size_t is no block; the message names
    # it as given, not as the 0 it was taken for.
    pool = Pool()
    for addr in (-1, -12345, 2**64 + 7, 12345):
        with pytest.raises(ValueError, match="Pointer %d not found" % addr):
            pool.realloc(addr, 100)
    with pytest.raises(ValueError, match="Pointer 0 not found"):
        pool.realloc(0, 100)


def test_realloc_of_a_block_of_no_bytes():
    # realloc finds the old block's size by one lookup, which answers 0
    # both for a block of 0 bytes and for no block at all.
    pool = Pool()
    a = pool.alloc(0, 8)
    assert pool.block_size(a) == 0
    b = pool.realloc(a, 16)
    assert pool.size == 16 and pool.block_size(b) == 16
    assert ctypes.string_at(b, 16) == bytes(16)
    with pytest.raises(ValueError):
        pool.realloc(b + 8, 100)            # inside a block, not its start
    assert pool.size == 16


@pytest.mark.parametrize("alignment", [16, 32, 64, 128, 4096, 65536])
def test_aligned_alloc(alignment):
    pool = Pool()
    for n in (1, 10, 100, 5000):
        addr = pool.aligned_alloc(n, 4, alignment=alignment)
        assert addr % alignment == 0
        assert ctypes.string_at(addr, 4 * n) == bytes(4 * n)
    assert pool.aligned_alloc(3, 3) % 64 == 0          # the default is 64


def test_aligned_alloc_bad_alignment():
    pool = Pool()
    with pytest.raises(ValueError):
        pool.aligned_alloc(1, 8, alignment=48)
    assert pool.size == 0


def test_zero_size_blocks_are_distinct():
    pool = Pool()
    addrs = {pool.alloc(0, 8) for _ in range(50)}
    assert len(addrs) == 50 and 0 not in addrs
    assert pool.size == 0


def test_memory_error():
    pool = Pool()
    with pytest.raises(MemoryError):
        pool.alloc(2**62, 8)
    assert pool.size == 0


def test_stats():
    pool = Pool()
    for i in range(1, 101):
        pool.alloc(i, 2)
    st = pool.stats()
    assert st["live_bytes"] == sum(2 * i for i in range(1, 101)) == pool.size
    assert st["live_blocks"] == 100
    assert st["peak_bytes"] >= st["live_bytes"]
    assert st["reserved_bytes"] >= st["used_bytes"] >= st["live_bytes"]
    assert 0.0 <= st["fragmentation"] < 1.0
    pool.free()
    assert pool.stats()["peak_bytes"] == st["peak_bytes"]


def test_view_is_a_writable_buffer():
    pool = Pool()
    addr = pool.alloc(16, 4)
    v = pool.view(addr, 64)
    m = memoryview(v)
    assert len(m) == 64 and not m.readonly
    struct.pack_into("<4i", m, 0, 1, 2, 3, 4)
    assert struct.unpack_from("<4i", ctypes.string_at(addr, 16)) == (1, 2, 3, 4)
    m.release()


def test_view_with_numpy():
    np = pytest.importorskip("numpy")
    pool = Pool()
    addr = pool.alloc(100, 8)
    arr = np.frombuffer(pool.view(addr, 800), dtype=np.float64)
    assert arr.sum() == 0.0
    arr[:] = 1.5
    assert np.frombuffer(ctypes.string_at(addr, 800), dtype=np.float64).sum() == 150.0
    with pytest.raises(BufferError):
        pool.free(addr)                     # arr still looks at it
    del arr
    pool.free(addr)


def test_free_or_reset_with_a_live_view_raises():
    pool = Pool()
    addr = pool.alloc(1, 32)
    other = pool.alloc(1, 32)
    v = pool.view(addr + 8, 8)              # inside the block
    with pytest.raises(BufferError):
        pool.free(addr)
    with pytest.raises(BufferError):
        pool.free()
    with pytest.raises(BufferError):
        pool.realloc(addr, 64)
    pool.free(other)                        # other blocks are fine
    assert addr in pool
    del v
    pool.free(addr)
    pool.free()


def test_view_bounds():
    pool = Pool()
    addr = pool.alloc(1, 32)
    with pytest.raises(ValueError):
        pool.view(addr, 33)
    with pytest.raises(KeyError):
        pool.view(addr + 4096 * 1024, 1)


def test_a_collection_keeps_the_view_counts_of_live_views():
    # A pool in a cycle through its own addresses dict (tracking mode), and
    # a view of it in a cycle of its own: the collector clears the dict
    # before the view dies, and the view must still find its count.  The
    # pools are collected all the same.
    def pools():
        return sum(type(o) is Pool for o in gc.get_objects())
    errors = []
    hook, sys.unraisablehook = sys.unraisablehook, lambda u: errors.append(repr(u.exc_value))
    track = cm.track_addresses(True)
    try:
        before = pools()
        for i in range(10):
            pool = Pool()
            view = pool.view(pool.alloc(1, 8), 8)
            pool.addresses[0] = pool
            cycle = [view]
            cycle.append(cycle)
            del pool, view, cycle
            gc.collect()
        assert pools() == before
    finally:
        sys.unraisablehook = hook
        cm.track_addresses(track)
    assert errors == []


def test_own_pyref_and_refs():
    pool = Pool()
    obj = object()
    pool.own_pyref(obj)
    assert pool.refs == [obj]


def test_addresses_is_a_fresh_dict():
    pool = Pool()
    a = pool.alloc(3, 3)
    d = pool.addresses
    d.clear()
    assert pool.addresses == {a: 9}


def test_cdef_names_from_python():
    pool = Pool()
    assert callable(pool.alloc) and callable(pool.free) and callable(pool.realloc)
    # found by ordinary lookup, so dir() and help() show them
    assert {"alloc", "free", "realloc"} <= set(dir(pool))
    assert {"alloc", "free", "realloc"} <= set(vars(Pool))
    assert not hasattr(Pool, "__getattr__")
    with pytest.raises(AttributeError):
        pool.no_such_thing


def test_keyword_arguments():
    pool = Pool()
    a = pool.alloc(number=2, size=8)
    pool.alloc(1, size=8)
    assert pool.block_size(a) == 16
    a = pool.realloc(size=64, addr=a)
    assert pool.block_size(addr=a) == 64    # every parameter, as named
    assert len(pool.view(nbytes=8, addr=a)) == 8
    assert pool.aligned_alloc(number=1, size=8, alignment=128) % 128 == 0
    pool.free(addr=a)
    assert len(pool) == 2
    pool.free()
    assert len(pool) == 0


@pytest.mark.parametrize("call,message", [
    ("alloc(1)", "alloc() missing required argument 'size' (pos 2)"),
    ("alloc(1, 2, 3)", "alloc() takes exactly 2 positional arguments (3 given)"),
    ("alloc(1, number=2)", "alloc() got multiple values for argument 'number'"),
    ("alloc(number=1, sise=8)", "alloc() got an unexpected keyword argument 'sise'"),
    ("free(1, 2)", "free() takes at most 1 positional argument (2 given)"),
    ("free(adr=1)", "free() got an unexpected keyword argument 'adr'"),
    ("realloc(1)", "realloc() missing required argument 'size' (pos 2)"),
    ("realloc(addr=1, size=2, n=3)", "realloc() got an unexpected keyword argument 'n'"),
])
def test_argument_errors_name_the_method(call, message):
    pool = Pool()
    with pytest.raises(TypeError) as e:
        eval("pool." + call)
    assert str(e.value) == message


def test_a_pool_is_always_true():
    assert bool(Pool())                     # empty: still true, as upstream
    mem = None
    mem = mem or Pool()
    kept = mem
    assert (mem or Pool()) is kept


def test_pool_without_allocations_is_complete():
    pool = Pool()
    assert len(pool) == 0 and pool.size == 0 and pool.addresses == {}
    assert pool.stats()["live_blocks"] == 0 and 8 not in pool
    pool.free()
    with pytest.raises(KeyError):
        pool.free(8)
    with pytest.raises(ValueError):
        pool.realloc(8, 16)
    with pytest.raises(KeyError):
        pool.view(8, 1)
    with pytest.raises(KeyError):
        pool.block_size(8)


def test_free_size_and_view_of_interior_addresses():
    pool = Pool()
    big = pool.alloc(1, 100000)             # a direct block
    small = pool.alloc(3, 7)
    m = memoryview(pool.view(big + 99990, 10))
    assert len(m) == 10
    with pytest.raises(ValueError):
        pool.view(big + 99990, 11)
    with pytest.raises(KeyError):
        pool.view(small + 21, 1)            # past its 21 requested bytes
    m.release()
    pool.free(big)
    assert pool.size == 21
    pool.free(small)
    assert pool.size == 0


def test_per_thread_pools():
    errors = []

    def work(k):
        try:
            with Pool() as pool:
                addrs = [pool.alloc(k + 1, 8) for _ in range(2000)]
                for a in addrs[::2]:
                    pool.free(a)
                assert pool.size == 1000 * (k + 1) * 8
        except Exception as e:              # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_address():
    a = cm.Address(10, 8)
    assert a.addr != 0
    assert ctypes.string_at(a.addr, 80) == bytes(80)


class Huge:
    def __index__(self):
        return 2 ** 40


def test_address_overflow_is_the_memory_error_of_pool_alloc():
    # the true byte count, as Pool.alloc() gives for the same arguments
    for args in ((Huge(), Huge()), (2 ** 40, 2 ** 40)):
        with pytest.raises(MemoryError, match=str(2 ** 80)):
            cm.Address(*args)
        with pytest.raises(MemoryError, match=str(2 ** 80)):
            Pool().alloc(*args)


def test_address_overflow_with_numpy_ints():
    np = pytest.importorskip("numpy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(MemoryError, match=str(2 ** 80)):
            cm.Address(np.uint64(2 ** 40), np.uint64(2 ** 40))


def test_address_initialised_by_its_own_arguments():
    # __index__ initialises the Address in the middle of __init__: the
    # second allocation is refused, not leaked over
    addr = cm.Address.__new__(cm.Address, 1, 8)

    class Reentrant:
        def __index__(self):
            addr.__init__(1, 8)
            return 8
    with pytest.raises(TypeError, match="already initialised"):
        addr.__init__(1, Reentrant())
    assert ctypes.string_at(addr.addr, 8) == bytes(8)


def test_address_in_a_reference_cycle_frees_its_block():
    class Cyclic(cm.Address):
        pass
    tracemalloc.start()             # Address's default allocator is PyMem_Malloc
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for i in range(20):
            a = Cyclic(1, 1 << 20)
            a.me = a
            del a
            gc.collect()
        leaked = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert leaked < 1 << 20, "%d bytes not freed" % leaked


def test_warn_zero_alloc():
    pool = Pool()
    cm.WARN_ZERO_ALLOC = True
    try:
        with pytest.warns(UserWarning):
            pool.alloc(0, 8)
    finally:
        cm.WARN_ZERO_ALLOC = False


def test_defaults_exist():
    assert isinstance(cm.Default_Malloc, cm.PyMalloc)
    assert isinstance(cm.Default_Free, cm.PyFree)
    pool = Pool(cm.Default_Malloc, cm.Default_Free)
    assert pool.pymalloc is cm.Default_Malloc and pool.pyfree is cm.Default_Free


def test_bad_input_raises_and_keeps_the_pool():
    pool = Pool()
    a = pool.alloc(4, 8)
    with pytest.raises(OverflowError):
        pool.alloc(-1, 4)
    with pytest.raises(OverflowError):
        pool.alloc(2 ** 70, 1)
    with pytest.raises(MemoryError, match=str(2 ** 124)):
        pool.alloc(2 ** 62, 2 ** 62)
    for bad in ("x", 1.5, b"1", [a]):
        with pytest.raises(TypeError):
            pool.free(bad)
    for not_a_block in (-1, 0, None, 2 ** 64, a + 8):
        with pytest.raises(KeyError):
            pool.free(not_a_block)
    with pytest.raises(TypeError):
        pool.realloc("x", 100)
    with pytest.raises(ValueError):
        pool.realloc(a + 8, 100)
    with pytest.raises(ValueError):
        pool.aligned_alloc(1, 8, alignment=48)
    with pytest.raises(ValueError):
        pool.aligned_alloc(1, 8, alignment=0)
    with pytest.raises(KeyError):
        pool.view(12345, 4)
    assert pool.addresses == {a: 32} and pool.size == 32
    pool.free(a)
    assert pool.addresses == {} and pool.size == 0


def test_one_pool_shared_by_threads():
    pool = Pool()
    errors = []

    def work():
        try:
            kept = []
            for i in range(5000):
                a = pool.alloc(1, 32)
                if i % 2:
                    pool.free(a)
                else:
                    kept.append(a)
            for a in kept:
                assert pool.block_size(a) == 32
        except Exception as e:              # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(pool.addresses) == 4 * 2500
    assert pool.size == 4 * 2500 * 32 == pool.stats()["live_bytes"]


def test_brief_3_1_verbatim():
    # 3.1 of the product brief, as written there
    from cymem.cymem import Pool

    # 初始化内存池
    mem_pool = Pool()

    # 分配内存（分配100万个float，每个4字节）
    float_array = mem_pool.alloc(1_000_000, 4)  # 返回void*指针

    # 重置内存池（释放所有分配）
    mem_pool.free()

    # 上下文管理器（自动清理）
    with Pool() as temp_pool:
        buffer = temp_pool.alloc(100, 4)

    assert isinstance(float_array, int) and mem_pool.size == 0
    assert isinstance(buffer, int) and temp_pool.size == 0


def test_brief_4_2_verbatim():
    data = b"payload " * 100

    # 4.2 of the product brief, as written there (plus start and join)
    from threading import Thread
    from cymem.cymem import Pool

    def thread_task(pool: Pool, data: bytes):
        # 每个线程独立内存池
        local_buf = pool.alloc(len(data), 1)
        # 处理数据...
        memoryview(pool.view(local_buf, len(data)))[:] = data

    pools = [Pool() for _ in range(8)]  # 8线程
    threads = [
        Thread(target=thread_task, args=(pools[i], data))
        for i in range(8)
    ]

    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for pool in pools:
        (addr, size), = pool.addresses.items()
        assert size == len(data) and ctypes.string_at(addr, size) == data
