"""The reporter's follow-up pages: progress, adding information and withdrawing, in the form's languages.

The reference and the follow-up code travel only in POST bodies, never in a URL (where history, logs
and referrers would keep them), and nothing is kept in the browser: each page carries them on in hidden
fields to its next step. Withdrawing asks for confirmation first, since it cannot be undone online.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from services.intake.application import IntakeApp, StatusView, UnknownReport, Withdrawn
from services.intake.deps import IntakeDep, PagesDep, WithdrawalsDep
from services.intake.domain import Status, UpdateIn
from services.intake.page_guards import chosen_language, csrf_ok, csrf_value, issue_csrf, rate_limited
from services.intake.pages import Pages
from shared.crypto import KeyDestroyed

follow_up_router = APIRouter(include_in_schema=False)
LOCAL_TIME = ZoneInfo("Europe/London")


def N_(message: str) -> str:
    """The gettext marker for extraction; templates translate at render time."""
    return message


STATUS_TEXT = {
    Status.received: N_("Received: it is waiting to be checked"),
    Status.triaged: N_("Checked: the police have looked at it"),
    Status.with_the_police: N_("With the police: officers are dealing with it"),
    Status.closed: N_("Closed"),
    Status.withdrawn: N_("Withdrawn: you withdrew it"),
}
NOT_FOUND = N_("We could not find a report with this reference and follow-up code. Check them and try again.")
MISSING = N_("Enter the reference and the follow-up code")
NO_INFORMATION = N_("Enter the information you want to add")
TOO_LONG = N_("This answer is too long")
ADDED = N_("Thank you. Your information has been added to your report.")
WITHDRAWN = N_("You have withdrawn your report.")
EXPIRED = N_("Your session expired. Please check your answers and send the form again.")


def local_time(iso: str | None) -> str:
    """A time as the reporter reads it: UK local, with the zone (GMT or BST)."""
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(LOCAL_TIME).strftime("%d/%m/%Y %H:%M %Z")


def page(pages: Pages, request: Request, name: str, lang: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A follow-up page whose forms carry a fresh CSRF token."""
    csrf = csrf_value(request)
    response = pages.render(name, lang, status=status, csrf_token=pages.signer.dumps(csrf), **context)
    return issue_csrf(pages, response, csrf)


def status_page(pages: Pages, request: Request, lang: str, view: StatusView, token: str, status: int = 200,
                **context: Any) -> HTMLResponse:
    return page(pages, request, "follow_up.html", lang, status, view=view, token=token,
                status_text=STATUS_TEXT[view.status], withdrawn=view.status == Status.withdrawn,
                received=local_time(view.received_at), updated=local_time(view.updated_at),
                erase_after=local_time(view.erase_after), **context)


async def posted(request: Request, pages: Pages, lang: str) -> dict[str, str] | Response:
    """The form's fields, or the answer to give instead: another language's page, a forged post, too many."""
    if lang not in pages.catalogues.names:
        return RedirectResponse(f"/{chosen_language(request, pages)}/follow-up", status_code=303)
    form = {k: str(v).strip() for k, v in (await request.form()).items()}
    if not csrf_ok(pages, request, form.get("csrf", "")):
        return page(pages, request, "follow_up_start.html", lang, status=403, error=EXPIRED, reference="")
    return rate_limited(pages, request) or form


async def current(app: IntakeApp, pages: Pages, request: Request, lang: str,
                  form: dict[str, str]) -> StatusView | Response:
    """The report's status for the reference and code posted, or the page that says why not."""
    reference, token = form.get("reference", "").upper(), form.get("token", "")
    if not reference or not token:
        return page(pages, request, "follow_up_start.html", lang, 422, error=MISSING, reference=reference)
    try:
        view: StatusView = await run_in_threadpool(app.status, reference, token)
    except UnknownReport:
        return page(pages, request, "follow_up_start.html", lang, 422, error=NOT_FOUND, reference=reference)
    except KeyDestroyed:
        return pages.render("follow_up_gone.html", lang, status=410)
    return view


async def report_of(request: Request, pages: Pages, app: IntakeApp,
                    lang: str) -> tuple[dict[str, str], StatusView] | Response:
    """Every step after the first: the posted fields and the report they open, or the page to show instead."""
    form = await posted(request, pages, lang)
    if isinstance(form, Response):
        return form
    view = await current(app, pages, request, lang, form)
    return view if isinstance(view, Response) else (form, view)


@follow_up_router.get("/{lang}/follow-up", response_class=HTMLResponse)
def start(lang: str, request: Request, pages: PagesDep) -> Response:
    if lang not in pages.catalogues.names:
        return RedirectResponse(f"/{chosen_language(request, pages)}/follow-up", status_code=303)
    return page(pages, request, "follow_up_start.html", lang, reference="")


@follow_up_router.post("/{lang}/follow-up", response_class=HTMLResponse)
async def show_status(lang: str, request: Request, pages: PagesDep, app: IntakeDep) -> Response:
    found = await report_of(request, pages, app, lang)
    if isinstance(found, Response):
        return found
    form, view = found
    return status_page(pages, request, lang, view, form["token"])


@follow_up_router.post("/{lang}/follow-up/information", response_class=HTMLResponse)
async def add_information(lang: str, request: Request, pages: PagesDep, app: IntakeDep) -> Response:
    found = await report_of(request, pages, app, lang)
    if isinstance(found, Response):
        return found
    form, view = found
    try:
        update = UpdateIn(information=form.get("information", ""), ongoing=True if form.get("ongoing") else None)
    except ValidationError as e:
        too_long = any(err["type"] == "string_too_long" for err in e.errors())
        return status_page(pages, request, lang, view, form["token"], 422, error=TOO_LONG if too_long
                           else NO_INFORMATION, information=form.get("information", ""))
    try:
        view = await run_in_threadpool(app.add_update, view.reference, form["token"], update)
    except Withdrawn:
        return status_page(pages, request, lang, view, form["token"])
    return status_page(pages, request, lang, view, form["token"], notice=ADDED)


@follow_up_router.post("/{lang}/follow-up/withdraw", response_class=HTMLResponse)
async def confirm_withdrawal(lang: str, request: Request, pages: PagesDep, app: IntakeDep) -> Response:
    found = await report_of(request, pages, app, lang)
    if isinstance(found, Response):
        return found
    form, view = found
    if view.status == Status.withdrawn:
        return status_page(pages, request, lang, view, form["token"])
    return page(pages, request, "follow_up_withdraw.html", lang, view=view, token=form["token"])


@follow_up_router.post("/{lang}/follow-up/withdraw/confirmed", response_class=HTMLResponse)
async def withdraw(lang: str, request: Request, pages: PagesDep, app: IntakeDep,
                   withdrawals: WithdrawalsDep) -> Response:
    found = await report_of(request, pages, app, lang)
    if isinstance(found, Response):
        return found
    form, view = found
    reason = form.get("reason", "")[:2000] or None
    try:
        await run_in_threadpool(withdrawals.withdraw, view.reference, form["token"], reason)
        view = await run_in_threadpool(app.status, view.reference, form["token"])
    except KeyDestroyed:
        return pages.render("follow_up_gone.html", lang, status=410)
    return status_page(pages, request, lang, view, form["token"], notice=WITHDRAWN)
