#!/bin/sh
# --help, --version and --list exit 0 and say what they should; output
# that cannot be written is status 1.
. "${srcdir:-.}/stat-common.sh"

expect_status 0 "$CYMEM_STAT" --help
grep -q "^Usage: cymem-stat" "$scratch/out" || fail "--help: no usage line"
for opt in --workload --allocators --list --scale --iterations --threads --repeat --seed \
           --json --csv --quiet --output --help --version; do
    grep -q -- "$opt" "$scratch/out" || fail "--help does not mention $opt"
done
expect_status 0 "$CYMEM_STAT" -h

expect_status 0 "$CYMEM_STAT" --version
head -n 1 "$scratch/out" | grep -q "^cymem-stat (libcymem) [0-9][0-9.]*" ||
    fail "--version: $(head -n 1 "$scratch/out")"
grep -q "^library: libcymem [0-9]" "$scratch/out" || fail "--version: no library version"
expect_status 0 "$CYMEM_STAT" -V

expect_status 0 "$CYMEM_STAT" --list
for w in small small-free prealloc churn server realloc threads destroy floats aligned \
         shared shared-xfree replay; do
    grep -q "^$w " "$scratch/out" || fail "--list does not name $w"
done
# --scale shows in the counts --list prints.
expect_status 0 "$CYMEM_STAT" --list --scale 0.5
grep -A1 "^small " "$scratch/out" | grep -q "count 500000 blocks$" || fail "--list --scale"

# Output that cannot be written is a failure, even for --help.
if test -w /dev/full; then
    for opt in --help --list --version; do
        "$CYMEM_STAT" $opt > /dev/full 2> "$scratch/err" && fail "$opt > /dev/full: status 0"
        grep -q "write error" "$scratch/err" || fail "$opt > /dev/full: $(cat "$scratch/err")"
    done
fi

# So is an --output that cannot be opened, said before anything runs.
expect_status 1 "$CYMEM_STAT" -q -r 1 -n 100 -w small -o "$scratch/no-such-dir/report"
grep -q "cannot write '.*no-such-dir/report': No such file" "$scratch/err" ||
    fail "--output in no directory: $(cat "$scratch/err")"

# --output writes the report to a file.
expect_status 0 "$CYMEM_STAT" -q -r 1 -n 100 -w small -o "$scratch/report"
test ! -s "$scratch/out" || fail "--output: report on stdout too"
grep -q "^small" "$scratch/report" || fail "--output: no report in the file"
exit 0
