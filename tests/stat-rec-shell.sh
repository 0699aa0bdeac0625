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

# bash has a setenv() of its own, which does not change the environment
# glibc's tracer reads: bash is traced all the same.
record_program bash -c 'echo "$(echo a)" > /dev/null'
test "$nlogs" -eq 2 || fail "bash and its command substitution: $nlogs logs"
grep -q "recorded [1-9][0-9]* events" "$scratch/err" || fail "bash: $(cat "$scratch/err")"
replay_recording bash
exit 0
