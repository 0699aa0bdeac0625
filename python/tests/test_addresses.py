"""Upstream's `addresses` slot: code compiled against upstream's .pxd
reads it straight from the Pool object.  It must never crash, and in the
tracking mode (CYMEM_TRACK_ADDRESSES=1 or track_addresses(True)) it must
give upstream's answers.  Each run is a subprocess under -W error."""
import json
import os
import subprocess
import sys

import pytest

import cymem
import cymem.cymem as cm
from test_upstream import SRCDIR, UPSTREAM, build_client

PKG = os.path.dirname(os.path.dirname(cymem.__file__))
EXACT = {"is_dict": True, "len": 2, "has_a": True, "size_a": 32,
         "iterated": [32, 100], "len_after_free": 1, "after_realloc": True}


def run(client_dir, first, env=None, before=""):
    code = ("import sys, json; sys.path[:0] = %r; import cymem.cymem as cm; %s; "
            "import addresses; r = addresses.run(); r['module'] = cm.__file__; "
            "print(json.dumps(r))" % ([client_dir, first], before or "pass"))
    out = subprocess.run([sys.executable, "-W", "error", "-c", code],
                         env=dict(os.environ, PYTHONPATH="", **(env or {})),
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr      # a crash is a negative status
    r = json.loads(out.stdout)
    assert r.pop("module").startswith(first)
    return r


@pytest.fixture(scope="module")
def against_upstream(tmp_path_factory):
    if not os.path.exists(os.path.join(UPSTREAM, "cymem", "cymem.pxd")):
        pytest.skip("python3-cymem (upstream cymem) is not installed")
    return build_client(tmp_path_factory.mktemp("addr"), UPSTREAM, SRCDIR, "addresses")


def test_upstream_itself_gives_the_exact_answers(against_upstream):
    assert run(against_upstream, UPSTREAM) == EXACT


def test_default_mode_reads_a_dict_and_never_crashes(against_upstream):
    r = run(against_upstream, PKG, env={"CYMEM_TRACK_ADDRESSES": "0"})
    assert r["is_dict"] and r["after_realloc"] in (True, False)
    assert r["len"] == r["len_after_free"] == 0       # not tracked: empty


def test_exact_mode_from_the_environment(against_upstream):
    assert run(against_upstream, PKG, env={"CYMEM_TRACK_ADDRESSES": "1"}) == EXACT


def test_exact_mode_from_the_module_switch(against_upstream):
    assert run(against_upstream, PKG, env={"CYMEM_TRACK_ADDRESSES": "0"},
               before="cm.track_addresses(True)") == EXACT


def test_compiled_against_our_pxd_is_always_exact(tmp_path):
    ours = build_client(tmp_path, PKG, SRCDIR, "addresses")
    assert run(ours, PKG, env={"CYMEM_TRACK_ADDRESSES": "0"}) == EXACT


def test_python_view_in_both_modes():
    old = cm.track_addresses(True)
    try:
        p = cm.Pool()
        a = p.alloc(2, 8)
        assert p.addresses == {a: 16} and p.addresses is p.addresses
        b = p.realloc(a, 64)
        assert p.addresses == {b: 64}
        p.free()
        assert p.addresses == {}
        cm.track_addresses(False)
        q = cm.Pool()
        c = q.alloc(1, 8)
        assert q.addresses == {c: 8} and q.addresses is not q.addresses
    finally:
        cm.track_addresses(old)
