#!/bin/sh
# Every workload runs at a tiny scale, on both backends, and exits 0.
. "${srcdir:-.}/stat-common.sh"

names=$("$CYMEM_STAT" --list | awk '/^[a-z]/ { print $1 }')
test -n "$names" || fail "--list printed no workloads"
for w in $names; do
    test "$w" = replay && continue
    expect_status 0 "$CYMEM_STAT" --quiet --scale 0.002 --repeat 1 --threads 3 --workload "$w"
    grep -q "^$w  *malloc" "$scratch/out" || fail "$w: no malloc row"
    grep -q "^  *pool " "$scratch/out" || fail "$w: no pool row"
    grep -v "^cymem-stat: warning: .* varies widely" "$scratch/err" > "$scratch/err2"
    test ! -s "$scratch/err2" || fail "$w: wrote to stderr: $(cat "$scratch/err2")"
done

# The default output: both tables, the chart, nothing wider than 80.
expect_status 0 "$CYMEM_STAT" --scale 0.002 --repeat 2 --workload small,churn
grep -q "speed-up over malloc" "$scratch/out" || fail "no bar chart"
grep -q "int frag" "$scratch/out" || fail "no memory table"
awk 'length > 80 { bad = 1 } END { exit bad }' "$scratch/out" ||
    fail "output wider than 80 columns"
# Progress goes to a terminal only; a warning of a wide spread may come.
grep -v "^cymem-stat: warning: .* varies widely" "$scratch/err" > "$scratch/err2"
test ! -s "$scratch/err2" || fail "progress written to a non-terminal: $(cat "$scratch/err2")"
exit 0
