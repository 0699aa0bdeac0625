#!/bin/sh
# The figures that explain a result: page faults, user and system time and
# the split of the time between kinds of operations for every run; call
# sites and sizes for replays; the context of the JSON; the brief's claims.
. "${srcdir:-.}/stat-common.sh"
need_python

expect_status 0 "$CYMEM_STAT" --json --repeat 1 replay "$DATA/stat-basic.mtrace"
"$PYTHON" - "$scratch/out" <<'PY' || exit 1
import json, sys
w = json.load(open(sys.argv[1]))["workloads"][0]
# 14 events under 10 callers; "(unknown)" holds the two lines without one.
assert w["call_sites"] == 10, w["call_sites"]
top = w["call_sites_by_ops"][0]
assert (top["site"], top["ops"], top["bytes"]) == ("(unknown)", 2, 0x30), top
big = w["call_sites_by_bytes"][0]
assert (big["site"], big["ops"], big["bytes"]) == ("./prog:[0x401150]", 1, 0x100), big
assert [s["ops"] for s in w["call_sites_by_ops"]] == sorted(
    (s["ops"] for s in w["call_sites_by_ops"]), reverse=True)
hist = {h["up_to"]: h["allocs"] for h in w["size_histogram"]}
assert hist == {8: 2, 16: 1, 32: 1, 64: 1}, hist   # 0x5 0x8 | 0x10 | 0x20 | 0x30
PY
expect_status 0 "$CYMEM_STAT" --repeat 1 replay "$DATA/stat-basic.mtrace"
grep -q "^replay1: 10 call sites" "$scratch/out" || fail "table: no call sites"
grep -q "^  <= 64 B  *1  *20.0% #" "$scratch/out" || fail "table: no size histogram"

expect_status 0 "$CYMEM_STAT" --json --repeat 2 --scale 0.05 --workload small,floats,prealloc,server
"$PYTHON" - "$scratch/out" <<'PY' || exit 1
import json, sys
r = json.load(open(sys.argv[1]))
assert r["schema_version"] == 2, r["schema_version"]
assert r["command_line"][1:] == ["--json", "--repeat", "2", "--scale", "0.05",
                                 "--workload", "small,floats,prealloc,server"], r["command_line"]
assert r["libc"], r["libc"]
assert r["cpu"] is None or isinstance(r["cpu"], str)
assert r["cpus"] >= 1
assert r["load"] is None or len(r["load"]) == 3
w = {x["name"]: x for x in r["workloads"]}
for name, x in w.items():
    for b, be in x["backends"].items():
        for f in ("minor_faults", "major_faults", "user_ns", "system_ns"):
            assert be[f] >= 0, (name, b, f, be[f])
        split = be["time_split"]
        parts = [split[k] for k in ("alloc", "realloc", "free", "free_all", "use")]
        if split["samples"]:
            assert abs(sum(parts) - 1) < 1e-3, (name, b, split)
        else:
            assert parts == [None] * 5, (name, b, split)
# 64 MiB of new blocks fault pages in, and floats is nearly all use.
assert w["small"]["backends"]["malloc"]["minor_faults"] > 100, w["small"]["backends"]["malloc"]
assert w["small"]["backends"]["malloc"]["time_split"]["realloc"] in (0, None)
fl = w["floats"]["backends"]["pool"]["time_split"]
if fl["samples"] >= 20:
    assert fl["use"] == max(fl[k] for k in ("alloc", "realloc", "free", "free_all", "use")), fl
PY

# The default output sets the brief's claims beside what it measured.
expect_status 0 "$CYMEM_STAT" --repeat 1 --scale 0.05 --workload prealloc,server
grep -q "19x faster than malloc" "$scratch/out" || fail "no 19x claim"
grep -q "^    prealloc here: [0-9.]*x (malloc" "$scratch/out" || fail "no prealloc figure"
grep -q "^    server here: peak RSS [0-9]*% \(less\|more\) than malloc's" "$scratch/out" ||
    fail "no server figure: $(cat "$scratch/out")"
grep -q "faults" "$scratch/out" || fail "no time split table"
expect_status 0 "$CYMEM_STAT" --quiet --repeat 1 --scale 0.05 --workload prealloc,server
grep -q "claims" "$scratch/out" && fail "--quiet printed the claims"
exit 0
