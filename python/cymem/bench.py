"""python3 -m cymem.bench - how fast cymem.cymem is, next to upstream cymem
and to the product brief's two tables.

    python3 -m cymem.bench [--runs N] [--quick] [--upstream DIR]

Prints Markdown tables:

1. Cython-level operations (through Pool's vtable, as compiled clients
   such as preshed, thinc and spaCy call them) on this module and on
   upstream cymem when it is installed (Debian's python3-cymem, or
   --upstream DIR), and calloc+free for scale;
2. Python-level calls (upstream has no Python-level alloc/free);
3. the brief's 4.1 table: 10,000 allocations with calloc, with a pool,
   and with one preallocated pool buffer;
4. the brief's 5.2 table: a million float operations with a Python list,
   array.array, numpy and a pool block used from Cython: time and peak
   memory (growth of the process's peak RSS).

Every figure is the median of N runs (default 7) with the lowest and
highest; each implementation and each 5.2 case runs in its own processes,
and ours and upstream's take turns (three rounds each).
The machine's load average is printed too: on a busy machine the spread
is wide and the medians move.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEBIAN_UPSTREAM = "/usr/lib/python3/dist-packages"


def _ext_path():
    import importlib.machinery
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = os.path.join(HERE, "_bench" + suffix)
        if os.path.exists(path):
            return path
    raise SystemExit("cymem.bench: the compiled helper cymem/_bench is missing")


def _load_ext(path):
    import importlib.util
    spec = importlib.util.spec_from_file_location("_bench", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _stats(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "values": values}


def _peak_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# ---- what a child process measures ----------------------------------------

def _cython_level(b, runs, n):
    out = {}

    def rec(key, fn):
        out[key] = _stats([fn() for _ in range(runs)])

    rec("alloc+free pair", lambda: b.alloc_free_pair(n))
    rec("calloc+free pair (C)", lambda: b.calloc_free_pair(n))
    pairs = [b.alloc_then_teardown(n) for _ in range(runs)]
    out["alloc (n live blocks)"] = _stats([p[0] for p in pairs])
    out["teardown, per block"] = _stats([p[1] for p in pairs])
    rec("realloc 16 -> 64 bytes", lambda: b.realloc_grow(n // 4))
    rec("Pool() create+destroy", lambda: b.create_destroy(n // 4, 0))
    rec("Pool() + 10 allocs + destroy", lambda: b.create_destroy(n // 10, 10))
    return out


def _python_level(runs, n):
    import timeit
    from cymem.cymem import Pool
    out = {}
    loop = min(timeit.repeat("pass", number=n, repeat=runs)) / n * 1e9

    def rec(key, stmt, setup="pass", base=loop):
        times = timeit.repeat(stmt, setup, number=n, repeat=runs, globals={"Pool": Pool})
        out[key] = _stats([t / n * 1e9 - base for t in times])

    rec("Pool() create+destroy", "Pool()")
    if hasattr(Pool, "alloc"):            # ours (upstream's is C-level only)
        rec("p.alloc(1, 32)", "p.alloc(1, 32)", "p = Pool()")
        # free needs a fresh address each time: next(it), whose cost is
        # measured on its own and subtracted
        addrs = "p = Pool(); it = iter([p.alloc(1, 32) for _ in range(%d)])" % (n * runs)
        nxt = min(timeit.repeat("next(it)", "it = iter(range(%d))" % (n * runs),
                                number=n, repeat=runs)) / n * 1e9
        rec("p.free(a)", "p.free(next(it))", addrs, nxt)
    return out


def _floats(kind, runs, n):
    import array
    times = []
    base = _peak_kib()
    if kind == "numpy":
        import numpy as np
        base = _peak_kib()
    for _ in range(runs):
        t = time.perf_counter()
        if kind in ("list", "array"):
            a = [0.0] * n if kind == "list" else array.array("f", bytes(4 * n))
            for i in range(n):
                a[i] = i * 0.5
            s = 0.0
            for x in a:
                s += x * 1.5
        elif kind == "numpy":
            a = np.arange(n, dtype=np.float32) * np.float32(0.5)
            s = float((a * np.float32(1.5)).sum(dtype=np.float64))
        else:
            ms, s = _load_ext(_ext_path()).floats_pool(n)
            times.append(ms)
            continue
        times.append((time.perf_counter() - t) * 1e3)
        del a
    return {"ms": _stats(times), "peak_mib": (_peak_kib() - base) / 1024.0, "sum": s}


def _child(kind, ext, runs, n):
    import cymem.cymem
    res = {"module": cymem.cymem.__file__}
    if kind == "cython":
        b = _load_ext(ext)
        res.update(_cython_level(b, runs, n))
    elif kind == "python":
        res.update(_python_level(runs, n))
    elif kind == "brief41":
        b = _load_ext(ext)
        r = [b.brief_10k(10000, 100) for _ in range(runs)]
        res.update({"calloc + free": _stats([x[0] for x in r]),
                    "pool alloc + teardown": _stats([x[1] for x in r]),
                    "pool, preallocated": _stats([x[2] for x in r])})
    else:
        res.update(_floats(kind.split(":")[1], runs, n))
    print(json.dumps(res))


# ---- the parent: runs children, prints tables ------------------------------

def _run(kind, first, runs, n):
    code = ("import sys; sys.path.insert(0, %r)\n"
            "import importlib.util as u\n"
            "s = u.spec_from_file_location('cymem_bench', %r)\n"
            "m = u.module_from_spec(s); s.loader.exec_module(m)\n"
            "m._child(%r, %r, %d, %d)\n"
            % (first, os.path.abspath(__file__), kind, _ext_path(), runs, n))
    env = dict(os.environ, PYTHONPATH="")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout)


def _compare(kind, ours, up, runs, n, rounds=3):
    """_run() on ours and on upstream (up, or None) in turns, `rounds`
    times, with the runs split between the turns: on a busy machine a
    slow spell then hits both sides instead of one."""
    per = max(1, runs // rounds)
    merged = [{}, {}]
    for _ in range(rounds):
        for side, first in enumerate((ours, up)):
            if first is None:
                continue
            r = _run(kind, first, per, n)
            for key, v in r.items():
                if isinstance(v, dict) and "values" in v:
                    merged[side].setdefault(key, []).extend(v["values"])
                else:
                    merged[side][key] = v
    return [{k: _stats(v) if isinstance(v, list) else v for k, v in m.items()} or None
            for m in merged]


def _fmt(s, digits=1):
    return "%.*f (%.*f-%.*f)" % (digits, s["median"], digits, s["min"], digits, s["max"])


def _runs(text):
    """--runs: a median needs one run at least."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not a number: %r" % text) from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1, not %d" % n)
    return n


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m cymem.bench", description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=_runs, default=7, help="runs per figure (default 7)")
    ap.add_argument("--quick", action="store_true", help="small sizes, 2 runs: a smoke test")
    ap.add_argument("--upstream",
                    help="directory holding upstream's cymem package (default: %s, "
                    "if it has one)" % DEBIAN_UPSTREAM)
    args = ap.parse_args(argv)
    runs = 2 if args.quick else args.runs
    n = 20000 if args.quick else 200000
    ours = os.path.dirname(HERE)
    up = args.upstream or DEBIAN_UPSTREAM
    have_up = (os.path.isfile(os.path.join(up, "cymem", "cymem.pxd"))
               and os.path.realpath(up) != os.path.realpath(ours))
    if args.upstream and not have_up:
        ap.error("--upstream %s: no upstream cymem package (cymem/cymem.pxd) there"
                 % args.upstream)

    import cymem.cymem
    print("# cymem.bench: libcymem %s, %s" % (cymem.cymem.LIBCYMEM_VERSION, cymem.cymem.__file__))
    print("%d CPUs, load average %.2f %.2f %.2f; median (lowest-highest) of %d runs"
          % ((os.cpu_count() or 0,) + os.getloadavg() + (runs,)))

    print("\n## Cython level, ns per operation\n")
    mine, theirs = _compare("cython", ours, up if have_up else None, runs, n)
    if theirs and "module" in theirs:
        print("upstream: %s\n" % theirs["module"])
    print("| operation | cymem.cymem (libcymem) | upstream | upstream / ours |")
    print("|---|---|---|---|")
    for key, s in mine.items():
        if key == "module":
            continue
        t = theirs.get(key) if theirs else None
        ratio = "%.1fx" % (t["median"] / s["median"]) if t and "C)" not in key else ""
        print("| %s | %s | %s | %s |" % (key, _fmt(s), _fmt(t) if t else "", ratio))

    print("\n## Python level, ns per call (timeit loop overhead subtracted)\n")
    mine, theirs = _compare("python", ours, up if have_up else None, runs, n)
    theirs = theirs or {}
    print("| call | cymem.cymem | upstream |\n|---|---|---|")
    for key, s in mine.items():
        if key != "module":
            t = theirs.get(key)
            print("| %s | %s | %s |" % (key, _fmt(s), _fmt(t) if t else "(none)"))

    print("\n## The brief's 4.1: 10,000 allocations of 100 bytes, ms\n")
    r = _run("brief41", ours, runs, n)
    print("| method | ms | brief |\n|---|---|---|")
    brief = {"calloc + free": "38 (malloc)", "pool alloc + teardown": "",
             "pool, preallocated": "2"}
    for key in brief:
        print("| %s | %s | %s |" % (key, _fmt(r[key], 3) if key in r else r.get("error"), brief[key]))

    print("\n## The brief's 5.2: a million float operations\n")
    print("a[i] = i * 0.5 for a million floats, then the sum of a[i] * 1.5; the")
    print("time includes making the container.  Peak: growth of peak RSS.\n")
    print("| method | ms | peak MiB | brief ms / MB |\n|---|---|---|---|")
    million = 100000 if args.quick else 1000000
    brief = [("list", "Python list", "120 / 48"), ("array", "array.array('f')", "- / -"),
             ("numpy", "numpy float32", "25 / 8"), ("pool", "pool block from Cython", "4 / 8")]
    for kind, label, b in brief:
        r = _run("floats:" + kind, ours, runs, million)
        if "error" in r:
            print("| %s | %s | | %s |" % (label, r["error"], b))
        else:
            print("| %s | %s | %.1f | %s |" % (label, _fmt(r["ms"], 2), r["peak_mib"], b))
    return 0


if __name__ == "__main__":
    sys.exit(main())
