#!/bin/sh
# record: a program run under glibc's tracer leaves a log per process that
# replays; incomplete logs are found.
. "${srcdir:-.}/stat-common.sh"
need_python
need_record

# Programs of the build itself: of its ELF class whatever the compiler
# (a -m32 build cannot preload its module into the system's programs).
ALLOC=$builddir/stat-alloc
expect_status 0 "$CYMEM_STAT" record -o "$scratch/alloc.log" -- "$ALLOC"
set -- "$scratch"/alloc.log.*
test $# -eq 1 && test -f "$1" || fail "record: not one log: $*"
grep -q "^= Start" "$1" || fail "record: no '= Start'"
test "$(tail -n 1 "$1")" = "= End" || fail "record: the log does not end with '= End'"
grep -q "recorded [0-9]* events of 1 process of .*stat-alloc" "$scratch/err" ||
    fail "record: $(cat "$scratch/err")"
grep -q "replay .*alloc.log$" "$scratch/err" || fail "record: no hint to replay"

# A program of ours with known allocations: 100 mallocs, 10 reallocs; the
# log on its own, and the recording, replay alike.
expect_status 0 "$CYMEM_STAT" --json --repeat 1 replay "$1"
"$PYTHON" - "$scratch/out" <<'PY' || exit 1
import json, sys
w = json.load(open(sys.argv[1]))["workloads"][0]
assert w["allocs"] >= 100 and w["reallocs"] >= 10, w
assert w["backends"]["malloc"]["ops"] == w["backends"]["pool"]["ops"], w
PY
nlogs=1
replay_recording alloc

# A child that closes every descriptor above 2, then execs: its log has
# all its lines, the 40 blocks before the exec and the program after it.
expect_status 0 "$CYMEM_STAT" record -o "$scratch/ce.log" -- "$ALLOC" --close-exec
set -- "$scratch"/ce.log.*
test $# -eq 2 || fail "close-exec: not two logs: $*"
whole_lines "$@"
test "$(grep -c '^= Start' "$2")" -eq 2 && test "$(tail -n 1 "$2")" = "= End" ||
    fail "close-exec: not two whole runs: $(grep '^=' "$2")"
test "$(sed -n '1,/^= End/p' "$2" | grep -c '+ 0x[0-9a-f]* 0x30$')" -eq 40 ||
    fail "close-exec: the child's blocks before its exec are not all there"
expect_status 0 "$CYMEM_STAT" --json --repeat 1 replay "$scratch/ce.log"

# A daemon made by daemon(3): its parent leaves through the C library's
# own _exit(), which ends its log all the same, with every line.
expect_status 0 "$CYMEM_STAT" record -o "$scratch/dm.log" -- "$ALLOC" --daemon
set -- "$scratch"/dm.log.*
test $# -eq 2 || fail "daemon: not two logs: $*"
whole_lines "$@"
for f in "$@"; do
    test "$(tail -n 1 "$f")" = "= End" || fail "daemon: $f is incomplete"
done
test "$(grep -c '^[^=]' "$1")" -eq 220 || fail "daemon: the parent's lines are not all there"
test "$(grep -c '+ 0x[0-9a-f]* 0x50$' "$2")" -eq 30 || fail "daemon: the daemon's blocks"

# An exec through execveat(2) writes the lines before it, as execve does.
"$ALLOC" --execveat >/dev/null 2>&1
if test $? -ne 77; then
    expect_status 0 "$CYMEM_STAT" record -o "$scratch/ea.log" -- "$ALLOC" --execveat
    set -- "$scratch"/ea.log.*
    test $# -eq 1 || fail "execveat: not one log: $*"
    test "$(grep -c '^= Start' "$1")" -eq 2 || fail "execveat: not two runs"
    test "$(sed -n '1,/^= End/p' "$1" | grep -c '+ 0x[0-9a-f]* 0x39$')" -eq 30 ||
        fail "execveat: the blocks before the exec are not all there"
fi

# The children of vfork(), as dash starts its commands, have logs of
# their own: one whose exec fails and that leaves through _exit() a
# complete one, one that goes on in a program that cannot be traced an
# incomplete one, which record names.
expect_status 1 "$CYMEM_STAT" record -o "$scratch/vf.log" -- "$ALLOC" --vfork
set -- "$scratch"/vf.log.*
test $# -eq 3 || fail "vfork: not three logs: $* $(cat "$scratch/err")"
whole_lines "$@"
ends=0 starts=0
for f in "$@"; do
    test "$(tail -n 1 "$f")" = "= End" && ends=$((ends + 1))
    test "$(cat "$f")" = "= Start" && starts=$((starts + 1))
