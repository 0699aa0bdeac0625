#!/bin/sh
# rel-asan.sh - AddressSanitizer sees inside pools: rel-bugs and the
# library built with -fsanitize=address report each bug at the user's line.
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
cc=${CC:-cc}
echo 'int main(void){return 0;}' >"$tmp/t.c"
$cc -fsanitize=address "$tmp/t.c" -o "$tmp/t" 2>/dev/null && "$tmp/t" ||
    { echo "SKIP: $cc cannot build with -fsanitize=address"; exit 77; }
$cc -g -O0 -fsanitize=address -fno-omit-frame-pointer -DCYMEM_NO_VALGRIND \
    -I"$top_builddir" -I"$top_builddir/include" -I"$top_srcdir/include" -I"$top_srcdir/lib" \
    "$srcdir/rel-bugs.c" "$top_srcdir"/lib/*.c -lpthread -o "$tmp/rel-bugs" ||
    { echo "FAIL: cannot build the ASan program"; exit 1; }

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
    out=$(ASAN_OPTIONS=detect_leaks=0 "$tmp/rel-bugs" "$name" 2>&1)
    if echo "$out" | grep -q 'ERROR: AddressSanitizer' && echo "$out" | grep -q "$at"; then
        echo "ok: $name reported at $at"
    else
        echo "FAIL: $name not reported at $at"; echo "$out"; fail=1
    fi
done
if out=$(ASAN_OPTIONS=detect_leaks=1 "$tmp/rel-bugs" none 2>&1); then
    echo "ok: no error without a bug"
else
    echo "FAIL: errors without a bug"; echo "$out"; fail=1
fi
exit $fail
