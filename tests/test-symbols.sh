#!/bin/sh
# test-symbols.sh - the shared library exports cymem_* functions only,
# and every function the header declares CYMEM_API.
lib=$top_builddir/lib/.libs/libcymem.so
[ -f "$lib" ] || { echo "SKIP: no shared library"; exit 77; }
command -v nm >/dev/null 2>&1 || { echo "SKIP: no nm"; exit 77; }
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ { print $3 }' | sort)
fail=0
for s in $exported; do
    case $s in
    cymem__*) echo "FAIL: internal symbol $s is exported"; fail=1 ;;
    cymem_*) ;;
    _init|_fini|_edata|_end|__bss_start) ;;
    *) echo "FAIL: exported symbol $s"; fail=1 ;;
    esac
done
for fn in $(sed -n '/^CYMEM_API/{N;s/\n/ /;p}' "$top_srcdir/include/cymem.h" |
            sed -n 's/.*[ *]\(cymem_[a-z_]*\)(.*/\1/p'); do
    echo "$exported" | grep -qx "$fn" || { echo "FAIL: $fn is not exported"; fail=1; }
done
[ $fail = 0 ] && echo "ok: $(echo "$exported" | grep -c '^cymem_') cymem_ functions, nothing else"
exit $fail
