#!/bin/sh
# Every benchmark binary runs every allocator on the workloads with
# threads (threads, shared, and shared-xfree where the allocator can), with
# 2 and 4 threads, contents verified: each thread's arenas are made and
# destroyed by that thread (mimalloc's heaps allow nothing else: its
# adapter aborts on a destroy from another thread), and no run fails.
. "${srcdir:-.}/stat-common.sh"

ran=0
for bin in bench-pools bench-mimalloc bench-jemalloc bench-tcmalloc; do
    BENCH=$top_builddir/bench/$bin
    test -x "$BENCH" || continue
    allocs=$("$BENCH" --list | sed -n 1p)
    for a in $allocs; do
        for w in threads shared shared-xfree; do
            for t in 2 4; do
                "$BENCH" --verify --scale 0.02 --threads $t "$a" "$w" >"$scratch/out" 2>&1
                rc=$?
                test $rc -eq 0 || { cat "$scratch/out" >&2; fail "$bin $a $w, $t threads: exit $rc"; }
                # "na": the allocator cannot run the workload, and says why.
                grep -q '"na":' "$scratch/out" && continue
                grep -q '"ok":true' "$scratch/out" || fail "$bin $a $w, $t threads: not ok"
                ran=$((ran + 1))
            done
        done
    done
done
test $ran -gt 0 || fail "no benchmark binary ran"
echo "$ran runs"
