#!/bin/sh
# rel-valgrind.sh - valgrind's memcheck sees inside pools: each bug of
# rel-bugs is reported at the user's line, a pool never destroyed leaks,
# and a program without bugs runs clean.
. "$srcdir/valgrind-common.sh"
vg_usable ./rel-bugs none
line() { grep -n "$1" "$srcdir/rel-bugs.c" | head -n 1 | cut -d: -f1; }
fail=0
for bug in "after-free:read after free" "after-reset:read after reset" \
           "after-free-big:big block read after free" \
           "after-reset-big:big block read after reset" \
           "after-destroy:read after destroy" \
           "after-destroy-large:large pool read after destroy" \
           "past-end:one byte past the end" "past-end-big:big\[10000\]" \
           "past-end-huge:huge\[200000\]"; do
    name=${bug%%:*}
    at=rel-bugs.c:$(line "${bug#*:}")
    out=$(vg ./rel-bugs "$name" 2>&1)
    if echo "$out" | grep -q 'Invalid read' && echo "$out" | grep -q "$at"; then
        echo "ok: $name reported at $at"
    else
        echo "FAIL: $name not reported at $at"; echo "$out"; fail=1
    fi
done
out=$(vg --leak-check=full ./rel-bugs leak 2>&1)
if echo "$out" | grep -q 'definitely lost'; then
    echo "ok: a pool never destroyed shows as a leak"
else
    echo "FAIL: no leak reported"; echo "$out"; fail=1
fi
if out=$(vg --leak-check=full --error-exitcode=3 ./rel-bugs none 2>&1); then
    echo "ok: no error without a bug"
else
    echo "FAIL: errors without a bug"; echo "$out"; fail=1
fi
# The debug mode (the default of --enable-debug) runs beside memcheck.
if out=$(CYMEM_DEBUG=1 vg --error-exitcode=3 ./rel-bugs none 2>&1); then
    echo "ok: no error without a bug, CYMEM_DEBUG=1"
else
    echo "FAIL: errors without a bug, CYMEM_DEBUG=1"; echo "$out"; fail=1
fi
exit $fail
