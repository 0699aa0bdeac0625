#!/bin/sh
# --csv: a header row, then one row per workload and backend.
. "${srcdir:-.}/stat-common.sh"

header='workload,source,backend,runs,ops,time_ns,time_ns_min,time_ns_max,ns_per_op,ops_per_sec,speedup,peak_rss_bytes,requested_bytes,used_bytes,reserved_bytes,metadata_bytes,internal_fragmentation,external_fragmentation,peak_reserved_bytes,mapped_bytes,untouched_bytes'

expect_status 0 "$CYMEM_STAT" --csv --scale 0.002 --repeat 1 --workload small,churn,aligned
test "$(head -n 1 "$scratch/out")" = "$header" || fail "CSV header: $(head -n 1 "$scratch/out")"
test "$(wc -l < "$scratch/out")" -eq 7 || fail "CSV: expected 7 lines"
awk -F, 'NR > 1 && NF != 21 { exit 1 }' "$scratch/out" || fail "CSV: rows of another width"
# Rows in pairs, malloc first, with equal operation counts.
awk -F, 'NR > 1 { if (NR % 2 == 0) { b = $3; o = $5; w = $1 }
                  else if (b != "malloc" || $3 != "pool" || $5 != o || $1 != w) exit 1 }' \
    "$scratch/out" || fail "CSV: rows not paired"
grep -q '^small,,pool,1,' "$scratch/out" || fail "CSV: no small pool row"

# An unknown figure is an empty field, never "nan": the speed-up over a
# first allocator that does not run the workload.
expect_status 0 "$CYMEM_STAT" --csv --scale 0.002 --repeat 1 --threads 2 \
    --workload shared-xfree --allocators pool,malloc
grep -q -i "nan" "$scratch/out" && fail "CSV with nan: $(cat "$scratch/out")"
awk -F, 'NR == 2 && !($3 == "malloc" && $11 == "" && NF == 21) { exit 1 }' "$scratch/out" ||
    fail "CSV: the unknown speed-up is not an empty field: $(cat "$scratch/out")"

# Replay rows name their trace.
expect_status 0 "$CYMEM_STAT" --csv --repeat 1 replay "$DATA/stat-basic.mtrace"
grep -q ",pool,1,12," "$scratch/out" || fail "CSV replay row: $(cat "$scratch/out")"
exit 0
