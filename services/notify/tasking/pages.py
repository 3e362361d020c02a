"""The pages a morning message's visit link opens: the form (GET, which never records), then what happened (POST).

Usually a phone in a patrol car outside the site. Whatever goes wrong is said plainly with what to do instead
(sign in and record the visit on the site's page); never a stack trace, never a sign-in wall. What every page of
a link that records at assessment does is in recording_links.py; here, the visit's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from services.notify.recording_links import TEMPLATES, Outcome, RecordingPages, RecordingView, install_recording_pages
from services.notify.tasking.visits import PATH, VisitForm, VisitLinks, read_form
from shared.web.filters import london_input
from shared.web.site import StaffSite
from shared.web.templates import page_templates

STATE = "visit_links"


class VisitPages(RecordingPages[VisitForm]):
    form_template, refused_template = "tasking/visit.html", "tasking/refused.html"

    def _read(self, fields: Mapping[str, str]) -> VisitForm:
        return read_form(fields)

    def _blank(self, view: RecordingView[Any]) -> dict[str, str]:
        return {"visited_at": london_input(self.links.clock.now()), "visited_by": view.person_name}

    def _recorded(self, request: Request, outcome: Outcome[Any, VisitForm]) -> HTMLResponse:
        return self._render(request, "tasking/visited.html", 200, view=outcome.view, recorded=outcome.recorded)

    def _context(self, context: dict[str, Any]) -> dict[str, Any]:
        return {"page_title": "Record a visit"}


def install_visit_pages(app: FastAPI, links: VisitLinks, site: StaffSite) -> None:
    """For main.py: the routes, and what they use on `app.state`."""
    install_recording_pages(app, VisitPages(links, page_templates(TEMPLATES, site=site)), PATH, STATE)
