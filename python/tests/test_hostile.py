"""Hostile input from plain Python, and finalizers that the collector runs
in the middle of a call: each case runs in its own interpreter, so a
crash fails that case instead of ending the test run.  Every input case
must raise the given exception, and the pool it used must still work
(allocate, free, report the right size) afterwards."""
import os
import subprocess
import sys

import pytest

import cymem

PKG = os.path.dirname(os.path.dirname(cymem.__file__))

PRELUDE = """
import sys, gc, pickle, copy
sys.path.insert(0, %r)
import cymem.cymem as cm
from cymem.cymem import Pool, Address, PyMalloc, PyFree, PoolView
p = Pool()
a = p.alloc(4, 8)
"""

# (label, statement, expected exception)
CASES = [
    # sizes and addresses: ints in range only
    ("alloc-float", "p.alloc(1.9, 8)", "TypeError"),
    ("alloc-float-size", "p.alloc(1, 8.0)", "TypeError"),
    ("alloc-str", "p.alloc('1', 8)", "TypeError"),
    ("alloc-none", "p.alloc(None, 8)", "TypeError"),
    ("alloc-negative", "p.alloc(-1, 8)", "OverflowError"),
    ("alloc-huge", "p.alloc(2**64, 1)", "OverflowError"),
    ("alloc-product-overflow", "p.alloc(2**63, 4)", "MemoryError"),
    ("aligned-float", "p.aligned_alloc(1, 8, 64.0)", "TypeError"),
    ("aligned-bad", "p.aligned_alloc(1, 8, 3)", "ValueError"),
    ("aligned-zero", "p.aligned_alloc(1, 8, 0)", "ValueError"),
    ("aligned-overflow", "p.aligned_alloc(2**62, 2**62)", "MemoryError"),
    ("realloc-float", "p.realloc(float(a), 64)", "TypeError"),
    ("realloc-size-float", "p.realloc(a, 64.5)", "TypeError"),
    ("realloc-zero-addr", "p.realloc(0, 64)", "ValueError"),
    ("realloc-interior", "p.realloc(a + 8, 64)", "ValueError"),
    ("realloc-smaller", "p.realloc(a, 8)", "ValueError"),
    ("realloc-negative-addr", "p.realloc(-a, 64)", "ValueError"),
    ("realloc-huge-addr", "p.realloc(2**64 + a, 64)", "ValueError"),
    ("realloc-huge", "p.realloc(a, 2**63)", "MemoryError"),
    # free: only free() frees everything
    ("free-zero", "p.free(0)", "KeyError"),
    ("free-none", "p.free(None)", "KeyError"),
    ("free-negative", "p.free(-8)", "KeyError"),
    ("free-huge", "p.free(2**70)", "KeyError"),
    ("free-float", "p.free(float(a))", "TypeError"),
    ("free-interior", "p.free(a + 1)", "KeyError"),
    ("free-other-pool", "q = Pool(); p.free(q.alloc(1, 8))", "KeyError"),
    ("free-twice", "b = p.alloc(1, 8); p.free(b); p.free(b)", "KeyError"),
    ("block-size-float", "p.block_size(float(a))", "TypeError"),
    ("block-size-unknown", "p.block_size(a + 1)", "KeyError"),
    ("contains-float", "float(a) in p", "TypeError"),
    # view(): bounds in arithmetic that cannot wrap
    ("view-wrap", "import zlib; v = p.view(a, 2**64 - a + 8); zlib.crc32(v)", "ValueError"),
    ("view-past-end", "p.view(a + 8, 25)", "ValueError"),
    ("view-negative", "p.view(a, -1)", "OverflowError"),
    ("view-zero", "p.view(0, 1)", "KeyError"),
    ("view-negative-addr", "p.view(-a, 1)", "KeyError"),
    ("view-huge-addr", "p.view(2**64 + a, 1)", "KeyError"),
    ("view-outside", "p.view(a + 4096 * 4096, 1)", "KeyError"),
    ("view-float", "p.view(a, 8.0)", "TypeError"),
    ("view-freed-then-read", "v = p.view(a, 8); p.free(a)", "BufferError"),
    ("view-reset", "v = p.view(a, 8); p.free()", "BufferError"),
    ("view-realloc", "v = p.view(a, 8); p.realloc(a, 100)", "BufferError"),
    ("view-counts-hidden", "v = p.view(a, 8); [d.clear() for d in "
     "gc.get_referents(gc.get_referents(p)[0]) if type(d) is dict]; p.free(a)", "BufferError"),
    ("view-numpy-free", "import array; m = memoryview(p.view(a, 32)); del_ = None; p.free(a)",
     "BufferError"),
    # objects only the module makes
    ("poolview-bare", "PoolView()", "TypeError"),
    ("poolview-none", "PoolView(None, 0, 0, 0)", "TypeError"),
    ("poolview-handmade", "PoolView(p, a, 64, a + 1)", "TypeError"),
    ("poolview-new-buffer", "memoryview(PoolView.__new__(PoolView))", "BufferError"),
    ("poolview-pickle", "pickle.dumps(p.view(a, 8))", "TypeError"),
    ("pool-pickle", "pickle.dumps(p)", "TypeError"),
    ("pool-copy", "copy.copy(p)", "TypeError"),
    ("pool-setstate", "Pool.__new__(Pool).__setstate_cython__((1, {}, [], None, None))",
     "AttributeError"),
    ("addresses-orphan", "d = pickle.loads(pickle.dumps(cm.Pool().addresses)); "
     "d[1] = 2; del d; cm._Blocks().clear(); Pool()[0]", "TypeError"),
    # allocators: None or an empty wrapper refused at construction
    ("pool-none-none", "Pool(None, None)", "TypeError"),
    ("pool-pymalloc-none", "Pool(pymalloc=None)", "TypeError"),
    ("pool-pyfree-none", "Pool(pyfree=None)", "TypeError"),
    ("pool-empty-malloc", "Pool(PyMalloc(), cm.Default_Free)", "ValueError"),
    ("pool-empty-free", "Pool(cm.Default_Malloc, PyFree())", "ValueError"),
    ("pool-wrong-type", "Pool(1, 2)", "TypeError"),
    ("address-none", "Address(1, 8, None, None)", "TypeError"),
    ("address-four-args", "Address(1, 8, cm.Default_Malloc, cm.Default_Free)", "TypeError"),
    # (upstream's __init__ takes two arguments: four are a TypeError first)
    ("address-empty", "Address(1, 8, PyMalloc(), PyFree())", "TypeError"),
    ("address-empty-new", "Address.__new__(Address, 1, 8, PyMalloc(), PyFree()).__init__(1, 8)",
     "ValueError"),
    ("address-empty-free", "Address.__new__(Address, 1, 8, cm.Default_Malloc, PyFree())"
     ".__init__(1, 8)", "ValueError"),
    ("address-float", "Address(1.5, 8)", "TypeError"),
    ("address-overflow", "Address(2**62, 8)", "MemoryError"),
    ("address-reinit", "x = Address(1, 8); x.__init__(1, 8)", "TypeError"),
    ("address-pickle", "pickle.dumps(Address(1, 8))", "TypeError"),
    ("pymalloc-pickle", "pickle.dumps(PyMalloc())", "TypeError"),
    # the Python-level methods check what they are called on
    ("unbound-alloc", "Pool.alloc(object(), 1, 8)", "TypeError"),
    ("unbound-free", "Pool.free()", "TypeError"),
    ("free-keyword", "p.free(adr=a)", "TypeError"),
    ("alloc-one-arg", "p.alloc(8)", "TypeError"),
    ("alloc-keywords", "p.alloc(number=1, size=8.0)", "TypeError"),
    ("realloc-three-args", "p.realloc(a, 64, 1)", "TypeError"),
    # the pool's attributes are read-only
    ("size-write", "p.size = 0", "AttributeError"),
    ("refs-write", "p.refs = None", "AttributeError"),
    ("addresses-write", "p.addresses = None", "AttributeError"),
]

