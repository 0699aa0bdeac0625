#!/bin/sh
# record shells nobody here wrote: a pipeline is a process per command,
# each with a complete log, and a shell that leaves through _exit flushes
# its log too.
. "${srcdir:-.}/stat-common.sh"
need_python
need_record

record_program sh -c 'exit 0'
test "$nlogs" -eq 1 || fail "sh -c 'exit 0': $nlogs logs"

record_program sh -c 'printf "b\na\nc\n" | sort | tr a-z A-Z > /dev/null'
test "$nlogs" -ge 3 || fail "a pipeline of three: only $nlogs logs"
replay_recording sh

# A command that sh runs without the module (LD_PRELOAD unset, as for a
# program that cannot be traced) leaves its log incomplete, and record
# says so, whether sh starts it through fork or, as dash does, through
# vfork.
sh=$(system_program sh) || exit 77
expect_status 1 "$CYMEM_STAT" record -o "$scratch/un.log" -- "$sh" -c \
    'unset LD_PRELOAD; "$0"; true' "$builddir/stat-alloc"
test "$(ls "$scratch"/un.log.* | wc -l)" -eq 2 || fail "unset LD_PRELOAD: $(ls "$scratch")"
grep -q "record: 1 of the logs is incomplete" "$scratch/err" ||
    fail "unset LD_PRELOAD: $(cat "$scratch/err")"

# bash has a setenv() of its own, which does not change the environment
# glibc's tracer reads: bash is traced all the same.
record_program bash -c 'echo "$(echo a)" > /dev/null'
test "$nlogs" -eq 2 || fail "bash and its command substitution: $nlogs logs"
grep -q "recorded [1-9][0-9]* events" "$scratch/err" || fail "bash: $(cat "$scratch/err")"
replay_recording bash
exit 0
