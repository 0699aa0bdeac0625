#!/bin/sh
# rel-regress.sh - the regression programs for faults that only a memory
# checker sees, run under valgrind's memcheck, alone and together with the
# debug mode (CYMEM_DEBUG=1): any error, or a leak, fails.
#
#   rel-exit     pools destroyed and made by thread-exit destructors that
#                run before and after libcymem's own, and after fork()
#   rel-backing  a backing allocator that writes into the memory it gets
#                back, with every path that gives memory back
#
# make check also runs both programs natively, and CI's sanitizer build
# runs them with AddressSanitizer.
. "$srcdir/valgrind-common.sh"
vg_usable ./rel-bugs none

fail=0
for prog in rel-exit rel-backing; do
    for debug in 0 1; do
        if out=$(CYMEM_DEBUG=$debug vg --error-exitcode=3 --leak-check=full \
                 --errors-for-leak-kinds=definite,indirect --trace-children=yes \
                 "./$prog$EXEEXT" 2>&1); then
            echo "ok: $prog under memcheck, CYMEM_DEBUG=$debug"
        else
            echo "FAIL: $prog under memcheck, CYMEM_DEBUG=$debug"
            echo "$out" | head -n 60
            fail=1
        fi
    done
done
exit $fail
