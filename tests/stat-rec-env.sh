#!/bin/sh
# record env, which execs the program it is given: one process, whose log
# holds env's run and then the other program's, each complete.
. "${srcdir:-.}/stat-common.sh"
need_python
need_record

ls=$(system_program ls) || exit 77
record_program env "$ls" /
test "$nlogs" -eq 1 || fail "env ls: $nlogs logs"
test "$(grep -c '^= Start' "$scratch"/env.log.*)" -eq 2 || fail "env ls: not two images"
test "$(grep -c '^= End' "$scratch"/env.log.*)" -eq 2 || fail "env ls: not two ends"
replay_recording env
"$PYTHON" - "$scratch/env.json" <<'PY' || exit 1
import json, sys
w = json.load(open(sys.argv[1]))["workloads"][0]
assert w["trace_runs"] == 2, w
PY
exit 0
