"""The administrator's console: staff accounts, the audit of personal-data views, the rulesets in force.

Pages on the shared design system (docs/pages.md), server-rendered, every route checking the signed-in
person's role; forms carry the session's CSRF token and go through the same use cases as the JSON API and
`vigil triage user ...` (accounts.py, oversight.py). A success is shown after a redirect from a fixed
list of sentences, never from text in the address.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from services.triage.access import Action, Staff
from services.triage.accounts import AccountConflict, AccountFilter, InvalidUser, NewAccount, UnknownAccount
from services.triage.auth import csrf_matches
from services.triage.deps import AccountsDep, OversightDep, PageStaff
from services.triage.oversight import ViewFilter
from services.triage.staff_store import AccountDetails
from shared.areas import default_registry
from shared.events.base import Envelope
from shared.events.incidents import NATIONAL
from shared.events.staff import (
    StaffAccountCreated,
    StaffAccountDisabled,
    StaffAccountEnabled,
    StaffAreasChanged,
    StaffCentreChanged,
    StaffContactDetailsChanged,
    StaffPasswordReset,
    StaffRolesChanged,
    StaffSsoLinkCleared,
    StaffSsoLinked,
)
from shared.problems import Conflict, Forbidden, NotFound, Unauthorized
from shared.staffaccess import Role
from shared.web.filters import from_london_input, humanise
from shared.web.site import Viewer
from shared.web.templates import page_templates

router = APIRouter(include_in_schema=False)
templates = page_templates(Path(__file__).resolve().parent / "templates")
ACCOUNTS_PER_PAGE = 25
VIEWS_PER_PAGE = 50
EXPIRED = "This form has expired: go back, reload the page and try again."
ROLE_LABELS: dict[str, str] = {Role.triage_officer: "Triage officer", Role.duty_inspector: "Duty Inspector",
               Role.supervisor: "Supervisor", Role.analyst: "Analyst", Role.admin: "Administrator",
               Role.data_protection_officer: "Data protection officer", Role.caseworker: "Caseworker",
               Role.neighbourhood_officer: "Neighbourhood officer", Role.site_lead: "Site security lead"}
ROLE_HINTS: dict[str, str] = {Role.triage_officer: "Works the queue: acknowledges, assigns and regrades incidents",
              Role.duty_inspector: "Supervises critical incidents personally; is alerted and chased",
              Role.supervisor: "Everything a Duty Inspector does, and declares heightened tension",
              Role.analyst: "Reads risk, tension and the strategic assessment",
              Role.admin: "Manages staff accounts and reads the audit",
              Role.data_protection_officer: "Erasure, withdrawal, holds and retention",
              Role.caseworker: "A reporting centre's caseworker",
              Role.neighbourhood_officer: "Community impact assessments, patrols and visits",
              Role.site_lead: "Security lead of a place of worship (not police staff)"}
DONE = {"created": "Account created.", "roles": "Roles changed.", "areas": "Areas changed.",
        "centre": "Reporting centre changed: it applies from their next page.",
        "contact": "Contact details changed.", "disabled": "Account disabled: they were signed out everywhere.",
        "enabled": "Account enabled: they can sign in again.", "unchanged": "Nothing changed.",
        "unlinked": "Single sign-on link removed."}
OUTCOMES = {"shown": "Shown", "erased": "Erased (nothing shown)", "unavailable": "Not available (nothing shown)"}


# --- who may use these pages --------------------------------------------------------------------

def signed_in(request: Request, staff: PageStaff) -> Staff:
    if staff is None:
        raise Unauthorized("sign in to use the administration pages")
    request.state.viewer = Viewer(staff.display_name, staff.roles, staff.csrf_token)
    return staff


AdminStaff = Annotated[Staff, Depends(signed_in)]


def _require(staff: Staff, action: Action) -> None:
    if not staff.can(action):
        raise Forbidden("your role does not allow this: ask an administrator if you think it should")


async def _form(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(_form)]


def _checked(staff: Staff, form: FormData) -> None:
    """A change needs an administrator and the session's own form."""
    _require(staff, Action.manage_users)
    if not csrf_matches(staff, str(form.get("csrf_token") or "")):
        raise Forbidden(EXPIRED)


def _text(form: FormData, name: str) -> str:
    return str(form.get(name) or "").strip()


def _list(form: FormData, name: str) -> list[str]:
    return [str(v) for v in form.getlist(name)]


# --- rendering ----------------------------------------------------------------------------------

