#!/bin/sh
# test-pkgconfig.sh - install into a staging directory and build a program
# exactly as a user would: cc prog.c $(pkg-config --cflags --libs cymem),
# then statically with pkg-config --static.
command -v pkg-config >/dev/null 2>&1 || { echo "SKIP: no pkg-config"; exit 77; }
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
stage=$tmp/stage
make -s -C "$top_builddir/lib" install DESTDIR="$stage" >"$tmp/log" 2>&1 &&
make -s -C "$top_builddir" install-includeHEADERS install-nodist_includeHEADERS \
    install-pkgconfigDATA DESTDIR="$stage" >>"$tmp/log" 2>&1 ||
    { cat "$tmp/log"; echo "FAIL: staged install"; exit 1; }
pc=$(find "$stage" -name cymem.pc | head -n 1)
[ -n "$pc" ] || { echo "FAIL: cymem.pc not installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$stage
cat >"$tmp/prog.c" <<'PROG'
#include <cymem.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    cymem_pool *pool = cymem_pool_new();
    char *s = pool ? cymem_pool_alloc(pool, 1, 32) : NULL;
    if (s == NULL || strcmp(cymem_version(), CYMEM_VERSION_STRING) != 0)
        return 1;
    strcpy(s, "pkg-config works");
    puts(s);
    cymem_pool_destroy(pool);
    return 0;
}
PROG
cc=${CC:-cc}
libdir=$(dirname "$(dirname "$pc")")
# shellcheck disable=SC2046
# CFLAGS: a sanitizer build's library needs the same flags in programs.
$cc ${CFLAGS-} "$tmp/prog.c" $(pkg-config --cflags --libs cymem) -o "$tmp/prog" ||
    { echo "FAIL: cannot build with pkg-config"; exit 1; }
out=$(LD_LIBRARY_PATH=$libdir "$tmp/prog") && [ "$out" = "pkg-config works" ] ||
    { echo "FAIL: the program did not run"; exit 1; }
echo "ok: shared: $out"
if [ -f "$libdir/libcymem.a" ]; then
    # shellcheck disable=SC2046
    $cc ${CFLAGS-} "$tmp/prog.c" $(pkg-config --cflags cymem) "$libdir/libcymem.a" \
        $(pkg-config --static --libs-only-other --libs-only-l cymem | sed 's/-lcymem//') \
        -o "$tmp/prog-static" && out=$("$tmp/prog-static") &&
        [ "$out" = "pkg-config works" ] || { echo "FAIL: static link"; exit 1; }
    echo "ok: static: $out"
fi
