#!/bin/sh
# record a Python that runs a subprocess with a preexec_fn: the child of
# the fork closes every descriptor above 2, runs Python code, then execs
# along PATH; its log keeps every line, none cut short, in two runs.
. "${srcdir:-.}/stat-common.sh"
need_python
need_record

record_program "$PYTHON" -c 'import subprocess
subprocess.run(["true"], preexec_fn=lambda: [bytearray(1000) for i in range(1000)],
               check=True)'
test "$nlogs" -eq 2 || fail "python with one subprocess: $nlogs logs"
set -- "$scratch"/python3.log.*
# The child looks for "true" along PATH, an exec in each directory until
# one works: the failed ones leave no mark, the child has two runs.
test "$(grep -c '^= Start' "$2")" -eq 2 || fail "the child: not two runs: $(grep '^=' "$2")"
# The preexec_fn's thousand bytearrays (1001 bytes each, with their
# terminating NUL), after the descriptors were closed.
test "$(sed -n '1,/^= End/p' "$2" | grep -c '+ 0x[0-9a-f]* 0x3e9$')" -eq 1000 ||
    fail "the child's lines before its exec are not all there"
whole_lines "$@"
replay_recording python3
exit 0