def render(request: Request, staff: Staff, name: str, title: str, status: int = 200, **context: Any) -> HTMLResponse:
    response = templates.TemplateResponse(request, f"admin/{name}", {
        "viewer": request.state.viewer, "nav_current": "administration", "page_title": title,
        "sections": _sections(staff, request.url.path), "role_labels": ROLE_LABELS, "role_hints": ROLE_HINTS,
        "area_names": _area_names(),
        **context}, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _sections(staff: Staff, path: str) -> list[dict[str, Any]]:
    links = [("Staff accounts", "/admin/accounts", Action.manage_users),
             ("Personal data views", "/admin/audit", Action.view_audit),
             ("Rulesets", "/admin/rulesets", Action.view_audit)]
    return [{"text": text, "href": href, "active": path.startswith(href)}
            for text, href, action in links if staff.can(action)]


def _area_names() -> dict[str, str]:
    return {a.code: a.name for a in default_registry().all()}


def _to(path: str, done: str | None = None) -> RedirectResponse:
    return RedirectResponse(path + (f"?{urlencode({'done': done})}" if done else ""), status_code=303)


@dataclass
class Problems:
    """A form's refusals, field by field, for GOV.UK's error summary and messages."""

    fields: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, message[:1].upper() + message[1:])

    def summary(self) -> list[dict[str, str]]:
        return [{"text": text, "href": f"#{name}"} for name, text in self.fields.items()]


def _refusal(e: InvalidUser | AccountConflict) -> Problems:
    problems = Problems()
    problems.add(e.field if isinstance(e, InvalidUser) else "account", str(e))
    return problems


