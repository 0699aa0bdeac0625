#!/bin/sh
# replay: a shipped mtrace log gives the counts worked out by hand.
. "${srcdir:-.}/stat-common.sh"
need_python

# stat-basic.mtrace: 5 allocations (one the strdup of a library caller),
# 2 reallocs (one moves, one stays), 2 frees, a free of memory from before
# tracing (skipped), a failed realloc (nothing happens), a blank line, and
# 3 blocks left live (freed at the end).  Live bytes peak at
# 0x100 + 0x20 + 0x30 + 0x5 = 341 after the first realloc.
expect_status 0 "$CYMEM_STAT" --json --repeat 2 replay "$DATA/stat-basic.mtrace"
"$PYTHON" - "$scratch/out" <<'PY' || exit 1
import json, sys
r = json.load(open(sys.argv[1]))
w = r["workloads"]
assert len(w) == 1, w
w = w[0]
assert w["name"] == "replay" and w["source"].endswith("stat-basic.mtrace"), w
assert (w["allocs"], w["frees"], w["reallocs"]) == (5, 5, 2), w
assert w["count"] == 12, w
for b in ("malloc", "pool"):
    be = w["backends"][b]
    assert be["ops"] == 12, (b, be)
    assert be["requested_bytes"] == 341, (b, be)
    assert be["requested_bytes"] <= be["used_bytes"] <= be["reserved_bytes"], (b, be)
PY

# Two traces in one run, the table names the workload.
expect_status 0 "$CYMEM_STAT" --quiet --repeat 1 replay "$DATA/stat-basic.mtrace" "$DATA/stat-basic.mtrace"
test "$(grep -c '^replay' "$scratch/out")" -eq 4 || fail "two replays: $(cat "$scratch/out")"

# A log without a final newline and with nothing but Start still works.
printf '= Start\n+ 0x1000 0x10' > "$scratch/nonl.mtrace"
expect_status 0 "$CYMEM_STAT" --json --repeat 1 replay "$scratch/nonl.mtrace"
grep -q '"allocs": 1, "frees": 1, "reallocs": 0' "$scratch/out" || fail "no final newline"
printf '= Start\n= End\n' > "$scratch/empty.mtrace"
expect_status 0 "$CYMEM_STAT" --quiet --repeat 1 replay "$scratch/empty.mtrace"
exit 0
