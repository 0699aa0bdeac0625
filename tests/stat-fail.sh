#!/bin/sh
# A workload that cannot get its memory fails: exit status 1, the others
# are still reported, and the JSON says which one failed and why.
. "${srcdir:-.}/stat-common.sh"
need_python

# 200 MB of address space cannot hold 3 million small blocks, their
# plan and their slot table.
run_limited() {
    (ulimit -v 200000 2>/dev/null || exit 77; exec "$@")
}
# A build with a sanitizer, or a run under a checker, cannot start at all
# in so little address space: nothing to learn there.
run_limited "$CYMEM_STAT" --version >/dev/null 2>&1 ||
    { echo "SKIP: cymem-stat does not start in 200 MB" >&2; exit 77; }

run_limited "$CYMEM_STAT" --json --repeat 1 --workload small --iterations 3000000 \
    > "$scratch/out" 2> "$scratch/err"
status=$?
test "$status" -ne 77 || { echo "SKIP: cannot limit the address space" >&2; exit 77; }
test "$status" -eq 1 || fail "exit status $status, expected 1: $(cat "$scratch/err")"
grep -q "workload small failed" "$scratch/err" || fail "no message: $(cat "$scratch/err")"
"$PYTHON" - "$scratch/out" <<'PY' || exit 1
import json, sys
w = json.load(open(sys.argv[1]))["workloads"]
assert len(w) == 1 and w[0]["name"] == "small", w
assert w[0]["failed"] is True and w[0]["error"], w
assert w[0]["backends"] is None, w
PY

# The table still shows what ran after the failure.
run_limited "$CYMEM_STAT" --quiet --repeat 1 --workload small --iterations 3000000 \
    replay "$DATA/stat-basic.mtrace" > "$scratch/out" 2> "$scratch/err"
test $? -eq 1 || fail "table run: expected exit status 1"
grep -q "^replay1  *malloc" "$scratch/out" || fail "replay not reported"
grep -q "^small  *FAILED" "$scratch/out" || fail "small not marked FAILED"
exit 0
