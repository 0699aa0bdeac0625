#!/bin/sh
# test-layers.sh - calls in lib/ only go down.
#
# LAYERS below lists lib/'s files from the bottom up, one layer a line; a
# file may call functions of files on lower lines only, never of its own
# line or above.  The calls are read from the library's objects (nm: each
# file's undefined symbols, resolved to the file that defines them), so a
# call made by a macro or an inline function of a header counts where it
# lands.  Data (the settings of options.c, slab.c's empty slab) is not a
# call and is not checked.  Every lib/*.c must have a place in LAYERS, and
# two rules are checked on the sources: only os.c includes <sys/mman.h>,
# only options.c reads the environment.
LAYERS='
os options
debug
tcache
backing
hashtab
pagemap ptrmap
region
arena
slab direct
invariants
stats
blocks
shared fork
pool api
'
# Upward calls allowed, as caller:symbol (none).
ALLOWED=''

# The object of each lib/*.c (objects of files since removed may linger
# in a build tree: they are not read).
objs=
for dir in "$top_builddir/lib/.libs" "$top_builddir/lib"; do
    for c in "$top_srcdir"/lib/*.c; do
        o=$dir/libcymem_la-$(basename "$c" .c).o
        [ -f "$o" ] && objs="$objs $o"
    done
    [ -n "$objs" ] && break
done
[ -n "$objs" ] || { echo "SKIP: no objects of libcymem.la"; exit 77; }
command -v nm >/dev/null 2>&1 || { echo "SKIP: no nm"; exit 77; }

fail=0
for c in "$top_srcdir"/lib/*.c; do
    f=$(basename "$c" .c)
    echo "$LAYERS" | tr ' ' '\n' | grep -qx "$f" ||
        { echo "FAIL: lib/$f.c has no layer in tests/test-layers.sh"; fail=1; }
done
for f in $(grep -l '<sys/mman.h>' "$top_srcdir"/lib/*.[ch]); do
    [ "$(basename "$f")" = os.c ] || { echo "FAIL: $f includes <sys/mman.h> (os.c only)"; fail=1; }
done
for f in $(grep -l 'getenv *(' "$top_srcdir"/lib/*.[ch]); do
    [ "$(basename "$f")" = options.c ] || { echo "FAIL: $f reads the environment (options.c only)"; fail=1; }
done

# "file type symbol" for every global symbol of every object.
edges=$(for o in $objs; do
    f=$(basename "$o" .o)
    f=${f#libcymem_la-}
    nm -P "$o" | awk -v f="$f" '$2 ~ /^[A-Z]$/ { print f, $2, $1 }'
done | awk -v layers="$LAYERS" -v allowed="$ALLOWED" '
BEGIN {
    n = split(layers, lines, "\n")
    for (i = 1; i <= n; i++) {
        k = split(lines[i], names, " ")
        for (j = 1; j <= k; j++)
            level[names[j]] = i
    }
    k = split(allowed, a, " ")
    for (j = 1; j <= k; j++)
        ok[a[j]] = 1
}
$2 == "T" { def[$3] = $1; next }
$2 == "U" { nuse++; user[nuse] = $1; sym[nuse] = $3 }
END {
    bad = 0
    for (i = 1; i <= nuse; i++) {
        from = user[i]; s = sym[i]
        if (!(s in def))
            continue                    # libc, libpthread, data
        to = def[s]
        if (to == from)
            continue
        edge[from " -> " to] = 1
        if (!(from in level) || !(to in level)) {
            printf "FAIL: %s calls %s (%s): no layer\n", from, to, s
            bad = 1
        } else if (level[to] >= level[from] && !((from ":" s) in ok)) {
            printf "FAIL: %s.c calls %s() of %s.c, which is not below it\n", from, s, to
            bad = 1
        }
    }
    for (e in edge)
        print "# " e
    exit bad
}') || fail=1
echo "$edges" | sort
exit $fail
