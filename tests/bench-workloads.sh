#!/bin/sh
# Every benchmark binary runs every allocator on every workload, contents
# verified, at a small scale: the run succeeds, or the allocator says why
# it cannot run the workload ("na").  The workloads with threads run with
# 2 and 4: each thread's arenas are made and destroyed by that thread
# (mimalloc's heaps allow nothing else: its adapter aborts on a destroy
# from another thread).  In a build with AddressSanitizer, no adapter
# leaks.
. "${srcdir:-.}/stat-common.sh"

ran=0
for bin in bench-pools bench-mimalloc bench-jemalloc bench-tcmalloc; do
    BENCH=$top_builddir/bench/$bin
    test -x "$BENCH" || continue
    allocs=$("$BENCH" --list | sed -n 1p)
    works=$("$BENCH" --list | sed -n 2p)
    for a in $allocs; do
        for w in $works; do
            case $w in
            threads|shared|shared-xfree) counts="2 4" ;;
            *) counts=1 ;;
            esac
            for t in $counts; do
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
