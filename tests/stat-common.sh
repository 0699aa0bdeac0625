# stat-common.sh - sourced by the stat-*.sh tests of cymem-stat.
# Automake exports srcdir and top_builddir; exit 77 means "skipped".

: "${srcdir:=.}"
: "${top_builddir:=..}"
CYMEM_STAT=$top_builddir/tools/cymem-stat
DATA=$srcdir/data
LC_ALL=C
export LC_ALL

if ! test -x "$CYMEM_STAT"; then
    echo "cymem-stat is not built: $CYMEM_STAT" >&2
    exit 99
fi

# A scratch directory, removed at exit.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/cymem-stat-test.XXXXXX") || exit 99
trap 'rm -rf "$scratch"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# A /usr/bin/python3 (or python3) for the JSON checks, or skip.
need_python() {
    for PYTHON in /usr/bin/python3 python3; do
        if "$PYTHON" -c 'import json' >/dev/null 2>&1; then
            return 0
        fi
    done
    echo "SKIP: no python3 to parse JSON" >&2
    exit 77
}

# expect_status WANT CMD...: run CMD, keep stderr in $scratch/err.
expect_status() {
    want=$1
    shift
    "$@" >"$scratch/out" 2>"$scratch/err"
    got=$?
    test "$got" -eq "$want" ||
        fail "'$*' exited with $got, expected $want: $(cat "$scratch/err")"
}

# elf_class FILE: 01 (32-bit) or 02 (64-bit) for an ELF file, else nothing.
elf_class() {
    test "$(od -An -c -N4 "$1" 2>/dev/null | tr -d ' ')" = '177ELF' &&
        od -An -tx1 -j4 -N1 "$1" | tr -d ' \n'
}

# system_program NAME: the path of NAME in PATH when the module preloaded
# by `record' can load into it (the same ELF class as the build's own
# programs), else exit 77 with the reason.  Programs found here were
# written by others: they test record on what people will trace.
system_program() {
    p=$(command -v "$1" 2>/dev/null) || { echo "SKIP: no $1 on this machine" >&2; exit 77; }
    want=$(elf_class "${builddir:-.}/stat-alloc")
    got=$(elf_class "$p")
    if test -n "$want" && test -n "$got" && test "$want" != "$got"; then
        echo "SKIP: $p is not of the build's ELF class ($got, not $want)" >&2
        exit 77
    fi
    echo "$p"
}
