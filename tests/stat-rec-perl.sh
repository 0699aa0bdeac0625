#!/bin/sh
# record a perl that forks: parent and child write logs of their own, none
# spliced into the other.
. "${srcdir:-.}/stat-common.sh"
need_python
need_record

record_program perl -e 'my $p = fork; die "fork: $!" unless defined $p;
    if ($p) { waitpid($p, 0); exit($? >> 8) }
    my @a = map { "x" x $_ } 1 .. 2000; exit 0'
test "$nlogs" -eq 2 || fail "perl with one fork: $nlogs logs"
# Each log is well formed on its own: it replays, and every line is whole.
whole_lines "$scratch"/perl.log.*
replay_recording perl
exit 0
