"""Binary compatibility with modules compiled against upstream cymem: the
object sizes they check at import, and Debian's compiled python3-preshed
running on our cymem.cymem."""
import os
import subprocess
import sys

import pytest

import cymem
import cymem.cymem as cm

PKG = os.path.dirname(os.path.dirname(cymem.__file__))


def test_object_sizes_match_upstream():
    if sys.maxsize != 2**63 - 1:
        pytest.skip("the sizes are those of 64-bit CPython")
    assert cm.PyMalloc.__basicsize__ == 32
    assert cm.PyFree.__basicsize__ == 32
    assert cm.Pool.__basicsize__ == 64
    assert cm.Address.__basicsize__ == 40


def test_capsule_exports_wrap_functions():
    capi = cm.__pyx_capi__
    assert "WrapMalloc" in capi and "WrapFree" in capi


PRESHED = r"""
import sys, warnings
warnings.simplefilter("error")
sys.path.insert(0, %r)
import cymem.cymem
assert cymem.cymem.__file__.startswith(%r), cymem.cymem.__file__
from preshed.maps import PreshMap
from preshed.bloom import BloomFilter
from preshed.counter import PreshCounter
m = PreshMap()
for i in range(2, 20002):      # preshed reserves the keys 0 and 1
    m[i] = i * 3
assert len(m) == 20000 and all(m[i] == i * 3 for i in range(2, 20002))
m2 = PreshMap(initial_size=8)
for i in range(1, 1000):
    m2[i * 7919] = i
assert m2[7919 * 500] == 500
b = BloomFilter.from_error_rate(10000)
for i in range(1000):
    b.add(i)
assert all(i in b for i in range(1000))
c = PreshCounter()
c.inc(5, 3)
c.inc(5, 2)
assert c[5] == 5
print("ok")
"""


def test_debian_preshed_runs_on_our_cymem():
    try:
        import preshed  # noqa: F401  (from the system, compiled against upstream)
    except ImportError:
        pytest.skip("python3-preshed is not installed")
    out = subprocess.run([sys.executable, "-c", PRESHED % (PKG, PKG)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_module_names_no_build_directory():
    """Cython puts the name of the .pyx in the module (the file name of its
    code objects): relative to the source directory, so that a build in
    another directory makes the same module."""
    builddir = os.environ.get("CYMEM_BUILDDIR")
    if not builddir:
        pytest.skip("needs the build tree (make check)")
    srcdir = os.environ.get("CYMEM_SRCDIR", os.path.join(os.path.dirname(__file__), ".."))
    dirs = {f(d) for d in (srcdir, builddir) for f in (os.path.abspath, os.path.realpath)}
    for name in ("cymem.c", "_bench.c"):
        with open(os.path.join(builddir, name), encoding="utf-8") as f:
            text = f.read()
        assert '"cymem/%s.pyx"' % name[:-2] in text, name
        for d in dirs:
            assert d + os.sep not in text, (name, d)
