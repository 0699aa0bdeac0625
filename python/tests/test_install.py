"""`make install` from this build tree, staged with DESTDIR: the package
lands in the directory the interpreter searches for the prefix, with a
dist-info that importlib.metadata reads, and it is imported ahead of
Debian's python3-cymem.  Then `make uninstall` leaves nothing behind."""
import base64
import hashlib
import json
import os
import subprocess
import sys
import sysconfig

import pytest

import cymem.about
import cymem.cymem as cm

BUILDDIR = os.environ.get("CYMEM_BUILDDIR")
SRCDIR = os.environ.get("CYMEM_SRCDIR", os.path.join(os.path.dirname(__file__), ".."))
DEBIAN_UPSTREAM = "/usr/lib/python3/dist-packages"
sys.path.insert(0, SRCDIR)
from sitedir import sitedir  # noqa: E402

pytestmark = pytest.mark.skipif(not BUILDDIR, reason="needs the build tree (make check)")


def make(*args):
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    cmd = os.environ.get("CYMEM_MAKE", "make").split() + ["-s", "-C", BUILDDIR] + list(args)
    return subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    dest = str(tmp_path_factory.mktemp("destdir"))
    make("install", "DESTDIR=" + dest)
    pyexecdir = make("print-pyexecdir").strip()
    yield dest, pyexecdir, dest + pyexecdir
    make("uninstall", "DESTDIR=" + dest)
    left = [os.path.join(r, n) for r, _, ns in os.walk(dest) for n in ns]
    assert left == [], left


def probe(path, extra=""):
    """Import cymem in a fresh interpreter whose sys.path is `path`."""
    code = ("import sys, json; sys.path[:] = %r\n"
            "import cymem, cymem.cymem, cymem.about, importlib.metadata as md\n%s\n"
            "print(json.dumps({'file': cymem.cymem.__file__, 'version': md.version('cymem'),"
            " 'about': cymem.about.__version__, 'lib': cymem.about.__libcymem_version__,"
            " 'package': getattr(cymem, '__version__', None),"
            " 'carried': cymem.cymem.LIBCYMEM_VERSION}))" % (path, extra))
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_files_and_dist_info(staged):
    _, _, site = staged
    ext = sysconfig.get_config_var("EXT_SUFFIX")
    for f in ("cymem" + ext, "__init__.py", "about.py", "cymem.pxd", "__init__.pxd"):
        assert os.path.isfile(os.path.join(site, "cymem", f)), f
    info = os.path.join(site, "cymem-%s.dist-info" % cymem.about.__version__)
    for f in ("METADATA", "RECORD", "INSTALLER"):
        assert os.path.isfile(os.path.join(info, f)), f
    with open(os.path.join(info, "METADATA")) as f:
        meta = f.read()
    assert "Name: cymem\n" in meta and "Version: %s\n" % cymem.about.__version__ in meta
    with open(os.path.join(info, "RECORD")) as f:
        rows = [line.rstrip("\n").split(",") for line in f]
    listed = {r[0] for r in rows}
    assert "cymem/cymem" + ext in listed and "cymem/__init__.py" in listed
    # every file the install made, the byte-compiled ones included, so
    # that pip uninstall leaves nothing behind
    for top in (os.path.join(site, "cymem"), info):
        for root, _, names in os.walk(top):
            for n in names:
                rel = os.path.relpath(os.path.join(root, n), site).replace(os.sep, "/")
                assert rel in listed, rel
    for name, digest, size in rows:
        if not digest:
            continue
        with open(os.path.join(site, name), "rb") as f:
            data = f.read()
        want = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert digest == "sha256=" + want and int(size) == len(data), name


def test_install_over_an_earlier_version(tmp_path):
    # An earlier `make install` of another version left its dist-info next
    # to the package this install replaces: it goes, as pip would remove
    # it on an upgrade, so that one cymem is listed.  A dist-info that
    # another installer wrote is left alone.
    dest = str(tmp_path)
    site = dest + make("print-pyexecdir").strip()
    for version, installer in (("2.0.6+libcymem.0.0.1", "make"), ("2.0.5", "pip")):
        old = os.path.join(site, "cymem-%s.dist-info" % version)
        os.makedirs(old)
        for name, text in (("METADATA", "Metadata-Version: 2.1\nName: cymem\nVersion: %s\n"
                            % version), ("INSTALLER", installer + "\n"),
                           ("RECORD", "cymem/__init__.py,,\n")):
            with open(os.path.join(old, name), "w") as f:
                f.write(text)
    make("install", "DESTDIR=" + dest)
    try:
        infos = sorted(n for n in os.listdir(site) if n.endswith(".dist-info"))
        assert infos == ["cymem-%s.dist-info" % v for v in ("2.0.5", cymem.about.__version__)]
    finally:
        make("uninstall", "DESTDIR=" + dest)


def test_version_satisfies_upstream_clients():
    v = cymem.about.__version__
    assert cymem.about.__libcymem_version__ == cm.LIBCYMEM_VERSION
    assert v.startswith("2.0.") and v.endswith("+libcymem." + cm.LIBCYMEM_VERSION.replace("-", "."))
    try:
        from packaging.specifiers import SpecifierSet
        from packaging.version import Version
    except ImportError:
        pytest.skip("python3-packaging is not installed")
    assert Version(v) in SpecifierSet(">=2.0.2,<2.1.0")          # spaCy's pin


def test_staged_package_imports_with_its_metadata(staged):
    _, _, site = staged
    r = probe([site] + [p for p in sys.path if p and "pkg" not in p])
    assert r["file"].startswith(site)
    assert r["version"] == r["about"] == r["package"] == cymem.about.__version__
    assert r["lib"] == r["carried"] == cm.LIBCYMEM_VERSION


def test_install_dir_is_where_this_python_looks():
    # Debian's interpreter: /usr/local for `./configure`, /usr for a package.
    if "deb_system" not in sysconfig.get_scheme_names():
        pytest.skip("not Debian's Python")
    local = sitedir("/usr/local")
    ver = "python%d.%d" % sys.version_info[:2]
    assert local == "/usr/local/lib/%s/dist-packages" % ver
    assert sitedir("/usr") == DEBIAN_UPSTREAM
    out = subprocess.run([sys.executable, "-c", "import sys, json; print(json.dumps(sys.path))"],
                         capture_output=True, text=True, env={"PATH": os.environ["PATH"]})
    path = json.loads(out.stdout)
    assert local in path and DEBIAN_UPSTREAM in path
    assert path.index(local) < path.index(DEBIAN_UPSTREAM)


def test_ahead_of_debians_python3_cymem(staged):
    if not os.path.isfile(os.path.join(DEBIAN_UPSTREAM, "cymem", "cymem.pxd")):
        pytest.skip("python3-cymem is not installed")
    if "deb_system" not in sysconfig.get_scheme_names():
        pytest.skip("not Debian's Python")
    _, _, site = staged
    # The interpreter's own search path, with the staged package standing
    # in for `make install` under the default prefix /usr/local.
    out = subprocess.run([sys.executable, "-I", "-c", "import sys, json; print(json.dumps(sys.path))"],
                         capture_output=True, text=True)
    path = json.loads(out.stdout)
    local = sitedir("/usr/local")
    if local not in path:
        pytest.skip("%s is not on this interpreter's path" % local)
    path[path.index(local)] = site
    r = probe(path)
    assert r["file"].startswith(site), r
    assert r["version"] == cymem.about.__version__
