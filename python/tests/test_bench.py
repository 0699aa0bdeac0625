"""`python3 -m cymem.bench --quick` runs and prints every table (a smoke
test: the figures themselves are for doc/python.md, not for asserting)."""
import os
import subprocess
import sys

import cymem

PKG = os.path.dirname(os.path.dirname(cymem.__file__))


def test_bench_runs_and_prints_all_tables(tmp_path):
    # (cwd: `-m` puts it first on sys.path, and in an in-tree build the
    # test runs in python/, whose cymem/ holds the sources only)
    out = subprocess.run([sys.executable, "-m", "cymem.bench", "--quick"],
                         capture_output=True, text=True, timeout=600, cwd=str(tmp_path),
                         env=dict(os.environ, PYTHONPATH=PKG))
    assert out.returncode == 0, out.stderr
    text = out.stdout
    for heading in ("## Cython level", "## Python level", "## The brief's 4.1",
                    "## The brief's 5.2"):
        assert heading in text
    for row in ("| alloc+free pair |", "| p.alloc(1, 32) |", "| pool, preallocated |",
                "| Python list |", "| pool block from Cython |"):
        assert row in text, row
    assert "error" not in text.lower() and "failed" not in text.lower()


def test_bench_refuses_what_it_cannot_run(tmp_path):
    # No run to take a median of, or no upstream where one was named: a
    # usage error at once, not a table of errors (or of our figures only)
    for args in (["--runs", "0"], ["--runs", "-3"], ["--upstream", str(tmp_path)]):
        out = subprocess.run([sys.executable, "-m", "cymem.bench"] + args,
                             capture_output=True, text=True, timeout=120, cwd=str(tmp_path),
                             env=dict(os.environ, PYTHONPATH=PKG))
        assert out.returncode == 2 and out.stdout == "", (args, out.returncode, out.stdout)
        assert args[0] in out.stderr, out.stderr
