"""Cython code written for upstream cymem builds unchanged against our
.pxd (with no libcymem header and nothing extra linked) and behaves as it
does with upstream cymem (Debian's python3-cymem), side by side."""
import json
import os
import shlex
import subprocess
import sys
import sysconfig

import pytest

import cymem

PKG = os.path.dirname(os.path.dirname(cymem.__file__))
UPSTREAM = "/usr/lib/python3/dist-packages"


def build_client(tmp_path, include_dir, srcdir, name="client"):
    """Cythonize and compile tests/<name>.pyx against the cymem.pxd found
    in include_dir; return the directory holding the extension."""
    out = tmp_path / name
    out.mkdir()
    cython = shlex.split(os.environ.get("CYTHON", sys.executable + " -m cython"))
    subprocess.run(cython + ["-3", "-I", include_dir, "-o", str(out / (name + ".c")),
                             os.path.join(srcdir, "tests", name + ".pyx")], check=True)
    cc = shlex.split(os.environ.get("CC", "cc"))
    ext = sysconfig.get_config_var("EXT_SUFFIX")
    subprocess.run(cc + ["-shared", "-fPIC", "-O1", "-I" + sysconfig.get_paths()["include"],
                         str(out / (name + ".c")), "-o", str(out / (name + ext))],
                   check=True)
    return str(out)


SRCDIR = os.environ.get("CYMEM_SRCDIR", os.path.join(os.path.dirname(__file__), ".."))


