# stat-common.sh - sourced by the stat-*.sh tests of cymem-stat.
# Automake exports srcdir and top_builddir; exit 77 means "skipped".

: "${srcdir:=.}"
: "${top_builddir:=..}"
: "${builddir:=.}"
# Absolute names: some tests work in another directory.
srcdir=$(cd "$srcdir" && pwd)
top_builddir=$(cd "$top_builddir" && pwd)
builddir=$(cd "$builddir" && pwd)
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
    want=$(elf_class "$builddir/stat-alloc")
    got=$(elf_class "$p")
    if test -n "$want" && test -n "$got" && test "$want" != "$got"; then
        echo "SKIP: $p is not of the build's ELF class ($got, not $want)" >&2
        exit 77
    fi
    echo "$p"
}

# need_record: set up `cymem-stat record' with the module of this build,
# or exit 77 where it cannot work here.
need_record() {
    CYMEM_STAT_PRELOAD=$(cd "$top_builddir/tools" && pwd)/.libs/cymem-mtrace.so
    export CYMEM_STAT_PRELOAD
    test -f "$CYMEM_STAT_PRELOAD" || { echo "SKIP: no cymem-mtrace.so" >&2; exit 77; }
    # The loader splits LD_PRELOAD at spaces and colons, and record refuses
    # such a name: in a build directory that has one, record a copy.
    case $CYMEM_STAT_PRELOAD in
    *[\ :]*)
        cp "$CYMEM_STAT_PRELOAD" "$scratch/cymem-mtrace.so" || exit 99
        CYMEM_STAT_PRELOAD=$scratch/cymem-mtrace.so
        case $CYMEM_STAT_PRELOAD in
        *[\ :]*) echo "SKIP: $scratch holds a space or a colon" >&2; exit 77 ;;
        esac ;;
    esac
    # A module or program built with a sanitizer cannot be preloaded into
    # other programs, nor run after glibc's tracer: nothing to test there.
    for f in "$CYMEM_STAT_PRELOAD" "$builddir/stat-alloc"; do
        if { ldd "$f"; nm -D "$f"; } 2>/dev/null | grep -q -e 'lib[a-z]*san\.so' -e '__[a-z]*san_'; then
            echo "SKIP: $f is built with a sanitizer" >&2
            exit 77
        fi
    done
    "$CYMEM_STAT" record -o "$scratch/probe.log" -- "$builddir/stat-alloc" 2>"$scratch/err"
    if grep -q "cannot load" "$scratch/err"; then
        echo "SKIP: libc_malloc_debug.so.0 is not available" >&2
        exit 77
    fi
    rm -f "$scratch"/probe.log.*
}

# record_program NAME ARG...: record NAME (found by system_program) with
# its arguments into $scratch/NAME.log.PID (NAME without its directory);
# it must succeed, every log be complete, and the message count the
# logs.  Sets $nlogs.
record_program() {
    prog=$(system_program "$1") || exit 77
    name=${1##*/}
    shift
    expect_status 0 "$CYMEM_STAT" record -o "$scratch/$name.log" -- "$prog" "$@"
    nlogs=$(ls "$scratch/$name.log".* | wc -l)
    test "$nlogs" -ge 1 || fail "record $name: no log"
    for f in "$scratch/$name.log".*; do
        test "$(tail -n 1 "$f")" = "= End" || fail "record $name: $f is incomplete"
        case $f in *.log.[0-9]*) ;; *) fail "record $name: a stray file $f" ;; esac
    done
    grep -q "recorded [0-9]* events of $nlogs process" "$scratch/err" ||
        fail "record $name: $(cat "$scratch/err")"
}

# whole_lines LOG...: every line of each log is one glibc's tracer writes,
# whole: none cut short, none spliced with another.
whole_lines() {
    for f in "$@"; do
        bad=$(grep -v -E '^(= (Start|End)|(@ .* )?[-+<>!] [^ ]+( [0-9a-fx]+)?)$' "$f" | head -n 1)
        test -z "$bad" || fail "$f: a line cut short or spliced: $bad"
    done
}

# replay_recording NAME: replay $scratch/NAME.log as a recording; the JSON
# has a row per process and a total.  Leaves the JSON in $scratch/NAME.json.
replay_recording() {
    expect_status 0 "$CYMEM_STAT" --json --repeat 1 replay "$scratch/$1.log"
    mv "$scratch/out" "$scratch/$1.json"
    "$PYTHON" - "$scratch/$1.json" "$nlogs" <<'PY' || exit 1
import json, sys
w = json.load(open(sys.argv[1]))["workloads"]
n = int(sys.argv[2])
rows, total = w[:-1], w[-1]
assert len(rows) == n, (len(rows), n)
assert total["name"] == "total" and total["source"].endswith(".log"), total
done = [r for r in rows if not r["skipped"]]
assert all(not r["failed"] for r in rows), rows
assert total["processes"] == len(done) >= 1, (total["processes"], len(done))
for k in ("allocs", "frees", "reallocs", "count"):
    assert total[k] == sum(r[k] for r in done), k
for b in ("malloc", "pool"):
    assert total["backends"][b]["ops"] == sum(r["backends"][b]["ops"] for r in done), b
PY
}
