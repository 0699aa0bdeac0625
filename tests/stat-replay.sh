#!/bin/sh
# replay: a shipped mtrace log gives the counts worked out by hand, and
# every kind of line glibc's tracer writes is accepted.
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
assert r["pool_zero_fills"] is True and r["malloc_zero_fills"] is False, r
w = r["workloads"]
assert len(w) == 1, w
w = w[0]
assert w["name"] == "replay" and w["source"].endswith("stat-basic.mtrace"), w
assert (w["allocs"], w["frees"], w["reallocs"]) == (5, 5, 2), w
assert (w["trace_runs"], w["failed_allocs"]) == (1, 1), w
assert w["count"] == 12, w
for b in ("malloc", "pool"):
    be = w["backends"][b]
    assert be["ops"] == 12, (b, be)
    assert be["requested_bytes"] == 341, (b, be)
    # A backend may not measure its memory (malloc on a C library without
    # malloc_usable_size, or without mallinfo2 for the reserved bytes, as
    # musl): then those figures are null.
    if be["memory_measured"]:
        assert be["requested_bytes"] <= be["used_bytes"], (b, be)
    else:
        assert be["used_bytes"] is None, (b, be)
    if be["reserved_measured"]:
        assert be["used_bytes"] <= be["reserved_bytes"], (b, be)
    else:
        assert be["reserved_bytes"] is None, (b, be)
assert w["backends"]["pool"]["memory_measured"], w
PY

# A trace written by hand, its addresses counted from 0x1: any address
# but (nil) names a block, a realloc moves one onto 0x1 again.
printf '+ 0x1 0x10\n+ 0x2 0x20\n- 0x1\n< 0x2\n> 0x1 0x40\n+ 0x3 0x8\n- 0x1\n- 0x3\n' \
    > "$scratch/hand.mtrace"
expect_status 0 "$CYMEM_STAT" --json --repeat 1 replay "$scratch/hand.mtrace"
"$PYTHON" - "$scratch/out" <<'PY' || exit 1
import json, sys
w = json.load(open(sys.argv[1]))["workloads"][0]
assert (w["allocs"], w["frees"], w["reallocs"]) == (3, 3, 1), w
assert w["backends"]["pool"]["requested_bytes"] == 0x40 + 0x8, w
PY

# Two traces in one run: the table numbers the replays and names the file
# of each.
cp "$DATA/stat-basic.mtrace" "$scratch/second.mtrace"
expect_status 0 "$CYMEM_STAT" --quiet --repeat 1 replay "$DATA/stat-basic.mtrace" \
    "$scratch/second.mtrace"
# Four tables (time, memory, mapped memory, where the time went), a malloc
# row of each replay in each.
test "$(grep -c '^replay[12]  *malloc' "$scratch/out")" -eq 8 || fail "two replays: $(cat "$scratch/out")"
grep -q "^replay1: .*stat-basic.mtrace" "$scratch/out" || fail "replay1 file: $(cat "$scratch/out")"
grep -q "^replay2: .*second.mtrace" "$scratch/out" || fail "replay2 file: $(cat "$scratch/out")"
grep -q "zero-fills" "$scratch/out" && fail "--quiet printed the notes"
expect_status 0 "$CYMEM_STAT" --repeat 1 replay "$DATA/stat-basic.mtrace"
grep -q "pool zero-fills every block" "$scratch/out" || fail "no word on zero-filling"

# Lines cut short where a process died are not replayed, only counted,
# and the log is said to be incomplete: a last line without its newline
# (whatever is left of it: "+ 0x2000 0x2" of "+ 0x2000 0x20"), a line
# that "= Start" or "= End" follows on the same line, the '<' of a
# realloc without its '>'.
for t in '= Start\n+ 0x1000 0x10\n+ 0x2000 0x2' \
         '= Start\n+ 0x1000 0x10\n@ ./a.out:[0x= End\n' \
         '= Start\n+ 0x1000 0x10\n+ 0x2000 0x20= Start\n+ 0x3000 0x8\n' \
         '= Start\n+ 0x1000 0x10\n< 0x1000\n= End\n' \
         '= Start\n+ 0x1000 0x10\n@ ./a.out:[0x401150] < 0x1000\n'; do
    printf "$t" > "$scratch/cut.mtrace"
    expect_status 0 "$CYMEM_STAT" --json --repeat 1 replay "$scratch/cut.mtrace"
    grep -q "note: .*cut.mtrace is incomplete: 1 line cut short" "$scratch/err" ||
        fail "cut '$t': $(cat "$scratch/err")"
    "$PYTHON" - "$scratch/out" "$t" <<'PY' || exit 1
