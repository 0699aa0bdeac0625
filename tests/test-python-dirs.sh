#!/bin/sh
# test-python-dirs.sh - where configure puts the Python module: with
# --with-python_exec_prefix or --with-python_prefix (AM_PATH_PYTHON's
# options, which ./configure --help lists) pyexecdir is under the prefix
# given; without them it is the directory python/sitedir.py names for
# --prefix; pyexecdir=DIR on the command line wins over both.
#
# configure runs in a scratch directory, with the interpreter and compiler
# of this build.  An in-tree build leaves config.status in the source
# directory, and configure refuses to build elsewhere from it: the scratch
# source directory is made of links to the source directory's entries,
# all but that one.
: "${top_srcdir:=..}" "${top_builddir:=..}" "${CC:=cc}"
PYTHON=$(sed -n 's/^PYTHON = //p' "$top_builddir/python/Makefile")
case $PYTHON in
''|:) echo "the Python module is not built: skip"; exit 77 ;;
esac
top_srcdir=$(cd "$top_srcdir" && pwd) || exit 99
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cymem-pydirs.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/src" || exit 99
for f in "$top_srcdir"/* "$top_srcdir"/.[!.]*; do
    case ${f##*/} in config.status|'.[!.]*') continue ;; esac
    ln -s "$f" "$tmp/src/" || exit 99
done
fail=0

# pyexecdir_of NAME CONFIGURE-ARGUMENTS...: configure in $tmp/NAME and
# print the pyexecdir python/Makefile installs into, its variables expanded.
pyexecdir_of() {
    name=$1; shift
    mkdir "$tmp/$name" || exit 99
    (cd "$tmp/$name" && "$tmp/src/configure" --without-check --enable-python \
        PYTHON="$PYTHON" CC="$CC" "$@") >"$tmp/$name.log" 2>&1 || {
        tail -n 5 "$tmp/$name.log" >&2
        echo "FAIL: configure $* failed" >&2
        return 1
    }
    # not as a sub-make of make check: no jobserver, no directory messages
    (unset MAKEFLAGS MFLAGS MAKELEVEL
     ${MAKE:-make} -s --no-print-directory -C "$tmp/$name/python" print-pyexecdir)
}

# expect NAME WANT-PATTERN CONFIGURE-ARGUMENTS...
expect() {
    name=$1 want=$2; shift 2
    got=$(pyexecdir_of "$name" "$@") || { fail=1; return; }
    # shellcheck disable=SC2254
    case $got in
    $want) echo "ok: configure $*: pyexecdir = $got" ;;
    *) echo "FAIL: configure $*: pyexecdir = $got, not $want"; fail=1 ;;
    esac
}

expect exec-prefix '/opt/pe/*' --prefix=/opt/x --with-python_exec_prefix=/opt/pe
expect py-prefix '/opt/pp/*' --prefix=/opt/x --with-python_prefix=/opt/pp
expect explicit /opt/here --prefix=/opt/x --with-python_exec_prefix=/opt/pe pyexecdir=/opt/here

# Without them: sitedir.py's answer (on Debian, /usr/lib/python3/dist-packages).
site=$("$PYTHON" "$top_srcdir/python/sitedir.py" /usr) || exit 99
expect default "$site" --prefix=/usr
exit $fail
