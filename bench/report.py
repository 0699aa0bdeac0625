#!/usr/bin/env python3
"""report.py - turn a run-bench output directory into results.md and
results.json: per workload (and thread count) and allocator the median
ns/op with min-max, the ratios to glibc and to the bump reference, peak
RSS, RSS growth over the requested live bytes, and minor page faults.  A
workload run at several thread counts (shared, shared-xfree) gets a table
per count, then one of the medians by thread count and one of every
round."""

import json
import os
import platform
import statistics
import subprocess
import sys


def load(path):
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    rows.append(json.loads(line))
    return rows


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        libc = subprocess.run(["getconf", "GNU_LIBC_VERSION"], capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        libc = "unknown"
    return {"cpu": cpu, "cpus": os.cpu_count(), "kernel": platform.release(), "libc": libc}


def summarize(rows, by_ops=False):
    """Group by (workload, threads, allocator), and ops with by_ops; the
    rounds in the order they ran."""
    groups = {}
    for r in rows:
        key = (r["workload"], r.get("threads"), r["allocator"]) + \
            ((r.get("ops"),) if by_ops else ())
        groups.setdefault(key, []).append(r)
    out = {}
    for key, rs in groups.items():
        w, t, a = key[0], key[1], key[2]
        if any("na" in r for r in rs):
            out[key] = {"workload": w, "threads": t, "allocator": a, "na": rs[0].get("na")}
            continue
        ns = [r["ns_per_op"] for r in rs]
        growth = [r["rss_growth_kib"] / r["requested_peak_kib"]
                  for r in rs if r["requested_peak_kib"] > 0]
        out[key] = {
            "workload": w, "threads": t, "allocator": a, "rounds": len(rs),
            "ok": all(r["ok"] for r in rs),
            "ns_per_op": statistics.median(ns), "ns_min": min(ns), "ns_max": max(ns),
            "ns_rounds": ns,
            "peak_rss_kib": statistics.median(r["peak_rss_kib"] for r in rs),
            "rss_per_requested": statistics.median(growth) if growth else None,
            "minflt": statistics.median(r["minflt"] for r in rs),
            "ops": rs[0]["ops"],
        }
    for key, s in out.items():
        for ref in ("glibc", "bump"):
            base = out.get((key[0], key[1], ref) + key[3:])
            if "na" not in s and base and "na" not in base:
                s["vs_" + ref] = s["ns_per_op"] / base["ns_per_op"]
    return out


def fmt(v, spec):
    return "n/a" if v is None else format(v, spec)


def section(w, t, several, runs):
    """The table of workload @w at @t threads; titled with the count
    where the workload ran at @several."""
    title = "%s, %d thread%s" % (w, t, "" if t == 1 else "s") if several else w
    md = ["## " + title, "",
          "| allocator | ns/op (median) | min - max | vs glibc | vs bump | peak RSS MiB | RSS growth / requested | minor faults |",
          "|---|---:|---:|---:|---:|---:|---:|---:|"]
    # A run that did not apply says no thread count: it stands in each.
    rows = [s for (ww, tt, a), s in runs.items() if ww == w and
            (tt == t or (tt is None and (w, t, a) not in runs))]
    rows.sort(key=lambda s: s.get("ns_per_op", float("inf")))
    for s in rows:
        if "na" in s:
            md.append("| %s | n/a (%s) | | | | | | |" % (s["allocator"], s["na"]))
            continue
        md.append("| %s%s | %.2f | %.2f - %.2f | %s | %s | %.1f | %s | %d |" % (
            s["allocator"], "" if s["ok"] else " (FAILED)", s["ns_per_op"], s["ns_min"],
            s["ns_max"], fmt(s.get("vs_glibc"), ".2f"), fmt(s.get("vs_bump"), ".2f"),
            s["peak_rss_kib"] / 1024, fmt(s["rss_per_requested"], ".3f"), s["minflt"]))
    return md + [""]


def by_threads(w, counts, runs):
    """Workload @w's medians by thread count, then every round."""
    allocs = list(dict.fromkeys(a for (ww, t, a) in runs if ww == w))
    head = "| allocator | " + " | ".join("%d thr" % t for t in counts) + " |"
    md = ["## %s by thread count" % w, "", "ns/op, median of the rounds:", "", head,
          "|---|" + "---:|" * len(counts)]
    for a in allocs:
        cells = []
        for t in counts:
            s = runs.get((w, t, a), runs.get((w, None, a)))
            cells.append("" if s is None else "n/a" if "na" in s else
                         "%.2f%s" % (s["ns_per_op"], "" if s["ok"] else " (FAILED)"))
        if any(c not in ("", "n/a") for c in cells):
            md.append("| %s | %s |" % (a, " | ".join(cells)))
    md += ["", "Every round, ns/op in the order the rounds ran:", "",
           "| allocator | threads | rounds |", "|---|---:|---|"]
    for a in allocs:
        for t in counts:
            s = runs.get((w, t, a))
            if s is not None and "na" not in s:
                md.append("| %s | %d | %s |" % (a, t, ", ".join("%.2f" % v
                                                               for v in s["ns_rounds"])))
    return md + [""]


def main():
    d = sys.argv[1]
    runs = summarize(load(os.path.join(d, "runs.jsonl")))
    destroy = summarize(load(os.path.join(d, "destroy.jsonl")), by_ops=True)
    verify = load(os.path.join(d, "verify.jsonl"))
    cg = load(os.path.join(d, "callgrind.json"))
    info = machine()

    md = ["# Benchmark results", "",
          "Machine: %s, %d CPUs, Linux %s, %s." % (info["cpu"], info["cpus"], info["kernel"],
                                                 info["libc"]), ""]
    bad = [v for v in verify if "na" not in v and not v.get("ok")]
    md.append("Correctness pass (zero fill and contents, scale 0.02): %d runs, %d failed."
              % (len([v for v in verify if "na" not in v]), len(bad)))
    md.append("")
    order = []   # (workload, threads) in the order they first ran
    for r in load(os.path.join(d, "runs.jsonl")):
        if "na" not in r and (r["workload"], r.get("threads")) not in order:
            order.append((r["workload"], r.get("threads")))
    for w in dict.fromkeys(ww for ww, _ in order):
        counts = [t for ww, t in order if ww == w]
        for t in counts:
            md += section(w, t, len(counts) > 1, runs)
        if len(counts) > 1:
            md += by_threads(w, counts, runs)
    if destroy:
        md += ["## destroy cost", "",
               "| allocator | blocks | total us (median) | ns per block |", "|---|---:|---:|---:|"]
        for s in sorted(destroy.values(), key=lambda s: (s["allocator"], s["ops"])):
            md.append("| %s | %d | %.1f | %.2f |" % (s["allocator"], s["ops"],
                                                   s["ns_per_op"] * s["ops"] / 1000,
                                                   s["ns_per_op"]))
        md.append("")
    if cg:
        c = cg[0]
        md += ["## The fast paths", "",
               "| engine | cymem_pool_alloc per call | cymem_pool_free per call | calls |",
               "|---|---:|---:|---:|"]
        for eng in ("arena", "slab"):
            a, f = c.get(eng + "_alloc"), c.get(eng + "_free")
            if a and f:
                md.append("| %s | %.1f | %.1f | %d + %d |" % (
                    eng, a["ir"] / a["calls"], f["ir"] / f["calls"], a["calls"], f["calls"]))
        md += ["", "(callgrind instructions, natively: CYMEM_VALGRIND=0; the caller's "
               "wrapper included; bench/fastpath.c says what each phase does)", ""]
    with open(os.path.join(d, "results.md"), "w") as f:
        f.write("\n".join(md))
    with open(os.path.join(d, "results.json"), "w") as f:
        json.dump({"machine": info, "workloads": list(runs.values()),
                   "destroy": list(destroy.values()), "callgrind": cg[0] if cg else None,
                   "verify_failed": len(bad)}, f, indent=1)
    print("\n".join(md))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
