#!/bin/sh
# Bad usage and bad traces: exit status 2 and a one-line message.
. "${srcdir:-.}/stat-common.sh"

# usage_error ARGS...: exit 2, the message, and the hint to --help.
usage_error() {
    expect_status 2 "$CYMEM_STAT" "$@"
    grep -q "^cymem-stat: " "$scratch/err" || fail "'$*': no message: $(cat "$scratch/err")"
    grep -q -- "--help" "$scratch/err" || fail "'$*': no hint to --help"
    test ! -s "$scratch/out" || fail "'$*': wrote to stdout"
}

usage_error --no-such-option
usage_error -x
usage_error --workload

# Each says what is wrong with the option.
for case in "--json=x|option '--json' doesn't allow an argument" \
            "--js=x|option '--json' doesn't allow an argument" \
            "--no-such=1|unrecognized option '--no-such'" \
            "--s|option '--s' is ambiguous" \
            "--work|option '--workload' requires an argument" \
            "-qw|option requires an argument -- 'w'" \
            "--json -xq|invalid option -- 'x'" \
            "--seed=1 -xq|invalid option -- 'x'"; do
    usage_error ${case%%|*}
    grep -q -F "cymem-stat: ${case#*|}" "$scratch/err" || fail "${case%%|*}: $(cat "$scratch/err")"
done
usage_error --workload nosuch
usage_error --workload small,,nosuch
# An empty name in a list is no name: bad usage, not left out.
for l in small, ,small small,,floats; do
    usage_error --workload "$l" --iterations 10
    grep -q "empty name in the workload list '$l'" "$scratch/err" || fail "-w $l: $(cat "$scratch/err")"
done
for l in malloc, ,pool malloc,,pool; do
    usage_error --workload floats --iterations 10 --allocators "$l"
    grep -q "empty name in the allocator list '$l'" "$scratch/err" || fail "-a $l: $(cat "$scratch/err")"
done
usage_error --workload replay
# Options that shape workloads only, with a trace alone, would be
# ignored: bad usage; with a workload as well, they shape that workload.
for opt in "--scale 2" "--iterations 10" "--threads 2" "--seed 7" "-s 2" "-n 5"; do
    usage_error $opt replay "$DATA/stat-basic.mtrace"
    grep -q "shapes workloads, and 'replay' runs each trace as recorded" "$scratch/err" ||
        fail "$opt replay: $(cat "$scratch/err")"
done
expect_status 0 "$CYMEM_STAT" -q -r 1 -n 10 -w floats replay "$DATA/stat-basic.mtrace"
usage_error --scale 0
usage_error --scale -1
usage_error --scale abc
usage_error --iterations 0
usage_error --iterations 12x
usage_error --repeat 0
usage_error --threads 0
usage_error --threads 100000
usage_error --seed -3
usage_error --iterations 0x10
usage_error --iterations ' 5'
usage_error --repeat +2
# The scale is decimal too, without a blank or a sign: strtod() alone
# would take all of these.
for bad in 0x10 ' 1' '1 ' +1 inf nan 1e 0x1p3 . ''; do
    usage_error --scale "$bad"
    grep -q "invalid scale '$bad'" "$scratch/err" || fail "--scale '$bad': $(cat "$scratch/err")"
done
for good in .5 5. 1e-1 2E+0; do
    expect_status 0 "$CYMEM_STAT" --list --scale "$good"
done
expect_status 0 "$CYMEM_STAT" --list --scale 1e-1
grep -A1 "^small " "$scratch/out" | grep -q "count 100000 blocks$" || fail "-s 1e-1: $(cat "$scratch/out")"