CHECK = """
try:
    {stmt}
except {exc}:
    pass
else:
    raise SystemExit("no {exc}")
gc.collect()
b = p.alloc(2, 8)
assert b in p and p.block_size(b) == 16
p.free(b)
assert p.size == 32 and a in p, (p.size, a in p)
Address.__new__(Address, 1, 8)     # never initialised: its dealloc is safe
print("ok")
"""


def run(code):
    """Run code after PRELUDE in a new interpreter; it must print ok."""
    out = subprocess.run([sys.executable, "-c", PRELUDE % PKG + code], capture_output=True,
                         text=True, env=dict(os.environ, PYTHONPATH=""), timeout=120)
    assert out.returncode == 0, "status %d\n%s" % (out.returncode, out.stderr)
    assert out.stdout.strip() == "ok"


@pytest.mark.parametrize("label,stmt,exc", CASES, ids=[c[0] for c in CASES])
def test_hostile_input(label, stmt, exc):
    run(CHECK.format(stmt=stmt, exc=exc))


def test_bool_of_an_empty_pool_in_a_subprocess():
    run("assert bool(Pool()) and bool(p); p.free(); assert p; print('ok')")


# A finalizer that the collector runs in the middle of a call: arm(action,
# n) makes cyclic garbage whose __del__ calls action() in the nth
# collection from now, and lowers the threshold so that collections come
# with the next few allocations: those of the call under test.
TRAP = """
class Trap:
    armed = False
    def __init__(self, action, n):
        self.action, self.n, self.cycle = action, n, self
    def __del__(self):
        if not Trap.armed:
            pass
        elif self.n > 1:
            Trap(self.action, self.n - 1)
        else:
            self.action()

def arm(action, n=1, threshold=3):
    gc.collect(); gc.disable()
    Trap.armed = True
    Trap(action, n)
    gc.enable(); gc.set_threshold(threshold)

def disarm():
    Trap.armed = False
    gc.set_threshold(700); gc.collect()
"""


