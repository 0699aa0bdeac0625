#!/bin/sh
# The shared workloads run on malloc and on every kind of libcymem pool,
# with one thread and with several: in the benchmark with --verify (every
# block zero when handed out and intact until freed, also a block freed by
# another thread), in cymem-stat with the pools' accounting checked at the
# snapshot.  Allocators that cannot take a block freed by another thread
# are left out of shared-xfree with the reason, which needs two threads.
. "${srcdir:-.}/stat-common.sh"

BENCH=$top_builddir/bench/bench-pools
test -x "$BENCH" || { echo "the benchmark is not built: $BENCH" >&2; exit 99; }

for w in shared shared-xfree; do
    for t in 1 2 3; do
        for a in glibc libcymem libcymem-ts libcymem-shared talloc bump; do
            case $a in talloc) "$BENCH" --list | grep -q talloc || continue ;; esac
            want="\"ok\":true,\"ops\":$((t * 22000)),.*\"threads\":$t}"
            case $w:$a in
            *:bump) want='"na":"no free of one block"' ;;
            shared-xfree:libcymem | shared-xfree:talloc)
                want='"na":"no free of a block by another thread than its arena'"'"'s"' ;;
            shared-xfree:*)
                if test "$t" = 1; then
                    expect_status 2 "$BENCH" --verify --scale 0.01 --threads 1 "$a" "$w"
                    grep -q "needs two threads or more" "$scratch/err" ||
                        fail "$w on $a with one thread: $(cat "$scratch/err")"
                    continue
                fi ;;
            esac
            expect_status 0 "$BENCH" --verify --scale 0.01 --threads "$t" "$a" "$w"
            grep -q "$want" "$scratch/out" || fail "$w on $a, $t threads: $(cat "$scratch/out")"
        done
    done
    for t in 1 2; do
        test "$w:$t" = shared-xfree:1 && continue
        expect_status 0 "$CYMEM_STAT" --quiet --repeat 1 --scale 0.01 --threads "$t" \
            --allocators malloc,pool,pool-ts,pool-shared --workload "$w"
        for a in malloc pool-ts pool-shared; do
            grep -Eq "^([a-z-]+)? +$a +$((t * 22)),000 " "$scratch/out" ||
                fail "$w on $a, $t threads: $(cat "$scratch/out")"
        done
    done
done
# In cymem-stat a plain pool is n/a for shared-xfree, and every pool but
# the shared one is a pool per thread elsewhere.
grep -q "^ *pool  *n/a: no free of a block by another thread" "$scratch/out" ||
    fail "shared-xfree: the plain pool is not n/a: $(cat "$scratch/out")"
expect_status 0 "$CYMEM_STAT" --quiet --repeat 1 --scale 0.01 --workload small \
    --allocators malloc,pool-shared
grep -q "^ *pool-shared  *n/a: one arena for all threads: the shared workloads only" \
    "$scratch/out" || fail "small on pool-shared: $(cat "$scratch/out")"

# In the JSON such an allocator's backend is null, with the reason; in the
# CSV it has no row.
expect_status 0 "$CYMEM_STAT" --csv --repeat 1 --scale 0.01 --threads 2 \
    --workload shared-xfree --allocators malloc,pool,pool-ts
test "$(grep -c '^shared-xfree,' "$scratch/out")" -eq 2 || fail "CSV: $(cat "$scratch/out")"
grep -q '^shared-xfree,,pool,' "$scratch/out" && fail "CSV: a row for the plain pool"
for PYTHON in /usr/bin/python3 python3 ''; do
    test -n "$PYTHON" && "$PYTHON" -c 'import json' >/dev/null 2>&1 && break
done
test -n "$PYTHON" || exit 0
expect_status 0 "$CYMEM_STAT" --json --repeat 1 --scale 0.01 --threads 2 \
    --workload shared-xfree,small --allocators malloc,pool,pool-shared
"$PYTHON" - "$scratch/out" <<'PY' || exit 1
import json, sys
r = json.load(open(sys.argv[1]))
assert [a["kind"] for a in r["allocators"]] == ["malloc", "pool", "pool-shared"], r
x, s = r["workloads"]
assert x["name"] == "shared-xfree" and x["threads"] == 2, x
assert x["not_applicable"] == {"pool": "no free of a block by another thread than its arena's"}, x
assert x["backends"]["pool"] is None and x["backends"]["pool-shared"]["runs"] == 1, x
# The speed-up is the next pool's that runs the workload.
assert x["speedup"] == x["backends"]["pool-shared"]["speedup"], x
assert s["not_applicable"] == {"pool-shared": "one arena for all threads: the shared workloads only"}, s
assert s["backends"]["pool-shared"] is None and s["speedup"] == s["backends"]["pool"]["speedup"], s
PY
exit 0