def pagination(path: str, query: dict[str, str], page: int, total: int, per_page: int) -> dict[str, Any] | None:
    """govukPagination's parameters, or None on a single page."""
    pages = max(1, -(-total // per_page))
    if pages == 1:
        return None

    def href(n: int) -> str:
        return f"{path}?{urlencode({k: v for k, v in query.items() if v} | {'page': str(n)})}"

    shown = sorted({1, pages, page - 1, page, page + 1} & set(range(1, pages + 1)))
    items: list[dict[str, Any]] = []
    for n in shown:
        if items and n - items[-1].get("number", n) > 1:
            items.append({"ellipsis": True})
        items.append({"number": n, "href": href(n), "current": n == page})
    return {"items": items, "previous": {"href": href(page - 1)} if page > 1 else None,
            "next": {"href": href(page + 1)} if page < pages else None}


# --- the console's front door -------------------------------------------------------------------

@router.get("/admin")
def console(staff: AdminStaff) -> Response:
    if staff.can(Action.manage_users):
        return _to("/admin/accounts")
    _require(staff, Action.view_audit)
    return _to("/admin/audit")


# --- accounts -----------------------------------------------------------------------------------

@router.get("/admin/accounts")
def accounts_page(request: Request, staff: AdminStaff, accounts: AccountsDep, q: str = "", role: str = "",
                  area: str = "", status: str = "", page: int = 1) -> Response:
    _require(staff, Action.manage_users)
    enabled = {"enabled": True, "disabled": False}.get(status)
    found = accounts.all(staff, AccountFilter(q, role, area, enabled))
    page = min(max(page, 1), max(1, -(-len(found) // ACCOUNTS_PER_PAGE)))
    shown = found[(page - 1) * ACCOUNTS_PER_PAGE: page * ACCOUNTS_PER_PAGE]
    query = {"q": q, "role": role, "area": area, "status": status}
    return render(request, staff, "accounts.html", "Staff accounts", accounts=shown, total=len(found),
                  query=query, filtered=any(query.values()),
                  pagination=pagination("/admin/accounts", query, page, len(found), ACCOUNTS_PER_PAGE))


@router.get("/admin/accounts/new")
def new_account_page(request: Request, staff: AdminStaff) -> Response:
    _require(staff, Action.manage_users)
    return render(request, staff, "new.html", "Create a staff account", values={}, problems=Problems())


@router.post("/admin/accounts/new")
def create_account(request: Request, staff: AdminStaff, form: Form, accounts: AccountsDep) -> Response:
    _checked(staff, form)
    values: dict[str, Any] = {
        "display_name": _text(form, "display_name"), "username": _text(form, "username"),
        "email": _text(form, "email"), "phone": _text(form, "phone"), "roles": _list(form, "roles"),
        "areas": _list(form, "areas"), "centre": _text(form, "centre")}
    problems = _missing(values)
    if not problems.fields:
        try:
            created = accounts.create(staff, NewAccount(
                values["username"], values["display_name"], values["roles"], _areas_of(values),
                values["email"], values["phone"], centre=values["centre"] or None))
        except InvalidUser as e:
            problems = _refusal(e)
        else:
            return render(request, staff, "created.html", "Account created", created=created,
                          account=accounts.get(staff, created.user_id))
    return render(request, staff, "new.html", "Create a staff account", 422, values=values, problems=problems)


def _missing(values: dict[str, Any]) -> Problems:
    """What a new account's form left out, all at once; the use case then checks what was given."""
    problems = Problems()
    for name, message in (("display_name", "enter the person's full name"), ("username", "enter a username"),
                          ("roles", "choose at least one role")):
        if not values[name]:
            problems.add(name, message)
    return _area_problems(values, problems)


def _area_problems(values: dict[str, Any], problems: Problems | None = None) -> Problems:
    """National is a choice of its own (without JavaScript both can be ticked)."""
    problems = problems or Problems()
    if not values["areas"]:
        problems.add("areas", "choose national, or the force areas this person covers")
    elif NATIONAL in values["areas"] and len(values["areas"]) > 1:
        problems.add("areas", "choose national or particular force areas, not both")
    return problems


def _areas_of(values: dict[str, Any]) -> list[str]:
    return [a for a in values["areas"] if a != NATIONAL]


def _account(accounts: AccountsDep, staff: Staff, user_id: str) -> AccountDetails:
    try:
        return accounts.get(staff, user_id)
    except UnknownAccount:
        raise NotFound("there is no such account") from None


@router.get("/admin/accounts/{user_id}")
def account_page(request: Request, staff: AdminStaff, accounts: AccountsDep, user_id: str,
                 done: str = "") -> Response:
    _require(staff, Action.manage_users)
    try:
        account, sign_ins, history = accounts.record(staff, user_id)
    except UnknownAccount:
        raise NotFound("there is no such account") from None
    names = {a.user_id: a.display_name for a in accounts.all(staff)}
    return render(request, staff, "account.html", account.display_name, account=account, sign_ins=sign_ins,
                  history=[history_item(env, names) for env in reversed(history)], done=DONE.get(done))


CHANGES = {"roles": "Change roles", "areas": "Change areas", "centre": "Change reporting centre",
           "contact": "Change contact details",
           "disable": "Disable account", "password": "Reset password", "unlink": "Remove single sign-on link"}


@router.get("/admin/accounts/{user_id}/{change}")
def change_page(request: Request, staff: AdminStaff, accounts: AccountsDep, user_id: str, change: str) -> Response:
    _require(staff, Action.manage_users)
    if change not in CHANGES:
        raise NotFound("there is no such page")
    account = _account(accounts, staff, user_id)
    values = {"roles": account.roles, "areas": account.areas or [NATIONAL], "email": account.email or "",
              "phone": account.phone or "", "centre": account.centre or ""}
    return render(request, staff, f"{change}.html", f"{CHANGES[change]}: {account.display_name}", account=account,
                  values=values, problems=Problems())


@router.post("/admin/accounts/{user_id}/{change}")
def change(request: Request, staff: AdminStaff, form: Form, accounts: AccountsDep, user_id: str,
           change: str) -> Response:
    _checked(staff, form)
    if change not in CHANGES and change != "enable":
        raise NotFound("there is no such page")
    account = _account(accounts, staff, user_id)
    values: dict[str, Any] = {
        "roles": _list(form, "roles"), "areas": _list(form, "areas"),
        "email": _text(form, "email"), "phone": _text(form, "phone"), "reason": _text(form, "reason"),
        "method": _text(form, "method"), "centre": _text(form, "centre")}
    problems = _area_problems(values) if change == "areas" else Problems()
    try:
        if not problems.fields:
            return _apply(request, staff, accounts, account, change, values, form)
    except (InvalidUser, AccountConflict) as e:
        problems = _refusal(e)
    if change == "enable":
        raise Conflict(next(iter(problems.fields.values())))
    return render(request, staff, f"{change}.html", f"{CHANGES[change]}: {account.display_name}", 422,
                  account=account, values=values, problems=problems)


def _apply(request: Request, staff: Staff, accounts: AccountsDep, account: AccountDetails, change: str,
           values: dict[str, Any], form: FormData) -> Response:
    here, why = f"/admin/accounts/{account.user_id}", values["reason"]
    if change == "roles":
        done = accounts.set_roles(staff, account.user_id, values["roles"], why)
        return _to(here, "roles" if done else "unchanged")
    if change == "areas":
        done = accounts.set_areas(staff, account.user_id, _areas_of(values), why)
        return _to(here, "areas" if done else "unchanged")
    if change == "centre":
        done = accounts.set_centre(staff, account.user_id, values["centre"], why)
        return _to(here, "centre" if done else "unchanged")
    if change == "contact":
        done = accounts.set_contact(staff, account.user_id, values["email"], values["phone"])
        return _to(here, "contact" if done else "unchanged")
    if change == "disable":
        accounts.disable(staff, account.user_id, why)
        return _to(here, "disabled")
    if change == "enable":
        accounts.enable(staff, account.user_id, why)
        return _to(here, "enabled")
    if change == "unlink":
        accounts.clear_sso_link(staff, account.user_id, why)
        return _to(here, "unlinked")
    return _reset(request, staff, accounts, account, values, form)


def _reset(request: Request, staff: Staff, accounts: AccountsDep, account: AccountDetails, values: dict[str, Any],
           form: FormData) -> Response:
    typed = str(form.get("password") or "") if values["method"] == "typed" else None
    temporary = accounts.reset_password(staff, account.user_id, typed)
    return render(request, staff, "password_done.html", f"Password reset: {account.display_name}",
                  account=account, temporary=temporary)


def history_item(env: Envelope, names: dict[str, str]) -> dict[str, Any]:
    """One change as a line of MOJ's timeline: what, by whom, when, and the reason given."""
    event = env.event()
    by = str(getattr(event, "changed_by", ""))
    reason = getattr(event, "reason", None)
    return {"label": {"text": _change_title(event)}, "byline": {"text": names.get(by, by.removeprefix("cli:")
                                                                                     + " (command line)")},
            "datetime": {"timestamp": env.time},
            "text": " ".join(p for p in (_change_detail(event), f"Reason: {reason}" if reason else "") if p)}


def _change_title(event: object) -> str:
    titles: dict[type[object], str] = {StaffAccountCreated: "Account created", StaffAccountDisabled: "Disabled",
              StaffAccountEnabled: "Enabled", StaffRolesChanged: "Roles changed", StaffAreasChanged: "Areas changed",
              StaffCentreChanged: "Reporting centre changed",
              StaffContactDetailsChanged: "Contact details changed", StaffPasswordReset: "Password reset",
              StaffSsoLinked: "Single sign-on linked", StaffSsoLinkCleared: "Single sign-on link removed"}
    return titles.get(type(event), "Changed")


def _change_detail(event: object) -> str:
    match event:
        case StaffAccountCreated():
            return f"Roles: {_roles(event.roles)}. Areas: {_areas(event.areas)}."
        case StaffRolesChanged():
            return f"{_roles(event.previous_roles)} → {_roles(event.roles)}."
        case StaffAreasChanged():
            return f"{_areas(event.previous_areas)} → {_areas(event.areas)}."
        case StaffCentreChanged():
            return f"{_centre(event.previous_centre)} → {_centre(event.centre)}."
        case StaffContactDetailsChanged():
            return f"Changed: {', '.join(c.value for c in event.changed)}."
        case StaffAccountDisabled():
            return f"{event.sessions_ended} session{'s' if event.sessions_ended != 1 else ''} ended."
        case StaffPasswordReset():
            return "A temporary password was made." if event.temporary else "The administrator set a password."
        case StaffSsoLinked():
            return f"At the first sign-in from {event.issuer}, by its verified email address."
        case StaffSsoLinkCleared():
            return f"The account at {event.issuer} no longer signs in."
    return ""


def _centre(centre: str | None) -> str:
    return centre or "the default centre"


def _roles(roles: list[str]) -> str:
    return ", ".join(ROLE_LABELS.get(r) or humanise(r) for r in roles)


def _areas(areas: list[str]) -> str:
    names = _area_names()
    return ", ".join(names.get(a, a) for a in areas) or "national"


# --- oversight ----------------------------------------------------------------------------------

@router.get("/admin/audit")
def audit_page(request: Request, staff: AdminStaff, oversight: OversightDep, who: str = "", incident: str = "",
               since: str = "", until: str = "", page: int = 1) -> Response:
    _require(staff, Action.view_audit)
    problems, start, end = Problems(), _day(since), _day(until)
    if since and start is None:
        problems.add("since", "give the first day as a date, like 2026-12-06")
    if until and end is None:
        problems.add("until", "give the last day as a date, like 2026-12-06")
    wanted = ViewFilter(who or None, incident or None, from_london_input(f"{start}T00:00") if start else None,
                        from_london_input(f"{end + timedelta(days=1)}T00:00") if end else None)
    page = max(page, 1)
    found = oversight.personal_data_views(staff, wanted, (page - 1) * VIEWS_PER_PAGE, VIEWS_PER_PAGE)
    query = {"who": who, "incident": incident, "since": since, "until": until}
    return render(request, staff, "audit.html", "Personal data views", views=found.rows, total=found.total,
                  names=oversight.staff_names(staff), query=query, problems=problems, outcomes=OUTCOMES,
                  filtered=any(query.values()),
                  pagination=pagination("/admin/audit", query, page, found.total, VIEWS_PER_PAGE))


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


@router.get("/admin/rulesets")
def rulesets_page(request: Request, staff: AdminStaff, oversight: OversightDep) -> Response:
    _require(staff, Action.view_audit)
    found = oversight.rulesets_in_force(staff)
    return render(request, staff, "rulesets.html", "Rulesets", published=found.published, ruleset=found.in_force)
