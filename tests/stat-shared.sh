#!/bin/sh
# A workload's name means the same operations in cymem-stat and in the
# benchmark (bench/): both write down every operation as they execute it
# (--trace, hidden in cymem-stat), and for every workload the two logs are
# the same, line for line, on malloc and on each kind of libcymem pool; an
# allocator that does not run a workload says so in both, for the same
# reason.
. "${srcdir:-.}/stat-common.sh"

BENCH=$top_builddir/bench/bench-pools
test -x "$BENCH" || { echo "the benchmark is not built: $BENCH" >&2; exit 99; }

tool_names=" $("$CYMEM_STAT" --list | awk '/^[a-z]/ { printf "%s ", $1 }')"
bench_names=$("$BENCH" --list | sed -n 2p)
# The workloads the product brief and doc/performance.md speak of are in both.
for w in small small-free prealloc churn server realloc threads destroy shared \
         shared-xfree; do
    case " $bench_names " in *" $w "*) ;; *) fail "$w: not a workload of the benchmark";; esac
done

# trace_of tool|bench ALLOCATOR WORKLOAD [OPTION...]: the operations, those
# of each thread together, in $scratch/trace.
trace_of() {
    front=$1 alloc=$2 w=$3
    shift 3
    rm -f "$scratch/raw"
    if test "$front" = tool; then
        expect_status 0 "$CYMEM_STAT" --trace "$scratch/raw" --allocators "$alloc" \
            --repeat 1 --quiet --scale 0.002 --threads 2 --workload "$w" "$@"
    else
        expect_status 0 "$BENCH" --trace "$scratch/raw" --scale 0.002 --threads 2 "$@" \
            "$alloc" "$w"
    fi
    sort -s -n -k1,1 "$scratch/raw" > "$scratch/trace"
}

for w in $bench_names; do
    case "$tool_names" in *" $w "*) ;; *) fail "$w: in the benchmark, not in cymem-stat";; esac
    for pair in malloc:glibc pool:libcymem pool-ts:libcymem-ts pool-shared:libcymem-shared; do
        expect_status 0 "$BENCH" --scale 0.002 --threads 2 "${pair#*:}" "$w"
        na=$(sed -n 's/.*"na":"\([^"]*\)".*/\1/p' "$scratch/out")
        if test -n "$na"; then
            expect_status 0 "$CYMEM_STAT" --allocators "malloc,${pair%%:*}" --repeat 1 \
                --quiet --scale 0.002 --threads 2 --workload "$w"
            grep -q "^ *${pair%%:*}  *n/a: $na\$" "$scratch/out" ||
                fail "$w on ${pair%%:*}: the benchmark says n/a ($na), cymem-stat does not"
            continue
        fi
        trace_of tool "${pair%%:*}" "$w"
        mv "$scratch/trace" "$scratch/tool"
        trace_of bench "${pair#*:}" "$w"
        grep -q " alloc\| aligned" "$scratch/tool" || fail "$w: no allocation in the trace"
        cmp -s "$scratch/tool" "$scratch/trace" ||
            fail "$w on ${pair%%:*}: cymem-stat and the benchmark differ:
$(diff "$scratch/tool" "$scratch/trace" | head -5)"
    done
done

# The logs say what the workloads are: small at scale 0.002 is 2,000
# blocks of 16 to 256 bytes, then the arena goes; threads is per thread.
trace_of tool pool small
test "$(grep -c '^0 alloc 0 ' "$scratch/trace")" -eq 2000 || fail "small: not 2000 blocks"
awk '$2 == "alloc" && ($5 < 16 || $5 > 256) { exit 1 }' "$scratch/trace" ||
    fail "small: a size outside 16..256"
test "$(tail -n 1 "$scratch/trace")" = "0 freeall 0 0 1 2000 0" ||
    fail "small does not end with a free-all: $(tail -n 1 "$scratch/trace")"
trace_of bench libcymem threads
test "$(grep -c '^1 alloc' "$scratch/trace")" -eq 2000 ||
    fail "threads: not 10 rounds of 200 blocks in the second thread"

# shared at scale 0.002: per thread 1,000 blocks, two rounds that free
# and replace each of them, then 1,000 frees; shared-xfree hands every
# other free to the next thread, and ends with the last drain.
trace_of bench libcymem-shared shared
for t in 0 1; do
    test "$(grep -c "^$t alloc 0 " "$scratch/trace")" -eq 3000 ||
        fail "shared: thread $t does not allocate 3,000 blocks"
    test "$(grep -c "^$t free 0 " "$scratch/trace")" -eq 3000 ||
        fail "shared: thread $t does not free 3,000 blocks"
done
awk '$2 == "alloc" && ($5 < 16 || $5 > 256) { exit 1 }' "$scratch/trace" ||
    fail "shared: a size outside 16..256"
! grep -q "handoff\|drain" "$scratch/trace" || fail "shared: a block handed over"
trace_of tool pool-shared shared-xfree
for t in 0 1; do
    test "$(grep -c "^$t handoff 0 " "$scratch/trace")" -eq 1500 ||
        fail "shared-xfree: thread $t does not hand 1,500 blocks over"
    test "$(grep -c "^$t free 0 " "$scratch/trace")" -eq 1500 ||
        fail "shared-xfree: thread $t does not free 1,500 blocks itself"
    test "$(grep "^$t drain " "$scratch/trace" | tail -n 1)" = "$t drain 0 0 0 1 0" ||
        fail "shared-xfree: thread $t does not end with the last drain"
done
# It needs a second thread, in both programs.
expect_status 2 "$BENCH" --threads 1 glibc shared-xfree
grep -q "needs two threads" "$scratch/err" || fail "bench: $(cat "$scratch/err")"
expect_status 2 "$CYMEM_STAT" --threads 1 --repeat 1 --quiet --workload shared-xfree
grep -q "needs two threads" "$scratch/err" || fail "cymem-stat: $(cat "$scratch/err")"

# And the comparison notices a difference: another seed, other sizes.
trace_of tool pool small --seed 2
mv "$scratch/trace" "$scratch/tool"
trace_of bench libcymem small
! cmp -s "$scratch/tool" "$scratch/trace" || fail "--seed 2 changed nothing"
exit 0
