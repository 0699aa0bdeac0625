"""distinfo.py SITEDIR VERSION SUMMARY - write SITEDIR/cymem-VERSION.dist-info
(METADATA, INSTALLER, RECORD) for the package installed in SITEDIR/cymem,
so that importlib.metadata, pip list and pip uninstall know it.  RECORD
lists every file of the package with its sha256 and size, as a wheel
install would (see the "Recording installed projects" specification),
and the byte code that make install compiled, so that pip uninstall
removes it too.
The dist-info of an earlier version that make installed there goes, as
pip removes the old version's on an upgrade."""
import base64
import hashlib
import os
import shutil
import sys

METADATA = """\
Metadata-Version: 2.1
Name: cymem
Version: {version}
Summary: {summary}
License: MIT
Requires-Python: >=3.7
"""


def record_line(site, path):
    rel = os.path.relpath(path, site).replace(os.sep, "/")
    if os.path.basename(os.path.dirname(path)) == "__pycache__":
        return "%s,,\n" % rel      # byte code, listed without a hash as pip does
    with open(path, "rb") as f:
        data = f.read()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "%s,sha256=%s,%d\n" % (rel, digest.decode("ascii"), len(data))


def installed_by_make(info):
    try:
        with open(os.path.join(info, "INSTALLER")) as f:
            return f.read().strip() == "make"
    except OSError:
        return False


def main(site, version, summary):
    info = os.path.join(site, "cymem-%s.dist-info" % version)
    for name in os.listdir(site):
        old = os.path.join(site, name)
        if (name.startswith("cymem-") and name.endswith(".dist-info") and old != info
                and installed_by_make(old)):
            shutil.rmtree(old)
    os.makedirs(info, exist_ok=True)
    with open(os.path.join(info, "METADATA"), "w") as f:
        f.write(METADATA.format(version=version, summary=summary))
    with open(os.path.join(info, "INSTALLER"), "w") as f:
        f.write("make\n")
    files = []
    for top in (os.path.join(site, "cymem"), info):
        for root, dirs, names in os.walk(top):
            dirs.sort()
            files += [os.path.join(root, n) for n in sorted(names) if n != "RECORD"]
    with open(os.path.join(info, "RECORD"), "w") as f:
        for path in files:
            f.write(record_line(site, path))
        f.write("cymem-%s.dist-info/RECORD,,\n" % version)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: distinfo.py SITEDIR VERSION SUMMARY")
    main(*sys.argv[1:])
