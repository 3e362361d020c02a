#!/bin/sh
# Refresh the lock files from pyproject.toml (make lock). requirements-dev.lock (runtime, dev and the
# build backend) is what `make` installs; requirements.lock (runtime only, the same versions) is what
# the container image installs. Every line carries its hashes: pip installs with --require-hashes.
# UPGRADE=1 moves every package to the newest version its range allows; without it the versions already
# locked are kept and only what is new in pyproject.toml is resolved.
set -eu
cd "$(dirname "$0")/.."
UV="${UV:-.venv/bin/uv}"
# pip itself is left out (pip-audit's pip-api needs one): it is the installer, already in the environment.
"$UV" pip compile pyproject.toml infra/python-build.in --extra dev --generate-hashes --universal \
  --python-version 3.11 --quiet --no-emit-package pip ${UPGRADE:+--upgrade} -o requirements-dev.lock
pins="$(mktemp)"
trap 'rm -f "$pins"' EXIT
sed 's/ \\$//' requirements-dev.lock | grep -E '^[a-z0-9]' > "$pins"
{
  echo "# The runtime packages of requirements-dev.lock, at the same versions: written by infra/lock.sh"
  "$UV" pip compile pyproject.toml infra/python-build.in --generate-hashes --universal \
    --python-version 3.11 --constraint "$pins" --no-header --no-annotate
} > requirements.lock
echo "requirements-dev.lock and requirements.lock refreshed; run make test before committing them"
