#!/bin/sh
# --json: one object with the documented fields and their invariants.
. "${srcdir:-.}/stat-common.sh"
need_python

expect_status 0 "$CYMEM_STAT" --json --scale 0.002 --repeat 2 --threads 2 --seed 7
mv "$scratch/out" "$scratch/a.json"
expect_status 0 "$CYMEM_STAT" --json --scale 0.002 --repeat 1 --threads 2 --seed 7
mv "$scratch/out" "$scratch/b.json"

"$PYTHON" - "$scratch/a.json" "$scratch/b.json" <<'PY' || exit 1
import json, sys

a = json.load(open(sys.argv[1]))
b = json.load(open(sys.argv[2]))

def check(cond, what):
    if not cond:
        sys.exit("FAIL: " + what)

for key in ("program", "version", "library_version", "seed", "scale",
            "iterations", "repeat", "threads", "workloads"):
    check(key in a, "top-level field %s" % key)
check(a["program"] == "cymem-stat", "program name")
check(a["seed"] == 7 and a["repeat"] == 2 and a["threads"] == 2, "options echoed")
names = [w["name"] for w in a["workloads"]]
check(names == ["small", "small-free", "prealloc", "churn", "server", "realloc",
                "threads", "floats", "aligned"], "default set: %s" % names)

wfields = ("name", "source", "count", "threads", "failed", "error", "allocs",
           "frees", "reallocs", "speedup", "speedup_min", "speedup_max",
           "reserved_ratio", "peak_rss_ratio", "backends")
bfields = ("runs", "ops", "time_ns", "time_ns_min", "time_ns_max", "ns_per_op",
           "ops_per_sec", "peak_rss_bytes", "requested_bytes", "used_bytes",
           "reserved_bytes", "metadata_bytes", "memory_measured",
           "internal_fragmentation", "external_fragmentation", "reserved_measured",
           "peak_reserved_bytes", "mapped_bytes", "untouched_bytes", "speedup",
           "minor_faults", "time_split")
for w, w2 in zip(a["workloads"], b["workloads"]):
    n = w["name"]
    for f in wfields:
        check(f in w, "%s: field %s" % (n, f))
    check(w["failed"] is False and w["error"] is None, n + ": failed")
    check(w["source"] is None, n + ": source")
    m, p = w["backends"]["malloc"], w["backends"]["pool"]
    for be in (m, p):
        for f in bfields:
            check(f in be, "%s: backend field %s" % (n, f))
        check(be["runs"] == 2, n + ": runs")
        check(be["time_ns_min"] <= be["time_ns"] <= be["time_ns_max"], n + ": time order")
        check(be["requested_bytes"] > 0, n + ": requested > 0")
        # Under another malloc (a sanitizer's, say) mallinfo2() sees no
        # heap: malloc's reserved figures are null and reserved_measured
        # false; without malloc_usable_size() its used bytes too.
        if be["memory_measured"]:
            check(be["requested_bytes"] <= be["used_bytes"], n + ": requested <= used")
            check(0 <= be["internal_fragmentation"] <= 1, n + ": internal fragmentation")
        if be["reserved_measured"]:
            check(be["memory_measured"], n + ": reserved without used")
            check(be["used_bytes"] <= be["reserved_bytes"] <= be["peak_reserved_bytes"],
                  n + ": used <= reserved <= peak reserved")
            check(0 <= be["external_fragmentation"] <= 1, n + ": external fragmentation")
        else:
            check(be is m and be["reserved_bytes"] is None and
                  be["external_fragmentation"] is None, n + ": only malloc may be unmeasured")
    # Both backends ran the very same sequence.
    check(m["ops"] == p["ops"] and m["ops"] > 0, n + ": identical operation counts")
    check(m["requested_bytes"] == p["requested_bytes"], n + ": same requested bytes")
    check(m["metadata_bytes"] in (0, None), n + ": malloc metadata")
    check(p["metadata_bytes"] <= p["reserved_bytes"], n + ": pool metadata")
    check(m["speedup"] == 1 and p["speedup"] == w["speedup"], n + ": speed-ups per backend")
    check(m["speedup_min"] == m["speedup_max"] == 1, n + ": the first allocator's range")
    # A ratio of figures is known only where both are.
    check((w["reserved_ratio"] is None) ==
          (m["reserved_bytes"] is None or p["reserved_bytes"] is None or
           m["reserved_bytes"] == 0), n + ": reserved_ratio")
    if n == "floats":
        check(m["ops"] == 2 * w["count"] + 2, "floats: ops")
    elif n == "threads":
        check(w["threads"] == 2, "threads: thread count")
        check(m["ops"] == w["allocs"] + w["frees"], "threads: ops")
    else:
        check(m["ops"] == w["allocs"] + w["frees"] + w["reallocs"], n + ": ops sum")
    check(w["allocs"] == w["frees"], n + ": every block freed")
    check(w["speedup_min"] <= w["speedup"] <= w["speedup_max"], n + ": speed-up range")
    # The same seed gives the same sequence.
    check(w2["backends"]["pool"]["ops"] == p["ops"], n + ": same seed, same ops")
    check(w2["backends"]["pool"]["requested_bytes"] == p["requested_bytes"],
          n + ": same seed, same requested bytes")
PY

# --iterations sets the count itself.
expect_status 0 "$CYMEM_STAT" --json --iterations 1234 --repeat 1 --workload small
"$PYTHON" -c '
import json, sys
w = json.load(open(sys.argv[1]))["workloads"][0]
assert w["count"] == 1234 and w["allocs"] == 1234, w
assert w["backends"]["pool"]["ops"] == 2468, w
' "$scratch/out" || fail "--iterations"

# The GNU C library's own malloc: mallinfo2() describes its heap, and its
# reserved bytes are measured however much of the run fits in the free
# space of the heap it started with (80 to 130 KiB of blocks did).
for n in 500 700 1500; do
    expect_status 0 "$CYMEM_STAT" --json --iterations $n --repeat 1 --workload small
    "$PYTHON" - "$scratch/out" <<'PY' || fail "--iterations $n: reserved of glibc's malloc"
import json, sys
r = json.load(open(sys.argv[1]))
if r["allocators"][0]["identity"].startswith("glibc") and r["libc"].startswith("glibc"):
    m = r["workloads"][0]["backends"]["malloc"]
    assert m["requested_bytes"] >= 65536, m
    assert m["reserved_measured"] and m["reserved_bytes"] >= m["used_bytes"], m
PY
done
exit 0