import json, sys
w = json.load(open(sys.argv[1]))["workloads"][0]
assert w["cut_lines"] == 1 and w["reallocs"] == 0, (sys.argv[2], w)
assert w["allocs"] == (2 if "0x3000" in sys.argv[2] else 1), (sys.argv[2], w)
assert w["backends"]["pool"]["requested_bytes"] == 16, (sys.argv[2], w)
PY
    expect_status 0 "$CYMEM_STAT" --quiet --repeat 1 replay "$scratch/cut.mtrace"
    grep -q "^replay1: .*incomplete: 1 line cut short)" "$scratch/out" ||
        fail "cut '$t', table: $(cat "$scratch/out")"
    # Through a pipe, whose lines are checked as they are copied, alike.
    { cat "$scratch/cut.mtrace" |
          expect_status 0 "$CYMEM_STAT" --quiet --repeat 1 replay /dev/stdin; } || exit 1
    grep -q "^replay1: /dev/stdin .*incomplete: 1 line cut short)" "$scratch/out" ||
        fail "cut '$t', a pipe: $(cat "$scratch/out")"
done
# A whole log says nothing of the kind; a log cut before its first
# allocation's newline holds nothing to replay.
expect_status 0 "$CYMEM_STAT" --json --repeat 1 replay "$DATA/stat-basic.mtrace"
grep -q '"cut_lines": 0' "$scratch/out" || fail "cut_lines of a whole log"
grep -q "incomplete" "$scratch/err" && fail "a whole log said incomplete"
printf '= Start\n+ 0x1000 0x10' > "$scratch/nonl.mtrace"
expect_status 2 "$CYMEM_STAT" replay "$scratch/nonl.mtrace"
grep -q "no allocation to replay" "$scratch/err" || fail "cut first line: $(cat "$scratch/err")"

# What glibc writes for malloc(0) ("0" is %#lx of zero), a failed malloc
# and a failed realloc(NULL, n) ("(nil)" is %p of NULL), free(NULL), and a
# block over 4 GiB (the replay touches its first and last page only).
# Two runs, each "= Start" ... "= End": the second reallocs onto an
# address still live at the end of the first, which is no clash, since
# the first run's blocks ended with it.
cat > "$scratch/glibc.mtrace" <<'TRACE'
= Start
@ ./a.out:[0x401136] + 0x4052a0 0
@ ./a.out:[0x401144] + (nil) 0x7fffffffffff
! (nil) 0x40
- (nil)
+ 0x4052c0 0x100000001
@ ./a.out:[0x401150] < 0x4052a0
@ ./a.out:[0x401150] > 0x4052e0 0x18
= End
= Start
+ 0x4052a0 0x10
< 0x4052a0
> 0x4052e0 0x30
= End
TRACE
if test "$(elf_class "$builddir/stat-alloc")" = 01; then
    # A 32-bit host cannot hold a 4 GiB block: replay a smaller one.
    sed -i 's/0x100000001/0x1001/' "$scratch/glibc.mtrace"
    big=4097
else
    big=4294967297
fi
expect_status 0 "$CYMEM_STAT" --json --repeat 1 replay "$scratch/glibc.mtrace"
"$PYTHON" - "$scratch/out" "$big" <<'PY' || exit 1
import json, sys
w = json.load(open(sys.argv[1]))["workloads"][0]
big = int(sys.argv[2])
assert w["trace_runs"] == 2 and w["failed_allocs"] == 2, w
assert (w["allocs"], w["reallocs"], w["frees"]) == (3, 2, 3), w
# The peak is the first run's: its blocks are gone before the second.
for b in ("malloc", "pool"):
    assert w["backends"][b]["requested_bytes"] == big + 0x18, (b, w)
PY
# Without the boundary the same lines are a clash of live addresses.
grep -v '^=' "$scratch/glibc.mtrace" > "$scratch/joined.mtrace"
expect_status 2 "$CYMEM_STAT" replay "$scratch/joined.mtrace"
grep -q "joined.mtrace:10: .*another live block" "$scratch/err" || fail "joined: $(cat "$scratch/err")"

# A caller's file name may hold "] " (and '[', ':'): the address is closed
# by the last "] " of the line.
cat > "$scratch/bracket.mtrace" <<'TRACE'
= Start
@ ./x] y/prog:[0x401136] + 0x4052a0 0x10
@ ./x] y/prog:(main+0x12)[0x401150] + 0x4052c0 0x20
@ /a [b] c/lib.so:[0x7f00] - 0x4052a0
= End
TRACE
expect_status 0 "$CYMEM_STAT" --json --repeat 1 replay "$scratch/bracket.mtrace"
"$PYTHON" - "$scratch/out" <<'PY' || exit 1
import json, sys
w = json.load(open(sys.argv[1]))["workloads"][0]
assert (w["allocs"], w["frees"]) == (2, 2), w
sites = sorted(s["site"] for s in w["call_sites_by_ops"])
assert sites == ["./x] y/prog:(main+0x12)[0x401150]", "./x] y/prog:[0x401136]",
                 "/a [b] c/lib.so:[0x7f00]"], sites
