#!/bin/sh
# mapped and untouched: the anonymous memory a run added and the part of
# it never touched, from /proc/self/smaps, alike for every backend.
. "${srcdir:-.}/stat-common.sh"
need_python
test -r /proc/self/smaps || { echo "SKIP: no /proc/self/smaps" >&2; exit 77; }

# realloc, one round: at the peak 64 buffers of 1 MiB are live, each
# written at its first and last byte only.  small: 50,000 blocks of 16 to
# 256 bytes side by side, each written at both ends: every page touched.
expect_status 0 "$CYMEM_STAT" --json --repeat 1 --workload realloc --iterations 1
mv "$scratch/out" "$scratch/realloc.json"
expect_status 0 "$CYMEM_STAT" --json --repeat 1 --workload small --scale 0.05
mv "$scratch/out" "$scratch/small.json"

"$PYTHON" - "$scratch/realloc.json" "$scratch/small.json" <<'PY' || exit 1
import json, sys

MiB = 1 << 20
realloc = json.load(open(sys.argv[1]))["workloads"][0]["backends"]
small = json.load(open(sys.argv[2]))["workloads"][0]["backends"]
for name, be in realloc.items():
    m, u = be["mapped_bytes"], be["untouched_bytes"]
    assert m is not None and u is not None, (name, be)
    assert m >= 60 * MiB, "realloc on %s: only %d bytes mapped" % (name, m)
    assert 32 * MiB <= u <= m, "realloc on %s: %d of %d bytes untouched" % (name, u, m)
m = small["malloc"]
assert m["mapped_bytes"] >= m["requested_bytes"], m
assert m["untouched_bytes"] * 4 < m["mapped_bytes"], "small on malloc: %s" % m
for name, be in small.items():
    assert be["untouched_bytes"] <= be["mapped_bytes"], (name, be)
PY

# The table shows the three figures for every backend.
expect_status 0 "$CYMEM_STAT" --quiet --repeat 1 --workload realloc --iterations 1
grep -q "^workload  *backend  *mapped  *touched  *untouched$" "$scratch/out" ||
    fail "no mapped table: $(cat "$scratch/out")"
grep -A2 "untouched$" "$scratch/out" | grep -q "^ *pool  *[0-9.]* MiB" ||
    fail "no pool row in the mapped table"

# Where malloc is another library, its reserved bytes are unknown, but what
# it mapped is measured all the same.
jem=$("$CYMEM_STAT" --json --repeat 1 --iterations 1 --workload realloc \
      --allocators malloc,jemalloc 2>/dev/null) || exit 0
printf '%s\n' "$jem" > "$scratch/jem.json"
"$PYTHON" - "$scratch/jem.json" <<'PY' || exit 1
import json, sys
r = json.load(open(sys.argv[1]))
be = r["workloads"][0]["backends"]
if "jemalloc" in be:
    j = be["jemalloc"]
    assert j["mapped_bytes"] is not None and j["untouched_bytes"] is not None, j
    assert j["untouched_bytes"] <= j["mapped_bytes"], j
PY
exit 0
