"""Notify's staff pages: who is on call, the escalation policies, overrides, and what was sent or gave up.

Staff sign in at triage; a browser without a sign-in is sent there and comes back. Roles are the JSON API's
(reading for Duty Inspectors, supervisors and administrators; changes for supervisors and administrators).
Every change is an ordinary form carrying the session's CSRF token, read into the API's body model and made
through the same service method, then answered with a redirect to a page that says what happened
(post/redirect/get); what it says is chosen from fixed sentences, never taken from the URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.notify.chase.rota import Override, RotaService, UnknownOverride, UnknownPerson
from services.notify.deps import MANAGERS, VIEWERS, LedgerDep, PageCaller, Pages, PagesDep, RotaDep
from services.notify.ledger import DeliveryError, LedgerService, UnknownDelivery
from services.notify.pages import views
from services.notify.pages.forms import FieldError, FormDep, FormInvalid, SubmittedForm
from services.notify.pages.listing import PAGE_SIZE, LedgerFilters, pagination
from services.notify.policy import DEFAULT_AREA
from shared.problems import Forbidden, NotFound, prefers_html
from shared.staffaccess import Caller
from shared.web.filters import london_input
from shared.web.site import Viewer

TEMPLATES = Path(__file__).resolve().parent / "templates"
router = APIRouter(include_in_schema=False)

DONE = {
    "override-added": ("overrides", "Override added. Until it ends, it decides who is on call for its area."),
    "override-removed": ("overrides", "Override removed. The area's rota applies again."),
    "retried": ("attention", "The notification will be sent again from its first attempt."),
    "resolved": ("attention", "The notification is marked as dealt with. It will not be sent again."),
}
EXPIRED = "This form has expired. Go back, reload the page and try again."


@dataclass(frozen=True)
class Screen:
    """One request for a page: who is asking, and what the page may use."""

    request: Request
    caller: Caller
    pages: Pages

    @property
    def names(self) -> views.Names:
        return views.Names(self.pages.directory, self.pages.areas, self.pages.staff)

    def covers(self, area: str) -> bool:
        """Need to know: an account limited to some areas sees those (and the default set-up every area uses)."""
        return area == DEFAULT_AREA or self.caller.covers(area)

    @property
    def can_manage(self) -> bool:
        return bool(self.caller.roles & MANAGERS)

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        response = self.pages.templates.TemplateResponse(self.request, template, {
            "viewer": viewer(self.caller), "nav_current": "notify", "can_manage": self.can_manage, **context},
            status_code=status)
        response.headers["Cache-Control"] = "no-store"
        return response


def screen(request: Request, caller: Caller | None, pages: Pages, roles: frozenset[str]) -> Screen | Response:
    """The screen for a member of staff in one of `roles`; a redirect to sign-in for anyone not signed in."""
    if caller is None:
        back = str(request.url) if request.method == "GET" else str(request.url_for("home"))
        return RedirectResponse(pages.site.sign_in_url(back), status_code=303)
    request.state.viewer = viewer(caller)  # the identity bar on an error page too
    if not caller.roles & roles:
        raise Forbidden("notifications and the rota are for Duty Inspectors, supervisors and administrators"
                        if roles == VIEWERS else "only supervisors and administrators can change this")
    return Screen(request, caller, pages)


def viewer(caller: Caller) -> Viewer:
    return Viewer(caller.display_name or caller.name, caller.roles, caller.csrf_token)


def changing(request: Request, caller: Caller | None, pages: Pages, form: SubmittedForm) -> Screen | Response:
    found = screen(request, caller, pages, MANAGERS)
    if isinstance(found, Screen) and not form.csrf_matches(found.caller):
        raise Forbidden(EXPIRED)
    return found


def after(key: str, filters: LedgerFilters | None = None) -> RedirectResponse:
    """Back to the home page, at the section changed, saying what was done."""
    return RedirectResponse((filters or LedgerFilters()).url(DONE[key][0], done=key), status_code=303)


# --- the home page --------------------------------------------------------------------------------

@router.get("/", name="home")
def home(request: Request, caller: PageCaller, pages: PagesDep, rota: RotaDep, ledger: LedgerDep,
         status: str | None = None, channel: str | None = None, page: str | None = None,
         done: str | None = None) -> Response:
    if not prefers_html(request.headers.get("accept")):
        raise NotFound("there is no page here for an API client: notify's staff API is under /v1")
    found = screen(request, caller, pages, VIEWERS)
    if not isinstance(found, Screen):
        return found
    flash = DONE[done][1] if done in DONE else ""
    return show_home(found, rota, ledger, LedgerFilters.read(status, channel, page), flash=flash)


def show_home(screen: Screen, rota: RotaService, ledger: LedgerService, filters: LedgerFilters,
              status: int = 200, flash: str = "", form: dict[str, str] | None = None,
              errors: list[FieldError] | None = None, problem: str = "") -> HTMLResponse:
    names, now, within = screen.names, rota.clock.now(), screen.caller.areas
    recent = ledger.recent(filters.status, filters.channel, filters.offset, PAGE_SIZE, within)
    people = sorted(screen.pages.directory.people.items(), key=lambda p: p[1].name)
    return screen.render(
        "notify/home.html", status=status, page_title="Notifications and on call",
        board=views.on_call_board([d for d in rota.board() if screen.covers(d.area)], names),
        policies=views.policies(screen.pages.directory, names),
        overrides=views.overrides(their_overrides(screen, rota), names, now),
        give_ups=views.deliveries(ledger.give_ups(within), names),
        recent=views.deliveries(recent.rows, names), total=recent.total, filters=filters,
        pagination=pagination(filters, recent.total), statuses=views.STATUS_CHOICES, channels=views.CHANNELS,
        areas=sorted((a for a in screen.pages.areas.all() if screen.covers(a.code)), key=lambda a: a.name),
        people=[(k, p.name) for k, p in people],
        form=form or {"starts_at": london_input(now)}, errors=errors or [],
        error_for={e.field: e.message for e in errors or []}, flash=flash, problem=problem,
        triage_url=screen.pages.site.triage_url)


# --- overrides ------------------------------------------------------------------------------------

@router.post("/rota/overrides")
def add_override(request: Request, caller: PageCaller, form: FormDep, pages: PagesDep, rota: RotaDep,
                 ledger: LedgerDep) -> Response:
    found = changing(request, caller, pages, form)
    if not isinstance(found, Screen):
        return found
    try:
        new = form.new_override(pages.areas, set(pages.directory.people), rota.clock.now())
        if not found.covers(new.area):
            raise FormInvalid([FieldError("area", "Select one of your areas")])
        rota.set_override(new.area, new.body.person_id, new.body.starts_at, new.body.ends_at, found.caller.name,
                          new.body.reason)
    except FormInvalid as e:
        return show_home(found, rota, ledger, LedgerFilters(), 422, form=form.fields, errors=e.errors)
    except UnknownPerson:
        errors = [FieldError("person_id", "Select who will be on call")]
        return show_home(found, rota, ledger, LedgerFilters(), 422, form=form.fields, errors=errors)
    return after("override-added")


@router.get("/rota/overrides/{override_id}/remove")
def confirm_removal(request: Request, override_id: str, caller: PageCaller, pages: PagesDep,
                    rota: RotaDep) -> Response:
    found = screen(request, caller, pages, MANAGERS)
    if not isinstance(found, Screen):
        return found
    chosen = [o for o in views.overrides(their_overrides(found, rota), found.names, rota.clock.now())
              if o.override_id == override_id]
    if not chosen:
        raise NotFound("there is no such override: it has ended or was removed already")
    return found.render("notify/remove-override.html", page_title="Remove this override?", override=chosen[0])


@router.post("/rota/overrides/{override_id}/remove")
def remove_override(request: Request, override_id: str, caller: PageCaller, form: FormDep, pages: PagesDep,
                    rota: RotaDep) -> Response:
    found = changing(request, caller, pages, form)
    if not isinstance(found, Screen):
        return found
    if not any(o.override_id == override_id for o in their_overrides(found, rota)):
        raise NotFound("there is no such override: it has ended or was removed already")
    try:
        rota.remove_override(override_id, found.caller.name, form.note().reason)
    except UnknownOverride as e:
        raise NotFound("there is no such override: it has ended or was removed already") from e
    except FormInvalid as e:
        return confirm_again(found, rota, override_id, e)
    return after("override-removed")


def their_overrides(screen: Screen, rota: RotaService) -> list[Override]:
    return [o for o in rota.overrides() if screen.covers(o.area)]


def confirm_again(found: Screen, rota: RotaService, override_id: str, e: FormInvalid) -> Response:
    chosen = [o for o in views.overrides(their_overrides(found, rota), found.names, rota.clock.now())
              if o.override_id == override_id]
    if not chosen:
        raise NotFound("there is no such override: it has ended or was removed already")
    return found.render("notify/remove-override.html", status=422, page_title="Remove this override?",
                        override=chosen[0], errors=e.errors, error_for={x.field: x.message for x in e.errors})


# --- give-ups -------------------------------------------------------------------------------------

@router.post("/notifications/{notification_id}/retry")
def retry(request: Request, notification_id: str, caller: PageCaller, form: FormDep, pages: PagesDep,
          rota: RotaDep, ledger: LedgerDep) -> Response:
    found = changing(request, caller, pages, form)
    if not isinstance(found, Screen):
        return found
    filters = LedgerFilters.read(form.get("status"), form.get("channel"), form.get("page"))
    if ledger.find(notification_id, found.caller.areas) is None:
        raise NotFound("there is no such notification")
    try:
        ledger.retry(notification_id, found.caller.name)
    except UnknownDelivery as e:
        raise NotFound("there is no such notification") from e
    except DeliveryError as e:
        return show_home(found, rota, ledger, filters, 409, problem=_sentence(e))
    return after("retried", filters)


@router.get("/notifications/{notification_id}/resolve")
def confirm_resolution(request: Request, notification_id: str, caller: PageCaller, pages: PagesDep,
                       ledger: LedgerDep, status: str | None = None, channel: str | None = None,
                       page: str | None = None) -> Response:
    found = screen(request, caller, pages, MANAGERS)
    if not isinstance(found, Screen):
        return found
    return resolution_page(found, ledger, notification_id, LedgerFilters.read(status, channel, page))


def resolution_page(found: Screen, ledger: LedgerService, notification_id: str, filters: LedgerFilters,
                    status: int = 200, errors: list[FieldError] | None = None) -> Response:
    row = ledger.find(notification_id, found.caller.areas)
    if row is None:
        raise NotFound("there is no such notification")
    return found.render("notify/resolve.html", status=status, page_title="Mark this notification as dealt with?",
                        delivery=views.delivery(row, found.names), filters=filters, errors=errors or [],
                        error_for={e.field: e.message for e in errors or []})


@router.post("/notifications/{notification_id}/resolve")
def resolve(request: Request, notification_id: str, caller: PageCaller, form: FormDep, pages: PagesDep,
            rota: RotaDep, ledger: LedgerDep) -> Response:
    found = changing(request, caller, pages, form)
    if not isinstance(found, Screen):
        return found
    filters = LedgerFilters.read(form.get("status"), form.get("channel"), form.get("page"))
    if ledger.find(notification_id, found.caller.areas) is None:
        raise NotFound("there is no such notification")
    try:
        ledger.resolve(notification_id, found.caller.name, form.note().reason)
    except FormInvalid as e:
        return resolution_page(found, ledger, notification_id, filters, 422, e.errors)
    except UnknownDelivery as e:
        raise NotFound("there is no such notification") from e
    except DeliveryError as e:
        return show_home(found, rota, ledger, filters, 409, problem=_sentence(e))
    return after("resolved", filters)


def _sentence(e: Exception) -> str:
    text = str(e) or "that did not work"
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