done
test $ends -eq 2 && test $starts -eq 1 || fail "vfork: $(tail -n 2 "$@")"
grep -q "vf.log.[0-9]* is incomplete" "$scratch/err" &&
    grep -q "1 of the logs is incomplete" "$scratch/err" || fail "vfork: $(cat "$scratch/err")"
expect_status 0 "$CYMEM_STAT" --json --repeat 1 replay "$scratch/vf.log"

# A log that cannot be written (a full file system; here a child under a
# file size limit of 0) is said to be so, and an empty one is not left in
# the way of the next recording under the same name.
expect_status 1 "$CYMEM_STAT" record -o "$scratch/nr.log" -- "$ALLOC" --no-room
grep -q "nr.log.[0-9]* could not be written" "$scratch/err" || fail "no room: $(cat "$scratch/err")"
test "$(ls "$scratch"/nr.log.* | wc -l)" -eq 1 || fail "no room: $(ls "$scratch")"
expect_status 0 "$CYMEM_STAT" record -o "$scratch/nr.log" -- "$ALLOC"

# cymem-stat recorded itself (as a script that runs it is): its runs
# write nothing under the recording's name, and the recording replays.
expect_status 0 "$CYMEM_STAT" record -o "$scratch/cs.log" -- "$CYMEM_STAT" -q -w small -n 100 -r 1
test -e "$scratch/cs.log" && fail "cymem-stat recorded: its runs wrote cs.log: $(head -n 1 "$scratch/cs.log")"
expect_status 0 "$CYMEM_STAT" -q --repeat 1 replay "$scratch/cs.log"

# An exec that fails does not end the process's run: its blocks live on.
expect_status 0 "$CYMEM_STAT" record -o "$scratch/fe.log" -- "$ALLOC" --failed-exec
test "$(grep -c '^=' "$scratch"/fe.log.*)" -eq 2 || fail "failed exec: $(grep '^=' "$scratch"/fe.log.*)"
expect_status 0 "$CYMEM_STAT" --json --repeat 1 replay "$scratch/fe.log"
"$PYTHON" - "$scratch/out" <<'PY' || exit 1
import json, sys
w = json.load(open(sys.argv[1]))["workloads"][0]
assert w["trace_runs"] == 1, w
assert w["backends"]["pool"]["requested_bytes"] == 105000, w
PY

# A process that goes on in a program that cannot be traced (env -i
# empties the environment the module is preloaded from) leaves a log
# without "= End": record says so.
env=$(system_program env) || exit 77
expect_status 1 "$CYMEM_STAT" record -o "$scratch/ei.log" -- "$env" -i "$ALLOC"
grep -q "ei.log.[0-9]* is incomplete .*could not be traced" "$scratch/err" ||
    fail "env -i: $(cat "$scratch/err")"
grep -q "record: 1 of the logs is incomplete" "$scratch/err" ||
    fail "env -i, the count: $(cat "$scratch/err")"