PY

# File names and callers are bytes: the JSON stays valid UTF-8 whatever
# they hold, each byte outside well-formed UTF-8 written as the lone
# surrogate \udcXX (Python's surrogateescape), well-formed text as is.
name=$(printf 'caf\351 \303\251 \360\237\230\200 \300\257 \355\240\200 \342\202.mtrace')
printf '= Start\n@ ./caf\351:[0x401136] + 0x4052a0 0x10\n= End\n' > "$scratch/$name"
expect_status 0 "$CYMEM_STAT" --json --repeat 1 replay "$scratch/$name"
"$PYTHON" - "$scratch/out" "$scratch/$name" <<'PY' || exit 1
import json, os, sys
r = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
want = os.fsencode(sys.argv[2])
w = r["workloads"][0]
assert os.fsencode(w["source"]) == want, w["source"]
assert os.fsencode(r["command_line"][-1]) == want, r["command_line"]
assert os.fsencode(w["call_sites_by_ops"][0]["site"]) == b"./caf\xe9:[0x401136]", w
assert "\u00e9" in w["source"] and "\U0001f600" in w["source"], w["source"]
PY

# A trace with nothing to replay is bad input, not a report of noise.
for t in '= Start\n= End\n' '' '= Start\n- 0x1000\n+ (nil) 0x10\n= End\n'; do
    printf "$t" > "$scratch/empty.mtrace"
    expect_status 2 "$CYMEM_STAT" --quiet --repeat 1 replay "$scratch/empty.mtrace"
    grep -q "empty.mtrace: no allocation to replay" "$scratch/err" ||
        fail "empty trace '$t': $(cat "$scratch/err")"
    test ! -s "$scratch/out" || fail "empty trace '$t': a report"
done

# So is a recording none of whose processes allocated anything: there is
# no total to make.  One process that did is enough.
printf '= Start\n= End\n' > "$scratch/none.log.10"
printf '= Start\n- 0x1000\n' > "$scratch/none.log.11"
expect_status 2 "$CYMEM_STAT" --quiet --repeat 1 replay "$scratch/none.log"
grep -q "none.log: no allocation to replay (2 logs" "$scratch/err" ||
    fail "empty recording: $(cat "$scratch/err")"
test ! -s "$scratch/out" || fail "empty recording: a report"
printf '= Start\n+ 0x1000 0x10\n= End\n' > "$scratch/none.log.12"
expect_status 0 "$CYMEM_STAT" --quiet --repeat 1 replay "$scratch/none.log"

# A trace read from a pipe (standard input, a shell's <(...)) is read
# once: replay keeps a copy, since it checks the trace before it runs it.
cat "$DATA/stat-basic.mtrace" | expect_status 0 "$CYMEM_STAT" --json --repeat 1 replay /dev/stdin
"$PYTHON" - "$scratch/out" <<'PY' || exit 1
import json, sys
w = json.load(open(sys.argv[1]))["workloads"][0]
assert w["source"] == "/dev/stdin" and not w["failed"], w
assert (w["allocs"], w["frees"], w["reallocs"]) == (5, 5, 2), w
PY
mkfifo "$scratch/fifo"
cat "$DATA/stat-basic.mtrace" > "$scratch/fifo" &
expect_status 0 "$CYMEM_STAT" --quiet --repeat 1 replay "$scratch/fifo" "$DATA/stat-basic.mtrace"
wait
test "$(grep -c '^replay[12]  *malloc' "$scratch/out")" -eq 8 || fail "a fifo: $(cat "$scratch/out")"

# --output naming a trace would destroy it: refused, the trace intact.
cp "$DATA/stat-basic.mtrace" "$scratch/t.log"
expect_status 2 "$CYMEM_STAT" -o "$scratch/t.log" replay "$DATA/stat-basic.mtrace" "$scratch/t.log"
grep -q "is the trace" "$scratch/err" || fail "-o trace: $(cat "$scratch/err")"
cmp -s "$DATA/stat-basic.mtrace" "$scratch/t.log" || fail "-o trace: the trace was changed"
ln -s t.log "$scratch/link.log"
expect_status 2 "$CYMEM_STAT" -o "$scratch/link.log" replay "$scratch/t.log"
cmp -s "$DATA/stat-basic.mtrace" "$scratch/t.log" || fail "-o link: the trace was changed"
# So is the name of a recording replayed, however written: a report there
# would hide its logs from the next replay of that name.
mkdir "$scratch/rec"
cp "$DATA/stat-basic.mtrace" "$scratch/rec/r.log.41"
for o in "$scratch/rec/r.log" "$scratch/rec/../rec/r.log"; do
    expect_status 2 "$CYMEM_STAT" -o "$o" replay "$scratch/rec/r.log"
    grep -q "is the trace '.*r.log'" "$scratch/err" || fail "-o recording: $(cat "$scratch/err")"
    test ! -e "$scratch/rec/r.log" || fail "-o recording $o: the report was written"
