#!/bin/sh
# test-pc-install.sh - install into a staging directory and build a small
# program exactly as a user would, with cc and pkg-config; link it against
# the shared library and run it, then statically against the archive.
: "${top_builddir:=..}" "${CC:=cc}"
command -v pkg-config >/dev/null 2>&1 || { echo "no pkg-config: skip"; exit 77; }
command -v "${CC%% *}" >/dev/null 2>&1 || { echo "no C compiler: skip"; exit 77; }
top_builddir=$(cd "$top_builddir" && pwd) || exit 99
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cymem-pc.XXXXXX") || exit 99
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
stage="$tmp/stage"
fail() { echo "FAIL: $*"; exit 1; }

make -s -C "$top_builddir/lib" install DESTDIR="$stage" >"$tmp/log" 2>&1 \
    || { cat "$tmp/log"; fail "make install in lib"; }
make -s -C "$top_builddir" install-includeHEADERS install-nodist_includeHEADERS \
    install-pkgconfigDATA DESTDIR="$stage" >"$tmp/log" 2>&1 \
    || { cat "$tmp/log"; fail "make install of the headers and cymem.pc"; }

pc=$(find "$stage" -name cymem.pc | head -n 1)
test -n "$pc" || fail "cymem.pc not installed"
PKG_CONFIG_PATH=$(dirname "$pc")
PKG_CONFIG_LIBDIR=$PKG_CONFIG_PATH
PKG_CONFIG_SYSROOT_DIR=$stage
export PKG_CONFIG_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR
libdir=$(dirname "$(find "$stage" -name 'libcymem.*' | head -n 1)")

cat > "$tmp/prog.c" <<'PROG'
#include <cymem.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    cymem_pool *pool = cymem_pool_new();
    char *s = cymem_pool_alloc(pool, 16, 1);
    cymem_stats st;
    if (pool == NULL || s == NULL)
        return 1;
    strcpy(s, "pooled");
    if (cymem_pool_stats(pool, &st) != 0 || st.live_bytes != 16)
        return 2;
    if (strcmp(cymem_version(), CYMEM_VERSION_STRING) != 0)
        return 3;
    printf("%s %s\n", s, cymem_version());
    cymem_pool_destroy(pool);
    return 0;
}
PROG

# shellcheck disable=SC2046
$CC ${CFLAGS-} "$tmp/prog.c" -o "$tmp/prog" $(pkg-config --cflags --libs cymem) \
    || fail "cc prog.c \$(pkg-config --cflags --libs cymem)"
LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$tmp/prog" \
    || fail "the program linked against the shared library"

# The installed header compiles warning-free where a strict user builds:
# C89 to C11 and C++ (a C++ program that asks for -Wold-style-cast, say),
# with -Werror, from a directory that is not a system one (warnings count).
cat > "$tmp/strict.c" <<'PROG'
#include <cymem.h>
int strict(void);
int strict(void)
{
    cymem_pool_options o = { 0, 0, 0, 0 };
    cymem_pool *p;
    void *b;
    o.chunk_size = CYMEM_CHUNK_SIZE_MIN < CYMEM_CHUNK_SIZE_MAX ? CYMEM_CHUNK_SIZE_MIN : 0;
    o.flags = CYMEM_POOL_THREADSAFE | CYMEM_POOL_HUGE_PAGES;
    p = cymem_pool_new_ex(&o);
    b = cymem_pool_alloc_aligned(p, 1, 8, CYMEM_ALIGNMENT_MAX);
    cymem_pool_destroy(p);
    return b != NULL && CYMEM_VERSION_NUMBER > 0;
}
PROG
for std in c89 c99 c11; do
    # shellcheck disable=SC2046
    $CC -std=$std -Wall -Wextra -pedantic -Werror -fsyntax-only "$tmp/strict.c" \
        $(pkg-config --cflags cymem) || fail "cymem.h with $CC -std=$std -pedantic -Werror"
done
cxx=${CXX:-c++}
if command -v "${cxx%% *}" >/dev/null 2>&1; then
    cp "$tmp/strict.c" "$tmp/strict.cc"
    # shellcheck disable=SC2046
    $cxx -std=c++11 -Wall -Wextra -pedantic -Wold-style-cast -Werror -fsyntax-only \
        "$tmp/strict.cc" $(pkg-config --cflags cymem) ||
        fail "cymem.h with $cxx -std=c++11 -Wold-style-cast -Werror"
else
    echo "(no C++ compiler: the header is not tried as C++)"
fi

if test -f "$libdir/libcymem.a"; then
    # shellcheck disable=SC2046
    $CC ${CFLAGS-} "$tmp/prog.c" -o "$tmp/prog-static" $(pkg-config --cflags cymem) \
        "$libdir/libcymem.a" $(pkg-config --static --libs-only-other --libs-only-l cymem | sed 's/-lcymem//') \
        || fail "static link against libcymem.a"
    env -u LD_LIBRARY_PATH "$tmp/prog-static" || fail "the static program"
    if command -v ldd >/dev/null 2>&1 && ldd "$tmp/prog-static" | grep -q libcymem; then
        fail "the static program still needs libcymem.so"
    fi
fi

# A prefix given to make install: cymem.pc names where the files went.
make -s -C "$top_builddir" install-pkgconfigDATA prefix=/opt/cymem-relocated \
    DESTDIR="$tmp/moved" >"$tmp/log" 2>&1 \
    || { cat "$tmp/log"; fail "make install-pkgconfigDATA prefix=/opt/cymem-relocated"; }
moved=$(find "$tmp/moved" -name cymem.pc | head -n 1)
case $moved in
    "$tmp/moved/opt/cymem-relocated/"*) ;;
    *) fail "cymem.pc installed at '$moved' with prefix=/opt/cymem-relocated" ;;
esac
grep -qx 'prefix=/opt/cymem-relocated' "$moved" ||
    fail "cymem.pc installed with prefix=/opt/cymem-relocated says $(grep '^prefix=' "$moved")"
# ... and the build tree's cymem.pc is the configured one again after.
make -s -C "$top_builddir" cymem.pc >"$tmp/log" 2>&1 || { cat "$tmp/log"; fail "make cymem.pc"; }
if grep -q cymem-relocated "$top_builddir/cymem.pc"; then
    fail "cymem.pc still names the prefix of the last install"
fi
echo "ok: built and ran against the staged install"
