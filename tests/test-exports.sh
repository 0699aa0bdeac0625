#!/bin/sh
# test-exports.sh - the shared library exports only cymem_* functions, and
# every function the header declares CYMEM_API.  Skips without a .so.
: "${top_srcdir:=..}" "${top_builddir:=..}"
so="$top_builddir/lib/.libs/libcymem.so"
test -f "$so" || { echo "no shared library: skip"; exit 77; }
command -v nm >/dev/null 2>&1 || { echo "no nm: skip"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cymem-exports.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$so" | awk '$2 == "T" || $2 == "W" || $2 == "i" { print $3 }' \
    | sed 's/@.*//' | sort -u > "$tmp/exported"
test -s "$tmp/exported" || { echo "no exported functions found"; exit 1; }
status=0
if grep -v '^cymem_' "$tmp/exported" > "$tmp/stray"; then
    echo "exported without the cymem_ prefix:"; cat "$tmp/stray"; status=1
fi
# Drop comments and preprocessor lines, join each declaration onto one
# line, and take the first cymem_ name called with '(' in each.
perl -0777 -pe 's{/\*.*?\*/}{}gs; s{^\s*#.*$}{}mg; s{\n}{ }g; s{;}{;\n}g' \
    "$top_srcdir/include/cymem.h" | grep 'CYMEM_API' \
    | sed -n 's/^[^(]*\(CYMEM_API\)/\1/; s/.*[^a-z_0-9]\(cymem_[a-z_0-9]*\)[[:space:]]*(.*/\1/p' \
    | sort -u > "$tmp/declared"
test -s "$tmp/declared" || { echo "no CYMEM_API declarations found"; exit 1; }
if comm -23 "$tmp/declared" "$tmp/exported" > "$tmp/missing" && test -s "$tmp/missing"; then
    echo "declared CYMEM_API but not exported:"; cat "$tmp/missing"; status=1
fi
echo "$(wc -l < "$tmp/exported") exported, $(wc -l < "$tmp/declared") declared"
exit $status