def run_client(client_dir, first_on_path):
    code = ("import sys, json; sys.path[:0] = %r; import client, cymem.cymem; "
            "r = client.run(); r['module'] = cymem.cymem.__file__; print(json.dumps(r))"
            % [client_dir, first_on_path])
    env = dict(os.environ, PYTHONPATH="")
    out = subprocess.run([sys.executable, "-W", "error", "-c", code], env=env,
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def ours(tmp_path_factory):
    srcdir = os.environ.get("CYMEM_SRCDIR", os.path.join(os.path.dirname(__file__), ".."))
    tmp = tmp_path_factory.mktemp("ours")
    return run_client(build_client(tmp, PKG, srcdir), PKG)


def test_client_builds_and_runs_against_our_pxd(ours):
    assert ours["module"].startswith(PKG)
    assert ours["zero"] and ours["kept"] and ours["addresses"]
    assert ours["size_after_alloc"] == 40
    assert ours["size_after_realloc"] == 80
    assert ours["size_after_free"] == 0
    assert ours["double_free"] == "KeyError"
    assert ours["realloc_unknown"] == "ValueError"
    assert ours["realloc_smaller"] == "ValueError"
    assert ours["zero_distinct"] and ours["addresses_len"] == 2
    assert ours["refs"] == 1
    assert ours["custom_zero"] and ours["custom_size"] == 100 and ours["custom_fns"]
    assert ours["address"] and ours["counted"]
    # realloc of a subclass calls its alloc and free, as upstream's does
    assert ours["subclass_realloc"] == [2, 1, True, 64]


def test_same_behaviour_as_upstream(ours, tmp_path):
    if not os.path.exists(os.path.join(UPSTREAM, "cymem", "cymem.pxd")):
        pytest.skip("python3-cymem (upstream cymem) is not installed")
    srcdir = os.environ.get("CYMEM_SRCDIR", os.path.join(os.path.dirname(__file__), ".."))
    theirs = run_client(build_client(tmp_path, UPSTREAM, srcdir), UPSTREAM)
    assert theirs["module"].startswith(UPSTREAM)
    # Upstream asserts on a realloc that does not grow (AssertionError);
    # libcymem's module raises ValueError there, as its documentation says.
    differ = {"module", "realloc_smaller"}
    assert {k: v for k, v in ours.items() if k not in differ} == \
           {k: v for k, v in theirs.items() if k not in differ}


def test_client_compiled_against_upstream_runs_on_ours(ours, tmp_path):
    # The binary case: a module built against upstream's .pxd (its struct
    # sizes and vtable) imported with our cymem.cymem first on the path.
    if not os.path.exists(os.path.join(UPSTREAM, "cymem", "cymem.pxd")):
        pytest.skip("python3-cymem (upstream cymem) is not installed")
    theirs_built = run_client(build_client(tmp_path, UPSTREAM, SRCDIR), PKG)
    assert theirs_built["module"].startswith(PKG)
    assert {k: v for k, v in theirs_built.items() if k != "module"} == \
           {k: v for k, v in ours.items() if k != "module"}


HOOK = """
import sys
sys.path[:0] = %r
import client
m = client.HookPool()
a = m.alloc(1, 64 << 20)
m.hook = lambda: m.free(a)
try:
    m.realloc(a, (64 << 20) + 1)
except ValueError as e:
    assert "freed" in str(e), e
else:
    raise SystemExit("no ValueError")
# What is left is the new block alone; the system may have mapped it
# where the freed one was, so its address may be a's.
assert len(m) == 1 and m.size == (64 << 20) + 1
assert a not in m or m.block_size(a) == (64 << 20) + 1
print("ok")
"""


def run_with_client(tmp_path, script, *args):
    """Run script in a new interpreter, with the path to the client (built
    against our .pxd) and our module for its first %r, and args for the
    rest; it must print ok."""
    cdir = build_client(tmp_path, PKG, SRCDIR)
    out = subprocess.run([sys.executable, "-c", script % (([cdir, PKG],) + args)],
                         env=dict(os.environ, PYTHONPATH=""), capture_output=True, text=True)
    assert out.returncode == 0, "status %d\n%s" % (out.returncode, out.stderr)
    assert out.stdout.strip() == "ok"


def test_realloc_of_a_subclass_whose_alloc_frees_the_block(tmp_path):
    # realloc on a Cython subclass calls the subclass's alloc, then copies
    # the old block: Python code run by that alloc can free the block (64
    # MiB here, which goes back to the system), and it must not be read.
    run_with_client(tmp_path, HOOK)


REENTER = """
import sys, threading
sys.path[:0] = %r
import client

def in_thread(code):
    # the pool used by another thread while this one is in its allocator
    errors = []
    def run():
        try:
            exec(code)
        except Exception as e:
            errors.append(e)
    t = threading.Thread(target=run)
    t.start()
    t.join()
    if errors:
        raise errors[0]

for action in %r:
    p = client.hook_pool()
    small = [p.alloc(1, 16) for i in range(10)]
    big = p.alloc(1, 100000)
    refused = []
    def hook():
        try:
            exec(action)
        except RuntimeError:
            refused.append(action)
    client.alloc_hook = hook
    %s
    assert client.alloc_hook is None and refused == [action], (action, refused)
    st = p.stats()
    assert p.size == st["live_bytes"] and len(p) == st["live_blocks"], (action, st)
    assert sum(p.addresses.values()) == p.size
    b = p.alloc(1, 100000)
    assert p.block_size(b) == 100000 and b in p
    p.free()
    assert len(p) == 0 and p.size == 0
print("ok")
"""

REENTRANT_ACTIONS = ["p.free()", "p.free(big)", "p.free(small[0])", "p.alloc(1, 16)",
                     "p.alloc(1, 200000)", "p.realloc(big, 200000)", "p.aligned_alloc(1, 8)",
                     "len(p)", "p.stats()", "p.addresses", "big in p", "p.view(big, 8)",
                     "in_thread('p.free()')", "in_thread('p.alloc(1, 200000)')"]


@pytest.mark.parametrize("trigger", ["p.alloc(1, 300000)", "p.free(big)", "p.free()",
                                     "p.realloc(big, 300000)",
                                     "p.aligned_alloc(1, 300000, 4096)"])
def test_allocator_functions_that_call_back_into_their_pool(tmp_path, trigger):
    # Pool(pymalloc, pyfree) calls its functions from inside libcymem, and
    # they may run Python code that uses the same pool (its own code, a
    # finalizer the collector calls, another thread): that call is refused
    # with RuntimeError, and the pool stays whole.  Here the functions
    # call a hook that tries each action once.
    run_with_client(tmp_path, REENTER, REENTRANT_ACTIONS, trigger)


REINIT = """
import sys, gc
sys.path[:0] = %r
import client
a = client.hook_address(1, 8)
client.alloc_hook = lambda: a.__init__(1, 16)
try:
    a.__init__(1, 8)
except TypeError as e:
    assert "already initialised" in str(e), e
else:
    raise SystemExit("no TypeError")
assert client.hook_counts() == (2, 1), client.hook_counts()
del a
gc.collect()
assert client.hook_counts() == (2, 2), client.hook_counts()
print("ok")
"""


def test_address_initialised_by_its_allocator_function(tmp_path):
    # Python code that the allocator runs (a callback here) initialises
    # the Address: the block the outer __init__ got is given back, not
    # leaked under the one kept.
    run_with_client(tmp_path, REINIT)


def test_brief_3_2_vector_array(tmp_path):
    vdir = build_client(tmp_path, PKG, SRCDIR, "vector")
    code = ("import sys; sys.path[:0] = %r; import vector, cymem.cymem; "
            "assert cymem.cymem.__file__.startswith(%r); "
            "v = vector.VectorArray(1000); v.set_item(999, 1.5, -2.0, 3.25); "
            "print(v.get_item(999), v.get_item(0), v.pool_size())" % ([vdir, PKG], PKG))
    out = subprocess.run([sys.executable, "-W", "error", "-c", code],
                         env=dict(os.environ, PYTHONPATH=""), check=True,
                         capture_output=True, text=True)
    assert out.stdout.split() == ["(1.5,", "-2.0,", "3.25)", "(0.0,", "0.0,", "0.0)", "12000"]
