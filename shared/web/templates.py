"""The Jinja environment every service's pages are rendered in: its own templates, Vigil's layout, the
GOV.UK Frontend macros (govuk-frontend-jinja, the maintained port matching the pinned govuk-frontend),
Vigil's thin MOJ Frontend macros, the filters and `asset_url`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader, select_autoescape

from shared.web.assets import asset_url
from shared.web.filters import bidi_isolate, humanise, london_input, london_time
from shared.web.site import StaffSite


def _untranslated(text: str) -> str:
    return text


def page_environment(directories: Sequence[str | Path] = (), site: StaffSite | None = None) -> Environment:
    loader = ChoiceLoader([
        FileSystemLoader([str(d) for d in directories]),
        PackageLoader("shared.web", "templates"),
        PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
    ])
    env = Environment(loader=loader, autoescape=select_autoescape(["html", "xml"], default_for_string=True))
    env.filters.update(london_time=london_time, london_input=london_input, humanise=humanise,
                       bidi_isolate=bidi_isolate)
    env.globals.update(asset_url=asset_url, site=site or StaffSite(), _=_untranslated)
    return env


def page_templates(*directories: str | Path, site: StaffSite | None = None) -> Jinja2Templates:
    """Templates for a service's pages: `{% extends "vigil/layout.html" %}` and fill `content`.

    A page's context may carry `viewer` (a shared.web.site.Viewer: the identity bar and navigation),
    `nav_current` (the key of its navigation link), `page_title`, and for public pages `public=True`
    with `quick_exit_url`, `lang`, `dir` and a gettext `_`. docs/pages.md has the whole list.
    """
    return Jinja2Templates(env=page_environment(directories, site))