done
expect_status 0 "$CYMEM_STAT" -o "$scratch/rec/r.txt" --repeat 1 replay "$scratch/rec/r.log"
# A recording whose name is also a directory's (record -o d, d a
# directory, writes d.PID beside it) is replayed as the recording; a
# directory without logs is an error that says what it is.
mkdir "$scratch/rec/r.log"
expect_status 0 "$CYMEM_STAT" --json --repeat 1 replay "$scratch/rec/r.log"
"$PYTHON" - "$scratch/out" <<'PY' || exit 1
import json, sys
w = json.load(open(sys.argv[1]))["workloads"]
assert [x["name"] for x in w] == ["replay", "total"], w
assert w[0]["source"].endswith("r.log.41") and not w[1]["failed"], w
PY
for d in "$scratch/rec" "$scratch/rec/r.log/"; do
    expect_status 2 "$CYMEM_STAT" --repeat 1 replay "$d"
    grep -q "is a directory" "$scratch/err" || fail "replay $d: $(cat "$scratch/err")"
done

# The address table follows the live blocks, not every address a trace
# names: 200,000 blocks, each freed before the next, at distinct addresses
# and at seven addresses in turn, replay in about the same memory (the
# table held every address's tombstone, twice the memory).
"$PYTHON" - "$scratch" <<'PY' || exit 1
import sys
for name, at in (("distinct", lambda i: 0x10000 + i * 16),
                 ("reused", lambda i: 0x10000 + i % 7 * 16)):
    with open("%s/%s.mtrace" % (sys.argv[1], name), "w") as f:
        f.write("= Start\n")
        for i in range(1, 200001):
            f.write("@ ./x:[0x1] + %#x 0x20\n@ ./x:[0x1] - %#x\n" % (at(i), at(i)))
        f.write("= End\n")
PY
for name in distinct reused; do
    "$PYTHON" - "$CYMEM_STAT" "$scratch/$name.mtrace" >"$scratch/$name.rss" <<'PY' || exit 1
import resource, subprocess, sys
subprocess.run([sys.argv[1], "-q", "--repeat", "1", "replay", sys.argv[2]],
               stdout=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
done
distinct=$(cat "$scratch/distinct.rss") reused=$(cat "$scratch/reused.rss")
if [ "$distinct" -gt $((reused * 13 / 10)) ]; then
    echo "FAIL: distinct addresses replay in $distinct KiB, seven in $reused KiB" >&2
    exit 1
fi

# The table is read on a terminal: a control byte in a trace's name or in
# a caller it names is shown as \xNN, never written as it is.
esc=$(printf '\033')
"$PYTHON" - "$scratch/a${esc}[1mb.mtrace" <<'PY' || exit 1
import sys
with open(sys.argv[1], "w") as f:
    f.write("= Start\n")
    for i in range(1, 200):
        f.write("@ ./x\x1b[31mred:[0x1] + %#x 0x20\n" % (0x10000 + i * 32))
    f.write("= End\n")
PY
expect_status 0 "$CYMEM_STAT" --repeat 1 replay "$scratch/a${esc}[1mb.mtrace"
if grep -q "$esc" "$scratch/out"; then
    fail "a control byte reaches the table: $(od -c "$scratch/out" | grep 033 | head -n 2)"
fi
grep -q 'a\\x1b\[1mb.mtrace' "$scratch/out" || fail "the trace's name: $(cat "$scratch/out")"
grep -q 'x\\x1b\[31mred:\[0x1\]' "$scratch/out" || fail "the caller: $(cat "$scratch/out")"

# A run boundary frees the blocks of the run that ends, and looks at the
# slots that run used, not at every slot of the trace: after a run of
# three blocks, a run of one frees slot 0 alone; and a trace that ends
# with "= End" has nothing left to free after it (a pool was reset once
# more, in the time).  --trace writes the operations the runs execute.
printf '= Start\n+ 0x10 0x10\n+ 0x20 0x10\n+ 0x30 0x10\n= End\n= Start\n+ 0x10 0x20\n= End\n' \
    > "$scratch/runs.mtrace"
rm -f "$scratch/runs.ops"
expect_status 0 "$CYMEM_STAT" --trace "$scratch/runs.ops" --allocators malloc --repeat 1 \
    --quiet replay "$scratch/runs.mtrace"
test "$(grep freeall "$scratch/runs.ops" | cut -d ' ' -f 4-6 | tr '\n' ,)" = "0 0 3,0 0 1," ||
    fail "the free-alls of two runs: $(cat "$scratch/runs.ops")"

exit 0
