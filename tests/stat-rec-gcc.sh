#!/bin/sh
# record gcc -c: the driver starts the compiler proper and the assembler,
# whose logs are the bulk of the work.
. "${srcdir:-.}/stat-common.sh"
need_python
need_record

cd "$scratch" || exit 99
printf 'int twice(int x) { return 2 * x; }\n' > x.c
record_program gcc -O2 -c x.c
test -f x.o || fail "gcc made no x.o"
test "$nlogs" -ge 3 || fail "gcc -c: $nlogs logs (driver, compiler, assembler expected)"
# The driver is not the only one that allocates.
"$PYTHON" - "$scratch"/gcc.log.* <<'PY' || exit 1
import sys
events = sorted(sum(1 for l in open(f) if not l.startswith("=")) for f in sys.argv[1:])
assert events[-1] > 2 * events[0] and sum(events[:-1]) > 0, events
PY
replay_recording gcc
exit 0
