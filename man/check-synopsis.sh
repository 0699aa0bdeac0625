#!/bin/sh
# check-synopsis.sh - the SYNOPSIS of the section 3 pages against the
# header: every CYMEM_API prototype of include/cymem.h appears, word for
# word, in the SYNOPSIS of a page listed in pages.am, and every page whose
# SYNOPSIS declares a function that returns something has a RETURN VALUE
# section.
command -v groff >/dev/null 2>&1 || { echo "SKIP: groff is not installed"; exit 77; }
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0

# One declaration a line, blanks squeezed, none next to parentheses.
normalize() {
    tr '\n' ' ' | sed 's/;/;\n/g' |
        sed -e 's/[[:space:]][[:space:]]*/ /g' -e 's/^ //' \
            -e 's/( /(/g' -e 's/ )/)/g' -e 's/ ,/,/g'
}

# The prototypes of the header, without the export and attribute macros.
awk '/^CYMEM_API/ { on = 1 } on { print } on && /;/ { on = 0 }' \
    "$top_srcdir/include/cymem.h" | normalize |
    sed -e 's/CYMEM_ALLOC_SIZE2*([0-9, ]*)//g' \
        -e 's/CYMEM_[A-Z_]* //g' -e 's/^ *//' | grep 'cymem_' >"$tmp/header"
[ -s "$tmp/header" ] || { echo "FAIL: no prototype found in cymem.h"; exit 1; }

pages=$(sed -n '/^dist_man3_MANS/,/[^\\]$/p' "$srcdir/pages.am" |
        sed -e 's/^dist_man3_MANS *+= *//' -e 's/\\//g')
: >"$tmp/all"
for p in $pages; do
    case $(head -n 1 "$srcdir/$p") in .so*) continue ;; esac
    # The SYNOPSIS as the reader sees it, on lines too long to wrap.
    groff -man -Tascii -rLL=250n -P-cbou "$srcdir/$p" 2>/dev/null |
        sed -n '/^SYNOPSIS/,/^[A-Z]/p' | sed '1d;$d' |
        grep -v '^ *#' | normalize >"$tmp/synopsis"
    # Function declarations: a name followed by its parameter list, not a
    # member of a typedef'd structure.
    grep '^[a-z].*[ *]cymem_[a-z_]*(' "$tmp/synopsis" | grep -v '^typedef' >"$tmp/protos"
    cat "$tmp/protos" >>"$tmp/all"
    if grep -v '^void [a-z]' "$tmp/protos" | grep -q .; then
        grep -q '^\.SH "*RETURN VALUE"*$' "$srcdir/$p" ||
            { echo "FAIL: $p declares a function with a result and has no RETURN VALUE"; fail=1; }
    fi
done

while IFS= read -r proto; do
    grep -Fqx -- "$proto" "$tmp/all" ||
        { echo "FAIL: no page has this prototype: $proto"; fail=1; }
done <"$tmp/header"
while IFS= read -r proto; do
    grep -Fqx -- "$proto" "$tmp/header" ||
        { echo "FAIL: a page declares what cymem.h does not: $proto"; fail=1; }
done <"$tmp/all"

[ $fail = 0 ] && echo "ok: $(wc -l <"$tmp/header") prototypes match the header"
exit $fail
