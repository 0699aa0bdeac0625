#!/bin/sh
# test-installed.sh - run by `make installcheck': what `make install' put
# in place works as a user meets it.
#
#  - a program built with cc and `pkg-config --cflags --libs cymem' (the
#    installed cymem.pc) runs against the installed library;
#  - the installed cymem-stat runs and reports this version (installed
#    outside the dynamic linker's directories, it finds libcymem.so by
#    its run path), and its record finds the installed cymem-mtrace.so
#    on its own;
#  - man finds the installed pages (cymem_pool_alloc(3), cymem-stat(1));
#  - the installed Python module, when it was built, imports from the
#    directory configure chose for it and allocates.
#
# The Makefile passes the installation directories; with DESTDIR set they
# are looked for under it (pkg-config then sees it as a sysroot).
set -u
: "${CC:=cc}" "${DESTDIR:=}"
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cymem-installcheck.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

# The library, through pkg-config.
lib=$DESTDIR$libdir
PKG_CONFIG_PATH=$DESTDIR$pkgconfigdir
PKG_CONFIG_SYSROOT_DIR=$DESTDIR
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
if ! command -v pkg-config >/dev/null 2>&1; then
    bad "no pkg-config to test the installed cymem.pc"
elif [ "$(pkg-config --modversion cymem)" != "$VERSION" ]; then
    bad "pkg-config --modversion cymem is not $VERSION"
else
    cat >"$tmp/prog.c" <<'PROG'
#include <cymem.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    cymem_pool *pool = cymem_pool_new();
    char *s = pool ? cymem_pool_alloc(pool, 1, 16) : NULL;
    if (s == NULL || strcmp(cymem_version(), CYMEM_VERSION_STRING) != 0)
        return 1;
    strcpy(s, cymem_version());
    puts(s);
    cymem_pool_destroy(pool);
    return 0;
}
PROG
    static=
    [ -e "$lib/libcymem.so" ] || static=--static
    # shellcheck disable=SC2046
    if $CC ${CFLAGS-} "$tmp/prog.c" -o "$tmp/prog" $(pkg-config $static --cflags --libs cymem); then
        out=$(LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$tmp/prog")
        if [ "$out" = "$VERSION" ]; then
            ok "cc prog.c \$(pkg-config ${static:+$static }--cflags --libs cymem) runs: $out"
        else
            bad "the program built with pkg-config printed '$out', not $VERSION"
        fi
    else
        bad "cannot build with \$(pkg-config ${static:+$static }--cflags --libs cymem)"
    fi
fi

# cymem-stat.  Installed (not staged) where the dynamic linker does not
# look, it finds the shared library by its run path, whatever prefix make
# install was given; elsewhere the linker's cache may not know the library
# yet (ldconfig), and the program is told where it is.
stat=$DESTDIR$bindir/cymem-stat
ldpath=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
case " ${sys_libdirs-} " in
*" $libdir "*) ;;
*) [ -n "$DESTDIR" ] || [ ! -e "$lib/libcymem.so" ] || ldpath=${LD_LIBRARY_PATH-} ;;
esac
if out=$(LD_LIBRARY_PATH=$ldpath "$stat" --version) &&
        echo "$out" | grep -q "$VERSION"; then
    ok "cymem-stat --version: $(echo "$out" | head -n 1)"
else
    bad "$stat --version did not name $VERSION${ldpath:+ (LD_LIBRARY_PATH=$ldpath)}"
fi

# cymem-stat record preloads the installed module, found where make
# install put it, whatever prefix it was given (not under DESTDIR: the
# program looks where it will be installed, not where it was staged).
mod=$pkglibdir/cymem-mtrace.so
if [ -n "$DESTDIR" ]; then
    echo "(installed under DESTDIR: cymem-stat record not tried)"
elif [ ! -f "$mod" ]; then
    echo "(no $mod: cymem-stat record not tried)"
elif out=$(cd "$tmp" && unset CYMEM_STAT_PRELOAD &&
           LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
           "$stat" record -o rec.log -- sh -c 'exit 0' 2>&1); then
    ok "cymem-stat record finds $mod"
elif echo "$out" | grep -q "cannot load"; then
    echo "(no glibc tracer library: cymem-stat record not tried)"
else
    bad "cymem-stat record with the installed module: $out"
fi

# The manual: each page is where man looks, and formats.
for page in 3:cymem_pool_alloc 3:cymem 1:cymem-stat; do
    sec=${page%%:*} name=${page#*:}
    file=$DESTDIR$mandir/man$sec/$name.$sec
    if [ ! -f "$file" ]; then
        bad "$name($sec) is not installed as $file"
    elif ! command -v man >/dev/null 2>&1; then
        ok "$name($sec) installed (no man to format it)"
    elif MANWIDTH=80 man -M "$DESTDIR$mandir" "$sec" "$name" 2>/dev/null | grep -q "$name"; then
        ok "man -M $DESTDIR$mandir $sec $name"
    else
        bad "man -M $DESTDIR$mandir $sec $name does not show the page"
    fi
done

# The Python module, imported from where it was installed.
if [ "$enable_python" = yes ]; then
    dir=$DESTDIR$pyexecdir
    if PYTHONPATH=$dir PYTHONDONTWRITEBYTECODE=1 "$PYTHON" - "$dir" <<'PY'
import os, sys
import cymem.cymem as cc
where = os.path.realpath(cc.__file__)
assert where.startswith(os.path.realpath(sys.argv[1]) + os.sep), where
pool = cc.Pool()
addr = pool.alloc(10, 8)
assert addr != 0 and pool.size >= 80, (addr, pool.size)
print("ok: import cymem.cymem from", where)
PY
    then :; else bad "the installed Python module under $dir"; fi
else
    echo "(the Python module is not built: not tested)"
fi
exit $fail