def test_view_of_a_block_freed_by_a_finalizer():
    # 64 MiB: a block freed by a finalizer goes back to the system, and a
    # dangling view of it crashes when written
    run(TRAP + """
N = 64 << 20
b = p.alloc(1, N)
fired = []
def action():
    fired.append(1)
    p.free(b)
arm(action)
try:
    v = p.view(b, N)
except KeyError:
    assert b not in p
else:
    assert b in p, "a view of a freed block"
    memoryview(v)[:] = b"x" * N
    del v
disarm()
assert fired
print("ok")
""")


@pytest.mark.parametrize("action", ["p.free(b)", "p.free()", "kept.append(p.view(c, 8))"])
def test_view_pins_the_block_it_found(action):
    # whichever of view()'s allocations collects, what a finalizer did in
    # it leaves every live view pinning a live block
    run(TRAP + """
def check(views):
    for w in views:
        assert w.address in p, "a view of a freed block"
        try:
            p.free(w.address)
        except BufferError:
            pass
        else:
            raise SystemExit("the block of a live view could be freed")

for n in range(1, 5):
    for threshold in (1, 2, 3):
        b, c = p.alloc(1, 64), p.alloc(1, 64)
        kept = []
        def action():
            %s
        arm(action, n, threshold)
        try:
            kept.append(p.view(b, 8))
        except KeyError:
            assert b not in p
        disarm()
        check(kept)
        del kept
        p.free()
print("ok")
""" % action)


# A pool's own dict, which Python code can fill: the addresses dict in
# tracking mode, or the object the collector reports
BLOCKS = ["cm.track_addresses(True); blocks = lambda q: q.addresses",
          "blocks = lambda q: gc.get_referents(q)[0]"]


@pytest.mark.parametrize("blocks", BLOCKS)
def test_finalizers_that_fill_the_cache_of_dead_pools_dicts(blocks):
    # Six dying pools whose dicts hold a value whose finalizer drops the
    # next pool, the last one making and dropping 40 pools: each dict is
    # cleared after the cache has been filled.
    run(blocks + """
class Nest:
    def __init__(self, depth):
        self.depth = depth
    def __del__(self):
        if self.depth:
            q = Pool()
            blocks(q)[0] = Nest(self.depth - 1)
            del q
        else:
            pools = [Pool() for _ in range(40)]
            del pools
q = Pool()
blocks(q)[0] = Nest(5)
del q
for i in range(40):
    q = Pool()
    v = q.view(q.alloc(1, 8), 8)
    assert len(q) == 1 and q.size == 8
    del v, q
print("ok")
""")


@pytest.mark.parametrize("blocks", BLOCKS)
def test_a_long_chain_of_pools_in_their_dicts_is_freed(blocks):
    # Each pool's dict holds the next pool: freeing the first frees them
    # all, without a C frame per pool (upstream's plain dicts get that
    # from CPython's trashcan)
    run(blocks + """
head = q = Pool()
for i in range(200000):
    r = Pool()
    blocks(q)[0] = r
    q = r
del q, r
del head
assert len(p) == 1
print("ok")
""")


# Every method that Python can call on a Pool o
POOL_CALLS = ["len(o)", "1 in o", "o.block_size(1)", "o.stats()", "o.addresses",
              "o.alloc(1, 8)", "o.alloc(number=1, size=8)", "o.aligned_alloc(1, 8)",
              "o.free(1)", "o.free(addr=1)", "o.free()", "o.reset()", "with o: pass",
              "o.realloc(1, 16)", "o.realloc(addr=1, size=16)", "o.view(1, 1)",
              "o.own_pyref(1)"]


@pytest.mark.parametrize("make,fails", [("Pool()", False),
                                        ("Pool(PyMalloc(), cm.Default_Free)", True)])
def test_a_pool_that_a_finalizer_finds_in_the_middle_of_pool(make, fails):
    # A finalizer called by a collection inside Pool() finds the Pool
    # being made: every method refuses it with RuntimeError.  Kept, it
    # works once made, and refuses everything for good if Pool() failed.
    # Twenty live pools empty the caches of Pool objects and dead pools'
    # dicts, so that Pool() allocates.
    run(TRAP + """
calls = %r
found, allowed = [], []
def refuses_all(o):
    for call in calls:
        try:
            exec(call)
        except RuntimeError:
            continue
        except Exception:
            pass
        allowed.append(call)
def action():
    for o in gc.get_objects():
        if type(o) is Pool and id(o) not in old:
            found.append(o)
            refuses_all(o)
for n in (1, 2, 3):
    live = [Pool() for i in range(20)]
    old = {id(o) for o in gc.get_objects() if type(o) is Pool}
    arm(action, n, 1)
    try:
        q = %s
    except ValueError:
        q = None
    disarm()
    del q, live
assert found and not allowed, allowed
unmade = 0
for o in found:
    try:
        len(o)
    except RuntimeError:
        refuses_all(o)
        unmade += 1
    else:
        b = o.alloc(2, 8)
        assert len(o) == 1 and o.size == 16 and b in o
assert not allowed and unmade == %d * len(found), (allowed, unmade)
print("ok")
""" % (POOL_CALLS, make, fails))