# Numbers are decimal: a leading zero is no octal prefix.
expect_status 0 "$CYMEM_STAT" --list --iterations 010
grep -A1 "^small " "$scratch/out" | grep -q "count 10 blocks$" || fail "-n 010: $(cat "$scratch/out")"
expect_status 0 "$CYMEM_STAT" --list -n 09
grep -A1 "^small " "$scratch/out" | grep -q "count 9 blocks$" || fail "-n 09: $(cat "$scratch/out")"
usage_error frobnicate
usage_error replay
usage_error record
# record takes -o alone: an option of the workloads or of the report
# would be ignored.  Bad usage, before anything runs.
for opt in --json --csv -q "-w small" "-a pool" "-r 3" "-S 2" "-s 2" "-n 5" "-t 2" --list; do
    usage_error $opt record -o "$scratch/r.log" -- "$scratch/no-such-program"
    grep -q "record: .* would be ignored" "$scratch/err" || fail "$opt record: $(cat "$scratch/err")"
done

# Unreadable and malformed traces name the file (and the line).
expect_status 2 "$CYMEM_STAT" replay "$scratch/does-not-exist"
grep -q "does-not-exist" "$scratch/err" || fail "missing trace: $(cat "$scratch/err")"
# A name that cannot be a file is not said to be missing: the error is
# the one that stops it.
expect_status 2 "$CYMEM_STAT" replay "$DATA/stat-basic.mtrace/x"
grep -q "stat-basic.mtrace/x': Not a directory$" "$scratch/err" ||
    fail "a file as a directory: $(cat "$scratch/err")"

expect_status 2 "$CYMEM_STAT" replay "$DATA/stat-malformed.mtrace"
grep -q "stat-malformed.mtrace:3: malformed mtrace line" "$scratch/err" ||
    fail "malformed trace: $(cat "$scratch/err")"

# A bad trace stops everything before any workload runs.
expect_status 2 "$CYMEM_STAT" --workload small --iterations 1000 \
    replay "$DATA/stat-basic.mtrace" "$DATA/stat-malformed.mtrace"
test ! -s "$scratch/out" || fail "ran workloads before finding the bad trace"
test "$(wc -l < "$scratch/err")" -eq 1 || fail "bad trace: more than one line"

n=0
for line in '+ 0x1000' '* 0x1000 0x10' '+ zz 0x10' '+ 0x1000 0x10 extra' \
            '> 0x1000 0x10' '@ caller-without-bracket + 0x1000 0x10' \
            '- 0x0' '+0x1000 0x10' '+ 0x1000 0x1ffffffffffffffff' '- ' \
            '> (nil) 0x10' '+ nil 0x10' '+ 0x1000 00' '= Bogus' '=Start' \
            '= Start again' '= Ended'; do
    n=$((n + 1))
    printf '= Start\n+ 0x2000 0x8\n%s\n' "$line" > "$scratch/bad$n.mtrace"
    expect_status 2 "$CYMEM_STAT" replay "$scratch/bad$n.mtrace"
    grep -q "bad$n.mtrace:3: " "$scratch/err" || fail "'$line': $(cat "$scratch/err")"
    test "$(wc -l < "$scratch/err")" -eq 1 || fail "'$line': more than one line"
done
# A NUL byte is no blank and ends no line: such a line is malformed too,
# at the start of the line or after a whole event.
printf '= Start\n+ 0x2000 0x8\n\000\000\n' > "$scratch/nul1.mtrace"
printf '= Start\n+ 0x2000 0x8\n+ 0x3000 0x8\000junk\n' > "$scratch/nul2.mtrace"
for n in 1 2; do
    expect_status 2 "$CYMEM_STAT" replay "$scratch/nul$n.mtrace"
    grep -q "nul$n.mtrace:3: .*NUL" "$scratch/err" || fail "NUL $n: $(cat "$scratch/err")"
done
# No line is longer than 1 MiB (1048576 bytes before its newline): a
# caller's name that long is still a line, a byte more is refused.
long_line() {
    { printf '= Start\n@ ./'; head -c $(($1 - 24)) /dev/zero | tr '\000' a
      printf ':[0x1] + 0x1000 0x10\n= End\n'; } > "$2"
}
long_line 1048576 "$scratch/long1.mtrace"
expect_status 0 "$CYMEM_STAT" --quiet --repeat 1 replay "$scratch/long1.mtrace"
long_line 1048577 "$scratch/long2.mtrace"
expect_status 2 "$CYMEM_STAT" replay "$scratch/long2.mtrace"
grep -q "long2.mtrace:2: malformed mtrace line (longer than 1048576 bytes): '@ ./aaa" \
    "$scratch/err" || fail "a long line: $(cat "$scratch/err")"
