#!/bin/sh
# cymem-stat(1) renders without warnings and fits 80 columns.
. "${srcdir:-.}/stat-common.sh"

page=$srcdir/../man/cymem-stat.1
command -v man >/dev/null 2>&1 || { echo "SKIP: no man" >&2; exit 77; }
MANWIDTH=80 man --warnings=all -l "$page" > "$scratch/page" 2> "$scratch/warn" ||
    fail "man failed: $(cat "$scratch/warn")"
test ! -s "$scratch/warn" || fail "warnings: $(cat "$scratch/warn")"
awk 'length > 80 { bad = 1 } END { exit bad }' "$scratch/page" || fail "lines over 80 columns"
# Every option and every workload is documented.
for word in --workload --list --scale --iterations --threads --repeat --seed \
            --json --csv --quiet --output --help --version \
            prealloc floats threads server small churn realloc aligned replay record \
            shared shared-xfree pool-ts pool-shared not_applicable \
            internal_fragmentation external_fragmentation reserved_bytes \
            CYMEM_STAT_PRELOAD 'EXIT STATUS' 'SEE ALSO' 'cymem(3)'; do
    grep -q -- "$word" "$scratch/page" || fail "the page does not mention $word"
done
exit 0
