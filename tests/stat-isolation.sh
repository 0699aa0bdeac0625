#!/bin/sh
# Every run starts from a fresh process image: a workload's figures do not
# depend on what ran before it.  malloc's used bytes come from its live
# blocks; reserved memory has its own peak; the spread of the speed-up is
# reported.
. "${srcdir:-.}/stat-common.sh"
need_python

# realloc alone, and after workloads that leave the parent's heap (were
# the runs forked from it) in another state: the memory figures, which do
# not depend on timing, are the same.
for w in realloc small,realloc churn,floats,realloc; do
    expect_status 0 "$CYMEM_STAT" --json --repeat 1 --scale 0.2 --workload "$w"
    mv "$scratch/out" "$scratch/$w.json"
done
"$PYTHON" - "$scratch"/*realloc.json <<'PY' || exit 1
import json, sys
seen = {}
for f in sys.argv[1:]:
    w = json.load(open(f))["workloads"][-1]
    assert w["name"] == "realloc", w
    for b, be in w["backends"].items():
        key = (be["requested_bytes"], be["used_bytes"], be["reserved_bytes"],
               be["peak_reserved_bytes"])
        seen.setdefault(b, set()).add(key)
for b, keys in seen.items():
    assert len(keys) == 1, ("%s differs with what ran before" % b, keys)
PY

# malloc's used bytes are its live blocks, each with its usable size and
# glibc's size word: stat-basic.mtrace peaks with blocks of 256, 32, 48 and
# 5 bytes, in chunks of 272, 48, 64 and 32 bytes on a 64-bit glibc.
# (Where malloc is another, a sanitizer's say, its usable sizes alone.)
expect_status 0 "$CYMEM_STAT" --json --repeat 1 replay "$DATA/stat-basic.mtrace"
"$PYTHON" - "$scratch/out" "$(elf_class "$builddir/stat-alloc")" <<'PY' || exit 1
import json, sys
r = json.load(open(sys.argv[1]))
m = r["workloads"][0]["backends"]["malloc"]
if "malloc from libc.so" in r["allocators"][0]["identity"] and sys.argv[2] == "02":
    assert m["used_bytes"] == 272 + 48 + 64 + 32, m
else:
    assert m["used_bytes"] is None or m["used_bytes"] >= 341, m
PY

# Peaks and spread, for every workload of a short default run.
expect_status 0 "$CYMEM_STAT" --json --scale 0.02
"$PYTHON" - "$scratch/out" <<'PY' || exit 1
import json, sys
r = json.load(open(sys.argv[1]))
assert r["repeat"] is None, r["repeat"]          # automatic
for w in r["workloads"]:
    n = w["name"]
    for b, be in w["backends"].items():
        assert 5 <= be["runs"] <= 15, (n, b, be["runs"])
        if be["reserved_measured"]:
            assert be["peak_reserved_bytes"] >= be["reserved_bytes"], (n, b, be)
    assert w["speedup_q1"] <= w["speedup_q3"], (n, w)
    assert w["spread_wide"] == (w["speedup_q3"] / w["speedup_q1"] > 1.2), (n, w)
    # More runs only where the spread stayed wide after five.
    runs = w["backends"]["pool"]["runs"]
    assert runs == 5 or runs % 2 == 1, (n, runs)
PY
# A wide spread is said on standard error, and only there.
if grep -q '"spread_wide": true' "$scratch/out"; then
    grep -q "warning: .* varies widely" "$scratch/err" || fail "no warning: $(cat "$scratch/err")"
fi
exit 0
