#!/bin/sh
# check-pages.sh - the section 3 manual: every function and every type
# the header declares has a page or an alias, every page renders without
# a warning, and every page has the sections a man page needs.
fail=0
pages=$(sed -n '/^dist_man3_MANS/,/[^\\]$/p' "$srcdir/pages.am" |
        sed -e 's/^dist_man3_MANS *+= *//' -e 's/\\//g')

# 1. Every CYMEM_API function of the header has a page.
for fn in $(sed -n '/^CYMEM_API/{N;s/\n/ /;p}' "$top_srcdir/include/cymem.h" |
            sed -n 's/.*[ *]\(cymem_[a-z_]*\)(.*/\1/p'); do
    case " $(echo $pages) " in
    *" $fn.3 "*) ;;
    *) echo "FAIL: $fn has no page in pages.am"; fail=1 ;;
    esac
done

# 1b. So has every type it declares (typedef ... name;), so that
# `man cymem_stats' finds where the type is described.
for ty in $(sed -n 's/^typedef struct [a-z_]* \(cymem_[a-z_]*\);$/\1/p; s/^} \(cymem_[a-z_]*\);$/\1/p' \
              "$top_srcdir/include/cymem.h"); do
    case " $(echo $pages) " in
    *" $ty.3 "*) ;;
    *) echo "FAIL: the type $ty has no page in pages.am"; fail=1 ;;
    esac
done

# 2. Every page renders without a warning.
if command -v man >/dev/null 2>&1; then
    for p in $pages; do
        case $(head -n 1 "$srcdir/$p") in .so*) continue ;; esac
        warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$srcdir/$p" 2>&1 >/dev/null)
        if [ -n "$warn" ]; then
            echo "FAIL: $p: $warn"; fail=1
        fi
    done
else
    echo "note: man is not installed, rendering not checked"
fi

# 3. Required sections; aliases point at an existing page.
for p in $pages; do
    first=$(head -n 1 "$srcdir/$p")
    case $first in
    .so*)
        target=$(echo "$first" | sed 's|^\.so man3/||')
        [ -f "$srcdir/$target" ] || { echo "FAIL: $p points at $target"; fail=1; }
        continue ;;
    esac
    for sec in NAME SYNOPSIS DESCRIPTION "SEE ALSO"; do
        grep -q "^\.SH \"*$sec\"*\$" "$srcdir/$p" || { echo "FAIL: $p has no $sec"; fail=1; }
    done
done
[ $fail = 0 ] && echo "ok: $(echo $pages | wc -w) pages"
exit $fail
