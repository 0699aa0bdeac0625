#!/bin/sh
# record make, which starts a shell per recipe line.
. "${srcdir:-.}/stat-common.sh"
need_python
need_record

sh=$(system_program sh) || exit 77
cd "$scratch" || exit 99
printf 'all: a b\na:\n\t@echo a > a.out; cat a.out > /dev/null\nb:\n\t@true\n' > Makefile
record_program make -s -f Makefile SHELL="$sh"
test "$nlogs" -ge 2 || fail "make: $nlogs logs"
replay_recording make
exit 0
