#!/bin/sh
# check-examples.sh - the program in the EXAMPLES section of every page
# compiles against this build of libcymem and runs with exit status 0.
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
lib=$top_builddir/lib/.libs
[ -f "$lib/libcymem.a" ] || [ -f "$lib/libcymem.so" ] ||
    { echo "SKIP: the library is not built"; exit 77; }
fail=0 n=0
for page in "$srcdir"/*.3; do
    grep -q '^\.EX' "$page" || continue
    name=$(basename "$page" .3)
    # The program between .EX and .EE, with the roff escapes undone.
    sed -n '/^\.EX/,/^\.EE/p' "$page" | sed '1d;$d' |
        sed -e 's/\\e/\\/g' -e 's/\\-/-/g' -e 's/\\(dq/"/g' >"$tmp/$name.c"
    if ! ${CC:-cc} ${CFLAGS-} -std=c99 -Wall -Werror -I"$top_srcdir/include" -I"$top_builddir/include" \
            "$tmp/$name.c" -L"$lib" -lcymem -lpthread -o "$tmp/$name" 2>"$tmp/err"; then
        echo "FAIL: $name: the example does not compile"; cat "$tmp/err"; fail=1
    elif ! LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$tmp/$name" >/dev/null; then
        echo "FAIL: $name: the example does not run"; fail=1
    else
        n=$((n + 1))
    fi
done
echo "ok: $n examples built and ran"
exit $fail
