#!/bin/sh
# test-symbols.sh - the shared library exports cymem_* functions only,
# every function the header declares CYMEM_API, and exactly what the ABI
# record of this version lists (abi/libcymem-VERSION.symbols: the soname
# and the symbols); what an earlier version's record lists is still there.
# The Debian symbols file, in a checkout that has one, lists the same.
lib=$top_builddir/lib/.libs/libcymem.so
[ -f "$lib" ] || { echo "SKIP: no shared library"; exit 77; }
command -v nm >/dev/null 2>&1 || { echo "SKIP: no nm"; exit 77; }
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVWi]$/ { print $3 }' | sort)
fail=0
for s in $exported; do
    case $s in
    cymem__*) echo "FAIL: internal symbol $s is exported"; fail=1 ;;
    cymem_*) ;;
    _init|_fini|_edata|_end|__bss_start) ;;
    *) echo "FAIL: exported symbol $s"; fail=1 ;;
    esac
done
for fn in $(sed -n '/^CYMEM_API/{N;s/\n/ /;p}' "$top_srcdir/include/cymem.h" |
            sed -n 's/.*[ *]\(cymem_[a-z_]*\)(.*/\1/p'); do
    echo "$exported" | grep -qx "$fn" || { echo "FAIL: $fn is not exported"; fail=1; }
done
exported=$(echo "$exported" | grep '^cymem_')

# The ABI record.  An added function is a new line in this version's
# record; a removed or changed one is an ABI break (README.md).
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$top_builddir/config.h")
abi=$top_srcdir/abi
record=$abi/libcymem-$version.symbols
names() { grep -v -e '^#' -e '^soname ' -e '^$' "$1" | sort; }
if [ ! -f "$record" ]; then
    echo "FAIL: no ABI record abi/libcymem-$version.symbols; start it from the"
    echo "  last one (README.md, \"Versions and ABI\")"; fail=1
else
    recorded=$(names "$record")
    added=$(for s in $exported; do echo "$recorded" | grep -qx "$s" || echo "$s"; done)
    gone=$(for s in $recorded; do echo "$exported" | grep -qx "$s" || echo "$s"; done)
    if [ -n "$added" ]; then
        echo "FAIL: exported but not in the ABI record.  Add these lines to"
        echo "  abi/libcymem-$version.symbols:"
        echo "$added" | sed 's/^/    /'
        if [ -f "$top_srcdir/debian/libcymem0.symbols" ]; then
            echo "  and these to debian/libcymem0.symbols:"
            echo "$added" | sed "s/.*/     &@Base $version/"
        fi
        fail=1
    fi
    if [ -n "$gone" ]; then
        echo "FAIL: in abi/libcymem-$version.symbols but not exported:"
        echo "$gone" | sed 's/^/    /'; fail=1
    fi
    want=$(sed -n 's/^soname //p' "$record")
    soname=$(objdump -p "$lib" 2>/dev/null | awk '$1 == "SONAME" { print $2 }')
    [ -z "$soname" ] || [ "$soname" = "$want" ] ||
        { echo "FAIL: soname $soname, the ABI record says $want"; fail=1; }
fi
for old in "$abi"/libcymem-*.symbols; do
    [ -f "$old" ] && [ "$old" != "$record" ] || continue
    for s in $(names "$old"); do
        echo "$exported" | grep -qx "$s" ||
            { echo "FAIL: $s of $(basename "$old") is gone: an ABI break"; fail=1; }
    done
done
deb=$top_srcdir/debian/libcymem0.symbols
if [ -f "$deb" ]; then
    listed=$(sed -n 's/^ \(cymem_[a-z_0-9]*\)@Base .*/\1/p' "$deb" | sort)
    [ "$listed" = "$exported" ] || { fail=1
        echo "FAIL: debian/libcymem0.symbols does not list what is exported:"
        echo "  listed:  " $listed
        echo "  exported:" $exported; }
fi
[ $fail = 0 ] && echo "ok: $(echo "$exported" | wc -l) cymem_ functions, nothing else, as abi/libcymem-$version.symbols records"
exit $fail
