#!/bin/sh
# rel-debug.sh - the debug mode (CYMEM_DEBUG): a write past a block's end
# is reported when the block is freed or its pool reset or destroyed, a
# write after free when the block is reused; CYMEM_DEBUG=abort aborts; no
# report without a bug.
case "${CFLAGS-}" in
*-fsanitize=address*) echo "SKIP: AddressSanitizer does this job in this build"; exit 77 ;;
esac
fail=0
check() {   # check MODE BUG EXPECTED
    out=$(CYMEM_DEBUG=$1 ./rel-bugs "$2" 2>&1)
    if echo "$out" | grep -q "$3"; then
        echo "ok: $2 gives '$3'"
    else
        echo "FAIL: $2 did not give '$3'"; echo "$out"; fail=1
    fi
}
check 1 overflow-write 'libcymem: write past the end at byte 44 of block'
check 1 overflow-write-huge 'libcymem: write past the end at byte 200001 of block'
check 1 overflow-destroy 'libcymem: write past the end at byte 45 of block'
check 1 overflow-child 'libcymem: write past the end at byte 26 of block'
check 1 write-after-free 'libcymem: write after free at byte 20 of block'
if CYMEM_DEBUG=abort ./rel-bugs overflow-write >/dev/null 2>&1; then
    echo "FAIL: CYMEM_DEBUG=abort did not abort"; fail=1
else
    echo "ok: CYMEM_DEBUG=abort aborts"
fi
out=$(CYMEM_DEBUG=1 ./rel-bugs none 2>&1)
if echo "$out" | grep -q libcymem; then
    echo "FAIL: a report without a bug"; echo "$out"; fail=1
else
    echo "ok: no report without a bug"
fi
exit $fail
