#!/bin/sh
# --allocators: each allocator installed runs the same workloads in the
# same fresh processes, with its library preloaded; the missing ones are
# left out with a note; every output names which malloc each one was.
. "${srcdir:-.}/stat-common.sh"
need_python

expect_status 2 "$CYMEM_STAT" --allocators malloc,nosuch
grep -q "unknown allocator 'nosuch'" "$scratch/err" || fail "unknown: $(cat "$scratch/err")"
expect_status 2 "$CYMEM_STAT" --allocators pool,malloc,pool
grep -q "named twice" "$scratch/err" || fail "twice: $(cat "$scratch/err")"
expect_status 2 "$CYMEM_STAT" --allocators ,

all=malloc,jemalloc,tcmalloc,mimalloc,pool
expect_status 0 "$CYMEM_STAT" --json --repeat 1 --scale 0.01 --workload small,server \
    --allocators "$all"
mv "$scratch/out" "$scratch/all.json"
mv "$scratch/err" "$scratch/all.err"
"$PYTHON" - "$scratch/all.json" "$scratch/all.err" <<'PY' || exit 1
import json, sys
r = json.load(open(sys.argv[1]))
err = open(sys.argv[2]).read()
assert r["schema_version"] >= 2, r
names = [a["name"] for a in r["allocators"]]
missing = r["allocators_missing"]
assert sorted(names + missing) == sorted(["malloc", "jemalloc", "tcmalloc", "mimalloc", "pool"]), (names, missing)
assert names[0] == "malloc" and names[-1] == "pool", names
for m in missing:
    assert ("note: %s is not installed" % m in err or
            "note: %s is not usable" % m in err), (m, err)
lib = {"malloc": "libc", "jemalloc": "libjemalloc", "tcmalloc": "libtcmalloc",
       "mimalloc": "libmimalloc"}
for a in r["allocators"]:
    if a["kind"] == "malloc":
        # Which malloc it was, said by the run's own process ("malloc" is
        # whatever cymem-stat runs with: a sanitizer's, in such a build).
        assert "malloc from " + lib[a["name"]] in a["identity"] or (
            a["name"] == "malloc" and "malloc from " in a["identity"]), a
        assert (a["preload"] is None) == (a["name"] == "malloc"), a
for w in r["workloads"]:
    assert list(w["backends"]) == names, (w["name"], list(w["backends"]))
    ops = {b["ops"] for b in w["backends"].values()}
    assert len(ops) == 1, ops
    assert w["backends"]["malloc"]["speedup"] == 1, w["backends"]["malloc"]
    assert w["speedup"] == w["backends"]["pool"]["speedup"], w
PY

# CSV: a row per allocator and workload.
expect_status 0 "$CYMEM_STAT" --csv --repeat 1 --scale 0.01 --workload small --allocators "$all"
n=$("$PYTHON" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["allocators"]))' "$scratch/all.json")
test "$(grep -c '^small,' "$scratch/out")" -eq "$n" || fail "CSV rows: $(cat "$scratch/out")"

# The table names each allocator and says which malloc it was.
expect_status 0 "$CYMEM_STAT" --repeat 1 --scale 0.01 --workload small --allocators "$all"
grep -q "^  malloc   is .*(malloc from " "$scratch/out" || fail "table: $(head -n 5 "$scratch/out")"
awk 'length > 80 { bad = 1 } END { exit bad }' "$scratch/out" || fail "table wider than 80"
# So does its title with six allocators: the names wrap.
expect_status 0 "$CYMEM_STAT" --repeat 1 --scale 0.01 --workload small --allocators "$all,pool-ts"
awk 'length > 80 { bad = 1 } END { exit bad }' "$scratch/out" ||
    fail "table wider than 80: $(awk 'length > 80' "$scratch/out")"
title=$(sed -n '1p;2{/ is /d;/ left out: /d;p;}' "$scratch/out" | tr '\n' ' ')
case $title in
*": malloc, "*"pool and "*"pool-ts ") ;;
*) fail "title: $title" ;;
esac

# A figure derived from one that was not measured is not measured either:
# jemalloc's reserved bytes are unknown (mallinfo2() sees only glibc's
# heap), so is its reserved_ratio; and the brief's claims, which are about
# the pool, are not set against jemalloc when the pool does not run.
if grep -q '"name": "jemalloc"' "$scratch/all.json"; then
    expect_status 0 "$CYMEM_STAT" --json --repeat 1 --scale 0.1 --workload server \
        --allocators malloc,jemalloc
    "$PYTHON" - "$scratch/out" <<'PY' || exit 1
import json, sys
w = json.load(open(sys.argv[1]))["workloads"][0]
assert w["backends"]["jemalloc"]["reserved_bytes"] is None, w
assert w["reserved_ratio"] is None, w
PY
    expect_status 0 "$CYMEM_STAT" --repeat 1 --scale 0.1 --workload server,prealloc \
        --allocators malloc,pool-shared,jemalloc
    grep -q "claims" "$scratch/out" && fail "claims without a pool: $(tail -n 4 "$scratch/out")"
fi

# A malloc preloaded into cymem-stat itself is what "malloc" is, and the
# report says so instead of calling it the system's.
if grep -q '"name": "jemalloc"' "$scratch/all.json"; then
    jem=$("$PYTHON" -c 'import json, sys; print([a["preload"] for a in json.load(open(sys.argv[1]))["allocators"] if a["name"] == "jemalloc"][0])' "$scratch/all.json")
    LD_PRELOAD=$jem "$CYMEM_STAT" --json --repeat 1 --scale 0.01 --workload small \
        > "$scratch/out" 2> "$scratch/err" || fail "preloaded jemalloc: $(cat "$scratch/err")"
    "$PYTHON" - "$scratch/out" <<'PY' || exit 1
import json, sys
a = json.load(open(sys.argv[1]))["allocators"][0]
assert a["name"] == "malloc" and "malloc from libjemalloc" in a["identity"], a
PY
fi
exit 0
