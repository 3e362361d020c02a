"""The design system's files, served by Vigil itself under one versioned prefix, cached for a year.

The version in the URL is a digest of the pinned packages (package-lock.json) and of Vigil's own files,
so a page always names files that match it and a browser never keeps a stale copy: a new version is a
new URL. Only the kinds of file a page loads are served; the packages' Sass, Nunjucks and demo pages
are not.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import os
from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from shared.web.paths import ASSET_FOLDERS, BUILT_CSS, NODE_MODULES, PACKAGE_LOCK, STATIC

log = logging.getLogger(__name__)

ASSET_PREFIX = "/assets"
CACHE_FOR_A_YEAR = "public, max-age=31536000, immutable"
SERVED_SUFFIXES = frozenset({".css", ".js", ".mjs", ".map", ".svg", ".png", ".ico", ".woff", ".woff2"})

for _suffix, _type in ((".mjs", "text/javascript"), (".js", "text/javascript"), (".map", "application/json"),
                       (".woff2", "font/woff2"), (".woff", "font/woff"), (".svg", "image/svg+xml")):
    mimetypes.add_type(_type, _suffix)


class DesignSystemFiles(StaticFiles):
    """StaticFiles answering only page assets, with a year's caching (their URLs carry the version)."""

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        if Path(path).suffix.lower() not in SERVED_SUFFIXES:
            return "", None
        return super().lookup_path(path)

    def file_response(self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = CACHE_FOR_A_YEAR
        return response

    async def check_config(self) -> None:
        """A folder not built yet answers 404s (logged once at mount), not a 500 on every request."""


@lru_cache(maxsize=1)
def asset_version() -> str:
    digest = hashlib.sha256()
    for path in [PACKAGE_LOCK, BUILT_CSS, *sorted(p for p in STATIC.rglob("*") if p.is_file())]:
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def asset_url(path: str) -> str:
    """The URL of an asset, e.g. asset_url("build/design-system.css") or asset_url("htmx/htmx.min.js")."""
    return f"{ASSET_PREFIX}/{asset_version()}/{path.lstrip('/')}"


def mount_design_system(app: FastAPI) -> None:
    """Serve GOV.UK Frontend, MOJ Frontend, htmx, Swagger UI and Vigil's own files from this app."""
    if not NODE_MODULES.is_dir() or not BUILT_CSS.is_file():
        log.warning("the design system is not installed or built; pages will be unstyled until "
                    "`make setup` (infra/assets.py) has run")
    for folder, directory in ASSET_FOLDERS.items():
        app.mount(asset_url(folder), DesignSystemFiles(directory=directory, check_dir=False),
                  name=f"assets-{folder}")
