"""The pages a routine reminder's link opens: the form (GET, which never records), then what happened (POST).

A phone held outside the building is the usual screen. Whatever goes wrong is said plainly with what to do
instead (sign in and record it on the site's page); never a stack trace, never a sign-in wall. What every page
of a link that records at assessment does is in recording_links.py; here, the routine's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from services.notify.recording_links import TEMPLATES, RecordingPages, install_recording_pages
from services.notify.sites.record import PATH, Outcome, RecordForm, SiteRecordLinks, category_word, read_form
from shared.events.sites import IssueCategory
from shared.web.site import StaffSite
from shared.web.templates import page_templates

STATE = "site_record_links"


class SitePages(RecordingPages[RecordForm]):
    form_template, refused_template = "sites/record.html", "sites/refused.html"

    def _read(self, fields: Mapping[str, str]) -> RecordForm:
        return read_form(fields)

    def _recorded(self, request: Request, outcome: Outcome[Any, RecordForm]) -> HTMLResponse:
        form = outcome.form
        return self._render(request, "sites/recorded.html", 200, view=outcome.view, recorded=outcome.recorded,
                            outcome=form.outcome.value, category=category_word(form.category) if form.category else "")

    def _context(self, context: dict[str, Any]) -> dict[str, Any]:
        view, chosen = context.get("view"), context.get("form", {}).get("category")
        title = f"Record the {view.reminder.routine_name.lower()}" if view else "Record a routine"
        return {"page_title": title, "category_items": [{"value": "", "text": "Choose a kind of issue"}] + [
            {"value": c.value, "text": category_word(c), "selected": chosen == c.value} for c in IssueCategory]}


def install_site_pages(app: FastAPI, links: SiteRecordLinks, site: StaffSite) -> None:
    """For main.py: the routes, and what they use on `app.state`."""
    install_recording_pages(app, SitePages(links, page_templates(TEMPLATES, site=site)), PATH, STATE)
