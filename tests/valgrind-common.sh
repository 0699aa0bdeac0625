# valgrind-common.sh - sourced by the scripts that run programs under
# valgrind's memcheck (rel-valgrind.sh, rel-regress.sh).  It skips (exit
# 77, with the reason) where memcheck cannot be used on this build, and
# defines vg(), which runs a built program under it.
command -v valgrind >/dev/null 2>&1 || { echo "SKIP: valgrind is not installed"; exit 77; }
grep -q '^#define HAVE_VALGRIND_MEMCHECK_H 1' "$top_builddir/config.h" ||
    { echo "SKIP: built without valgrind/memcheck.h"; exit 77; }
case "${CFLAGS-}" in *-fsanitize*) echo "SKIP: a sanitizer build"; exit 77 ;; esac

# --alignment=16: on x86-32 valgrind's malloc aligns to 8 bytes, less than
# glibc's and musl's 16 (alignof(max_align_t)), which the library relies on.
vg() { "$top_builddir/libtool" --mode=execute valgrind -q --alignment=16 "$@"; }

# Valgrind may be unable to run this build's programs at all: a 32-bit
# program on a machine without the i386 libc debug symbols (Debian:
# libc6-dbg:i386), or a libc valgrind has no redirections for.  $1 is a
# program of the build that runs cleanly with no argument but $2.
vg_usable() {
    if ! out=$(vg --error-exitcode=3 "$@" 2>&1) &&
        echo "$out" | grep -q -e 'Fatal error at startup' -e 'cannot continue' \
            -e 'wrong ELF class' -e 'cannot execute'; then
        echo "SKIP: valgrind cannot run this build's programs:"
        echo "$out" | grep -m 3 -e 'valgrind:' -e 'Fatal' -e 'package'
        exit 77
    fi
}
