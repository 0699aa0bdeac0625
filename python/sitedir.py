"""sitedir.py PREFIX - print the directory where this interpreter looks for
packages installed under PREFIX, as Debian's own tools choose it.

Debian's Python searches /usr/local/lib/python3.X/dist-packages (its
"posix_local" scheme, for prefix /usr/local) and /usr/lib/python3/
dist-packages ("deb_system", for prefix /usr), never site-packages.  Any
other interpreter or prefix gets the standard platlib of the interpreter's
"posix_prefix" scheme (PREFIX/lib/python3.X/site-packages), which a user
puts on PYTHONPATH.  configure turns the answer into pyexecdir.
"""
import os
import sys
import sysconfig


def sitedir(prefix):
    prefix = os.path.normpath(prefix)
    schemes = sysconfig.get_scheme_names()
    if prefix == "/usr" and "deb_system" in schemes:
        scheme, base = "deb_system", prefix
    elif prefix == "/usr/local" and "posix_local" in schemes:
        # posix_local inserts the "local" itself: its base is /usr
        scheme, base = "posix_local", "/usr"
    elif os.name == "posix":
        scheme, base = "posix_prefix", prefix
    else:
        scheme, base = sysconfig.get_default_scheme(), prefix
    return sysconfig.get_path("platlib", scheme, vars={"base": base, "platbase": base})


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: sitedir.py PREFIX")
    print(sitedir(sys.argv[1]))
