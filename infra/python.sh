#!/bin/sh
# Prints the interpreter `make` builds the virtualenv with (ADR 0029).
#
# The operating system's own python3 (found on the system's default PATH: `command -v -p`) when it is 3.11
# or newer and can make a virtualenv with pip: distributions build CPython with profile-guided and
# link-time optimisation, while an interpreter earlier on a user's PATH may not have them (pyenv's default
# build has neither). On intake's report route that was worth 20% more reports/s at peak. Otherwise
# python3 from PATH. `make PYTHON=python3.12 ...` chooses another.
usable() {
  "$1" -c 'import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1
}
system=$(command -p -v python3 2>/dev/null)
if [ -n "$system" ] && usable "$system"; then
  echo "$system"
else
  echo python3
fi
