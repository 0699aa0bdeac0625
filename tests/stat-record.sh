#!/bin/sh
# record: a program run under glibc's tracer leaves a log that replays.
. "${srcdir:-.}/stat-common.sh"
need_python

: "${builddir:=.}"
CYMEM_STAT_PRELOAD=$(cd "$top_builddir/tools" && pwd)/.libs/cymem-mtrace.so
export CYMEM_STAT_PRELOAD
test -f "$CYMEM_STAT_PRELOAD" || { echo "SKIP: no cymem-mtrace.so" >&2; exit 77; }
# A module or program built with a sanitizer cannot be preloaded into
# other programs, nor run after glibc's tracer: that build tests nothing here.
for f in "$CYMEM_STAT_PRELOAD" "$builddir/stat-alloc"; do
    if { ldd "$f"; nm -D "$f"; } 2>/dev/null | grep -q -e 'lib[a-z]*san\.so' -e '__[a-z]*san_'; then
        echo "SKIP: $f is built with a sanitizer" >&2
        exit 77
    fi
done

# Programs of the build itself: of its ELF class whatever the compiler
# (a -m32 build cannot preload its module into the system's programs).
ALLOC=$builddir/stat-alloc
expect_status 0 "$CYMEM_STAT" record -o "$scratch/alloc.log" -- "$ALLOC"
if grep -q "cannot load" "$scratch/err"; then
    echo "SKIP: libc_malloc_debug.so.0 is not available" >&2
    exit 77
fi
test -f "$scratch/alloc.log" || fail "record: no log"
grep -q "^= Start" "$scratch/alloc.log" || fail "record: no '= Start'"
grep -q "replay" "$scratch/err" || fail "record: no hint to replay"

# A program of ours with known allocations: 100 mallocs, 10 reallocs.
expect_status 0 "$CYMEM_STAT" --json --repeat 1 replay "$scratch/alloc.log"
"$PYTHON" - "$scratch/out" <<'PY' || exit 1
import json, sys
w = json.load(open(sys.argv[1]))["workloads"][0]
assert w["allocs"] >= 100 and w["reallocs"] >= 10, w
assert w["backends"]["malloc"]["ops"] == w["backends"]["pool"]["ops"], w
PY

# The recorded program's failure is reported, with status 1.
expect_status 1 "$CYMEM_STAT" record -o "$scratch/fail.log" -- "$ALLOC" --fail
grep -q "exited with status 3" "$scratch/err" || fail "record failing: $(cat "$scratch/err")"
expect_status 1 "$CYMEM_STAT" record -o "$scratch/none.log" -- "$scratch/no-such-program"

# Programs the recorded one starts do not overwrite its log.
SH=$(system_program sh) || exit 77
expect_status 0 "$CYMEM_STAT" record -o "$scratch/sh.log" -- "$SH" -c "$ALLOC; true"
grep -q "^= Start" "$scratch/sh.log" || fail "record sh: no log"
exit 0
