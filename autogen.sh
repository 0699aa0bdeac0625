#!/bin/sh
# Regenerate the build system from a git checkout: configure, Makefile.in, ...
set -e
cd "$(dirname "$0")"
exec autoreconf -fi "$@"