test "$(wc -l < "$scratch/err")" -eq 1 || fail "a long line: more than one line"

# A stream (a pipe, a device) is read once, into an unnamed file: one that
# is no trace is refused at its first bad line, as that line of a file
# is, without reading the rest.  Read whole, /dev/zero or an endless
# program would fill the disk: the file size limit and the timeout turn
# that into a failure.
stream() {
    (ulimit -f 20000 2>/dev/null
     if command -v timeout >/dev/null 2>&1; then
         exec timeout 60 "$CYMEM_STAT" "$@"
     fi
     exec "$CYMEM_STAT" "$@")
}
# same_error FILE STREAM: the message of the stream is the file's.
same_error() {
    sed "s|$scratch/$1|STREAM|" "$scratch/err.file" > "$scratch/want"
    sed "s|$2|STREAM|" "$scratch/err" > "$scratch/got"
    cmp -s "$scratch/want" "$scratch/got" ||
        fail "$2: '$(cat "$scratch/got")', the file says '$(cat "$scratch/want")'"
}
# /dev/zero: a line of NUL bytes without end.
head -c 2000000 /dev/zero > "$scratch/zero.mtrace"
expect_status 2 "$CYMEM_STAT" replay "$scratch/zero.mtrace"
mv "$scratch/err" "$scratch/err.file"
expect_status 2 stream replay /dev/zero
grep -q "^cymem-stat: /dev/zero:1: malformed mtrace line (NUL byte): ''$" "$scratch/err" ||
    fail "/dev/zero: $(cat "$scratch/err")"
same_error zero.mtrace /dev/zero
# Lines of text that are no events, at once or after a trace; a line
# without end; a line too long, then more.
for case in "yes|yes|1: malformed mtrace line (unknown event): 'y'" \
            "after|{ printf '= Start\n+ 0x1000 0x10\n'; yes; }|3: malformed mtrace line (unknown event)" \
            "endless|yes | tr -d '\n'|1: malformed mtrace line (longer than 1048576 bytes): 'yyy" \
            "long|cat '$scratch/long2.mtrace'; yes|2: malformed mtrace line (longer than"; do
    name=${case%%|*} rest=${case#*|}
    what=${rest%|*} msg=${rest##*|}
    eval "$what" | head -c 3000000 > "$scratch/$name.mtrace"
    expect_status 2 "$CYMEM_STAT" replay "$scratch/$name.mtrace"
    mv "$scratch/err" "$scratch/err.file"
    { eval "$what" | expect_status 2 stream replay /dev/stdin; } || exit 1
    grep -q -F "/dev/stdin:$msg" "$scratch/err" || fail "$name: $(cat "$scratch/err")"
    test "$(wc -l < "$scratch/err")" -eq 1 || fail "$name: more than one line"
    same_error "$name.mtrace" /dev/stdin
done
# '<' must be followed by '>' at once (at the end of the trace, or before
# a boundary, the '>' line was cut off: see stat-replay.sh).
printf '< 0x2000\n+ 0x3000 0x8\n' > "$scratch/lt.mtrace"
expect_status 2 "$CYMEM_STAT" replay "$scratch/lt.mtrace"
grep -q "lt.mtrace:2: " "$scratch/err" || fail "'<' then '+': $(cat "$scratch/err")"
# A line is cut short only where a boundary follows it on the same line.
printf '+ 0x2000 0x8\n+ 0x3000 0x8 = Ended\n' > "$scratch/glued.mtrace"
expect_status 2 "$CYMEM_STAT" replay "$scratch/glued.mtrace"
grep -q "glued.mtrace:2: " "$scratch/err" || fail "'= Ended': $(cat "$scratch/err")"
exit 0