# A relative CYMEM_STAT_PRELOAD reaches every process, one that runs in
# another directory too; a name the loader would split is refused.
mdir=${CYMEM_STAT_PRELOAD%/*}
for m in ./cymem-mtrace.so cymem-mtrace.so; do
    (cd "$mdir" && CYMEM_STAT_PRELOAD=$m "$CYMEM_STAT" record -o "$scratch/rel.log" -- \
        sh -c 'cd / && "$0" && :' "$ALLOC") 2>"$scratch/err" ||
        fail "CYMEM_STAT_PRELOAD=$m: $(cat "$scratch/err")"
    grep -q "recorded [0-9]* events of 2 processes" "$scratch/err" ||
        fail "CYMEM_STAT_PRELOAD=$m: $(cat "$scratch/err")"
done
mkdir "$scratch/a b"
cp "$CYMEM_STAT_PRELOAD" "$scratch/a b/"
(CYMEM_STAT_PRELOAD="$scratch/a b/cymem-mtrace.so"
 expect_status 1 "$CYMEM_STAT" record -o "$scratch/sp.log" -- "$ALLOC") || exit 1
grep -q "cannot preload .*a b/cymem-mtrace.so'.* space" "$scratch/err" ||
    fail "a module in 'a b': $(cat "$scratch/err")"

# A program started without descriptors 1 and 2 does not write into the
# log: the log's descriptor is never 0, 1 or 2.
("$CYMEM_STAT" record -o "$scratch/se.log" -- "$ALLOC" --stderr >&- 2>&-) ||
    fail "record with stdout and stderr closed: status $?"
grep -q "on stderr" "$scratch"/se.log.* && fail "the program's stderr went into its log"
test "$(tail -n 1 "$scratch"/se.log.*)" = "= End" || fail "stderr closed: incomplete log"

# -o names the log however it is written: relative, with "." and "..",
# doubled slashes, through a link to a directory.
mkdir "$scratch/d"
ln -s d "$scratch/link"
for o in ./dot.log d/../up.log "$scratch//double.log" "$scratch/link/via.log"; do
    (cd "$scratch" && "$CYMEM_STAT" record -o "$o" -- "$ALLOC") 2>"$scratch/err" ||
        fail "record -o $o: $(cat "$scratch/err")"
    grep -q "recorded [1-9][0-9]* events of 1 process" "$scratch/err" ||
        fail "record -o $o: $(cat "$scratch/err")"
    (cd "$scratch" && "$CYMEM_STAT" -q --repeat 1 replay "$o") >/dev/null 2>"$scratch/err" ||
        fail "replay $o: $(cat "$scratch/err")"
done
test -f "$scratch"/d/via.log.[0-9]* || fail "record -o link/via.log: not in d"
# -o must end in a file name: the logs of '', 'd/' or '.' would be hidden
# files .PID or ..PID.  Bad usage, before anything runs.
for o in '' d/ . d/.. ; do
    (cd "$scratch" && "$CYMEM_STAT" record -o "$o" -- "$ALLOC") >/dev/null 2>"$scratch/err"
    test $? -eq 2 || fail "record -o '$o': not status 2: $(cat "$scratch/err")"
    grep -q "names no file" "$scratch/err" || fail "record -o '$o': $(cat "$scratch/err")"
    test -z "$(ls -A "$scratch" "$scratch/d" | grep '^\.')" ||
        fail "record -o '$o' left hidden files: $(ls -A "$scratch" "$scratch/d")"
done

# An -o that names an existing file other than a directory: replay FILE
# would read that file, not the logs beside it, so the recording could
# not be replayed by its name.  Bad usage, before anything runs, and the
# file is left as it was.
echo "my notes" > "$scratch/taken.log"
expect_status 2 "$CYMEM_STAT" record -o "$scratch/taken.log" -- "$ALLOC"
grep -q "taken.log' exists and is not a directory" "$scratch/err" ||
    fail "record -o an existing file: $(cat "$scratch/err")"
test "$(cat "$scratch/taken.log")" = "my notes" || fail "record -o: the existing file changed"
ls "$scratch" | grep -q '^taken\.log\.' && fail "record -o an existing file: it ran"
expect_status 2 "$CYMEM_STAT" record -o /dev/null -- "$ALLOC"
grep -q "'/dev/null' exists and is not a directory" "$scratch/err" ||
    fail "record -o /dev/null: $(cat "$scratch/err")"

# The command record gives to replay the logs works as it is written,
# whatever the name: quoted for the shell, never taken for an option.
for o in "a b'\$c.log" -dash.log; do
    (cd "$scratch" && "$CYMEM_STAT" record -o "$o" -- "$ALLOC") >/dev/null 2>"$scratch/err" ||
        fail "record -o $o: $(cat "$scratch/err")"
    hint=$(tail -n 1 "$scratch/err" | sed 's/^  cymem-stat replay //')
    (cd "$scratch" && eval "\"\$CYMEM_STAT\" -q --repeat 1 replay $hint") >/dev/null 2>"$scratch/err" ||
        fail "record -o $o: the hint 'replay $hint' fails: $(cat "$scratch/err")"
done

# A program whose file name holds "] ": its callers are written with it.
mkdir "$scratch/x] y"
cp "$ALLOC" "$scratch/x] y/prog"
expect_status 0 "$CYMEM_STAT" record -o "$scratch/br.log" -- "$scratch/x] y/prog"
grep -q '^@ .*x\] y/prog:' "$scratch"/br.log.* || fail "no caller in 'x] y': $(head "$scratch"/br.log.*)"
expect_status 0 "$CYMEM_STAT" --json --repeat 1 replay "$scratch/br.log"

# A second recording under the same name replaces the first's logs.
expect_status 0 "$CYMEM_STAT" record -o "$scratch/alloc.log" -- "$ALLOC"
test "$(ls "$scratch"/alloc.log.* | wc -l)" -eq 1 || fail "old logs left: $(ls "$scratch")"
# A log begins with "= Start" as soon as it is made, even when its process
# dies before it wrote more: the next recording replaces it too.
expect_status 1 "$CYMEM_STAT" record -o "$scratch/k.log" -- sh -c 'kill -9 $$'
test "$(head -n 1 "$scratch"/k.log.*)" = "= Start" || fail "killed sh: $(head -c 80 "$scratch"/k.log.*)"
expect_status 0 "$CYMEM_STAT" record -o "$scratch/k.log" -- "$ALLOC"
test "$(ls "$scratch"/k.log.* | wc -l)" -eq 1 || fail "killed sh's log left: $(ls "$scratch")"
# Files of that pattern that are not logs are not removed: record refuses
# to start.
echo "my notes" > "$scratch/notes.1"
mkdir "$scratch/notes.22"
expect_status 2 "$CYMEM_STAT" record -o "$scratch/notes" -- "$ALLOC"
grep -q "notes.1' is in the way and is not a log" "$scratch/err" || fail "notes.1: $(cat "$scratch/err")"
test "$(cat "$scratch/notes.1")" = "my notes" && test -d "$scratch/notes.22" ||
    fail "notes.1 or notes.22 touched"
test "$(ls "$scratch" | grep -c '^notes\.')" -eq 2 || fail "notes: $(ls "$scratch")"
rm -r "$scratch/notes.1"
expect_status 2 "$CYMEM_STAT" record -o "$scratch/notes" -- "$ALLOC"
grep -q "notes.22' is in the way" "$scratch/err" || fail "notes.22: $(cat "$scratch/err")"

# The recorded program's failure is reported, with status 1.
expect_status 1 "$CYMEM_STAT" record -o "$scratch/fail.log" -- "$ALLOC" --fail
grep -q "exited with status 3" "$scratch/err" || fail "record failing: $(cat "$scratch/err")"
expect_status 1 "$CYMEM_STAT" record -o "$scratch/none.log" -- "$scratch/no-such-program"
# Logs that cannot be written are said to be so, before anything runs.
expect_status 1 "$CYMEM_STAT" record -o "$scratch/no-such-dir/x.log" -- "$ALLOC"
grep -q "cannot write the logs .*no-such-dir/x.log.PID: No such file" "$scratch/err" ||
    fail "no directory: $(cat "$scratch/err")"

# record waits for the processes the program leaves running in the
# background: it counts their logs, and every log is complete.
expect_status 0 "$CYMEM_STAT" record -o "$scratch/bg.log" -- sh -c '(sleep 0.3; "$0") &' "$ALLOC"
set -- "$scratch"/bg.log.*
grep -q "recorded [0-9]* events of $# processes" "$scratch/err" || fail "background: $(cat "$scratch/err")"
test $# -ge 3 || fail "background: $# logs"
for f in "$@"; do
    test "$(tail -n 1 "$f")" = "= End" || fail "background: $f is incomplete"
done

# A Ctrl-C at the terminal (SIGINT to the whole process group) reaches
# the program, which may catch it and exit: record still waits, checks
# the logs and reports.
"$PYTHON" - "$CYMEM_STAT" "$scratch/int.log" <<'PY' || fail "record and SIGINT"
import os, signal, subprocess, sys, time
p = subprocess.Popen([sys.argv[1], "record", "-o", sys.argv[2], "--", "sh", "-c",
                      'trap "exit 0" INT; echo >&2 ready; sleep 1 & wait'],
                     stderr=subprocess.PIPE, start_new_session=True)
p.stderr.readline()
time.sleep(0.2)
os.killpg(p.pid, signal.SIGINT)
err = p.communicate()[1].decode()
assert p.returncode == 0, (p.returncode, err)
assert "recorded" in err, err
PY

# A process killed before it exits leaves an incomplete log: named, status 1.
expect_status 1 "$CYMEM_STAT" record -o "$scratch/kill.log" -- "$ALLOC" --kill
grep -q "kill.log.[0-9]* is incomplete" "$scratch/err" || fail "killed: $(cat "$scratch/err")"
grep -q "died of signal" "$scratch/err" || fail "killed: $(cat "$scratch/err")"
# What it wrote replays: a line cut short is left out.
expect_status 0 "$CYMEM_STAT" --json --repeat 1 replay "$scratch/kill.log"

# A signal handler that calls _exit() in the middle of a malloc or a free,
# in the middle of the tracer's line: the log has its whole lines, then
# "= End", every time.
for i in 1 2 3 4 5; do
    rm -f "$scratch"/sig.log.*
    expect_status 0 "$CYMEM_STAT" record -o "$scratch/sig.log" -- "$ALLOC" --exit-in-handler
    whole_lines "$scratch"/sig.log.*
    test "$(tail -n 1 "$scratch"/sig.log.*)" = "= End" || fail "_exit in a handler: no '= End'"
    expect_status 0 "$CYMEM_STAT" --json --repeat 1 replay "$scratch/sig.log"
    grep -q "incomplete" "$scratch/err" && fail "_exit in a handler: $(cat "$scratch/err")"
done
# quick_exit() skips the exit handlers too.
expect_status 0 "$CYMEM_STAT" record -o "$scratch/qe.log" -- "$ALLOC" --quick-exit
exit 0
