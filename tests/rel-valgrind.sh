#!/bin/sh
# rel-valgrind.sh - valgrind's memcheck sees inside pools: each bug of
# rel-bugs is reported at the user's line, a pool never destroyed leaks,
# and a program without bugs runs clean.
command -v valgrind >/dev/null 2>&1 || { echo "SKIP: valgrind is not installed"; exit 77; }
grep -q '^#define HAVE_VALGRIND_MEMCHECK_H 1' "$top_builddir/config.h" ||
    { echo "SKIP: built without valgrind/memcheck.h"; exit 77; }
case "${CFLAGS-}" in *-fsanitize*) echo "SKIP: a sanitizer build"; exit 77 ;; esac

# --alignment=16: on x86-32 valgrind's malloc aligns to 8 bytes, less than
# glibc's and musl's 16 (alignof(max_align_t)), which the library relies on.
vg() { "$top_builddir/libtool" --mode=execute valgrind -q --alignment=16 "$@"; }
# Valgrind may be unable to run this build's programs at all: a 32-bit
# program on a machine without the i386 libc debug symbols (Debian:
# libc6-dbg:i386), or a libc valgrind has no redirections for.
if ! out=$(vg --error-exitcode=3 ./rel-bugs none 2>&1) &&
    echo "$out" | grep -q -e 'Fatal error at startup' -e 'cannot continue' \
        -e 'wrong ELF class' -e 'cannot execute'; then
    echo "SKIP: valgrind cannot run this build's programs:"
    echo "$out" | grep -m 3 -e 'valgrind:' -e 'Fatal' -e 'package'
    exit 77
fi
line() { grep -n "$1" "$srcdir/rel-bugs.c" | head -n 1 | cut -d: -f1; }
fail=0
for bug in "after-free:read after free" "after-reset:read after reset" \
           "past-end:one byte past the end" "past-end-big:big\[10000\]"; do
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
# The debug mode (the default of --enable-debug) stands aside for memcheck.
if out=$(CYMEM_DEBUG=1 vg --error-exitcode=3 ./rel-bugs none 2>&1); then
    echo "ok: no error without a bug, CYMEM_DEBUG=1"
else
    echo "FAIL: errors without a bug, CYMEM_DEBUG=1"; echo "$out"; fail=1
fi
exit $fail
