"""Install the pinned front-end packages and build the design system's stylesheet, when either is stale.

`npm ci` installs exactly what package-lock.json says (no install scripts run: nothing is fetched beyond
the packages themselves); Dart Sass then compiles GOV.UK Frontend and MOJ Frontend with Vigil's
settings (shared/web/sass) into shared/web/build/. Both are skipped while their outputs are newer than
their inputs, so `make setup` costs nothing on a second run. Run it as `python -m infra.assets`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from shared.web.paths import (
    BUILT_CSS,
    INSTALLED_STAMP,
    NODE_MODULES,
    PACKAGE_JSON,
    PACKAGE_LOCK,
    REPO_ROOT,
    SASS_ENTRY,
    SASS_SOURCES,
)

NPM_CI = ["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--include=dev", "--omit=optional"]
NEEDS_NPM = ("npm (with Node.js 20.19 or newer) is needed to install Vigil's front-end packages; "
             "on Debian: apt-get install nodejs npm")


class AssetsError(RuntimeError):
    """The front-end packages could not be installed or the stylesheet built; the message says why."""


def ensure_assets() -> None:
    """Install the packages if node_modules is missing or older than package-lock.json; rebuild the CSS."""
    if _stale(INSTALLED_STAMP, [PACKAGE_LOCK, PACKAGE_JSON]):
        install_packages()
    if _stale(BUILT_CSS, [INSTALLED_STAMP, *SASS_SOURCES.rglob("*.scss")]):
        build_stylesheet()


def install_packages() -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise AssetsError(NEEDS_NPM)
    print("Installing the pinned front-end packages (npm ci) ...", file=sys.stderr)
    _run([npm, *NPM_CI], "npm ci")
    INSTALLED_STAMP.touch()


def build_stylesheet() -> None:
    sass = NODE_MODULES / ".bin" / "sass"
    if shutil.which("node") is None:
        raise AssetsError(NEEDS_NPM)
    if not sass.exists():
        raise AssetsError(f"{sass} is missing: run `npm ci` (or delete node_modules and run make setup again)")
    BUILT_CSS.parent.mkdir(parents=True, exist_ok=True)
    partial = BUILT_CSS.with_suffix(".tmp")
    _run([str(sass), "--pkg-importer=node", f"--load-path={REPO_ROOT}", "--style=compressed", "--no-source-map",
          "--quiet-deps", str(SASS_ENTRY), str(partial)], "sass")
    partial.replace(BUILT_CSS)


def _run(command: list[str], name: str) -> None:
    """Quiet when it works (Sass warns about the packages' own deprecations); everything shown when not."""
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise AssetsError(f"{name} failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")


def _stale(output: Path, inputs: Iterable[Path]) -> bool:
    if not output.exists():
        return True
    built = output.stat().st_mtime
    return any(source.exists() and source.stat().st_mtime > built for source in inputs)


if __name__ == "__main__":
    try:
        ensure_assets()
    except AssetsError as e:
        sys.exit(str(e))
