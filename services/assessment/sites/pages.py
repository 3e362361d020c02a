"""The places-of-worship pages: the sites someone may see, a site's page (its matrix, plan, routines, incidents)
and recording a routine, usable on a phone outside the building.

Staff sign in at triage; a browser without a sign-in is sent there and comes back. Every change is an
ordinary form with the session's CSRF token, read into the API's body model and made through the same
service method, then answered with a redirect to the site's page saying what was done (post/redirect/get).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from services.assessment.deps import (
    ClockDep,
    DatabaseDep,
    GuidanceDep,
    RegistryDep,
    ScoringDep,
    SiteDep,
    SitesDep,
    TemplatesDep,
)
from services.assessment.sites import queries
from services.assessment.sites.access import CONTACT_READERS, LINKERS, READERS, RECORDERS, Scope, scope_of
from services.assessment.sites.api import as_problems
from services.assessment.sites.checks import site_checks
from services.assessment.sites.outcomes import RecordIn, ResolveIn
from services.assessment.sites.planning import site_plan
from services.assessment.sites.register import FieldProblem, SiteInvalid
from services.assessment.sites.service import SiteService
from services.assessment.sites.taskboard import VISITORS, VISITS_SHOWN, visits
from services.assessment.sites.views import (
    category_word,
    entry_rows,
    matrix_rows,
    readiness_rows,
    routine_row,
)
from shared.events.sites import IssueCategory, RecordedVia
from shared.problems import Forbidden
from shared.staffaccess import SESSION_COOKIE, Caller, StaffAccess
from shared.web.filters import LONDON, from_london_input, london_input
from shared.web.site import Viewer

router = APIRouter(include_in_schema=False)
NAV = "sites"
DONE = {"recorded": "Recorded. Thank you.", "resolved": "Marked as resolved.", "linked": "Report linked to this site.",
        "dismissed": "Report dismissed: it will not be offered for this site again.",
        "visited": "Visit recorded. Thank you."}
EXPIRED = "This form has expired. Go back, reload the page and try again."
PLAN_AHEAD = timedelta(days=27)


@dataclass(frozen=True)
class Screen:
    request: Request
    caller: Caller
    scope: Scope
    templates: Any

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        viewer = Viewer(self.caller.display_name or self.caller.name, self.caller.roles, self.caller.csrf_token)
        response: HTMLResponse = self.templates.TemplateResponse(
            self.request, template, {"viewer": viewer, "nav_current": NAV, **context}, status_code=status)
        response.headers["Cache-Control"] = "no-store"
        return response


def page_caller(request: Request, session: Annotated[str | None, Cookie(alias=SESSION_COOKIE)] = None) -> Caller | None:
    access: StaffAccess = request.app.state.staff_access
    return access.caller(session, None) if session else None


PageCaller = Annotated[Caller | None, Depends(page_caller)]


def screen(request: Request, caller: Caller | None, db: DatabaseDep, templates: TemplatesDep,
           site: SiteDep) -> Screen | Response:
    if caller is None:
        back = str(request.url) if request.method == "GET" else str(request.url_for("site_list"))
        return RedirectResponse(site.sign_in_url(back), status_code=303)
    request.state.viewer = Viewer(caller.display_name or caller.name, caller.roles, caller.csrf_token)
    if not caller.roles & READERS:
        raise Forbidden("the places-of-worship pages are for site leads, neighbourhood officers, supervisors, "
                        "analysts and administrators")
    own = frozenset[str]()
    if "site_lead" in caller.roles:
        with db.snapshot() as s:
            own = queries.lead_sites(s, caller.name)
    return Screen(request, caller, scope_of(caller, own), templates)


async def form_of(request: Request) -> dict[str, str]:
    return {k: str(v).strip() for k, v in (await request.form()).items()}


FormDep = Annotated[dict[str, str], Depends(form_of)]


def checked_form(found: Screen, form: dict[str, str]) -> None:
    given, expected = form.get("csrf_token", ""), found.caller.csrf_token
    if not (given and expected and hmac.compare_digest(given.encode(), expected.encode())):
        raise Forbidden(EXPIRED)


@router.get("/sites", name="site_list")
def site_list(request: Request, caller: PageCaller, db: DatabaseDep, templates: TemplatesDep, site: SiteDep,
              clock: ClockDep, scoring: ScoringDep, registry: RegistryDep) -> Response:
    found = screen(request, caller, db, templates, site)
    if not isinstance(found, Screen):
        return found
    now, levels = clock.now(), dict[str, str]()
    with db.snapshot() as s:
        rows = [(x, queries.site_risk(s, x, now, scoring, levels)) for x in queries.sites(s) if found.scope.sees(x)]
    listed = [{"site": x, "risk": risk, "area": (a.name if (a := registry.get(x.area)) else x.area)}
              for x, risk in rows]
    return found.render("sites/list.html", page_title="Places of worship", rows=listed, as_of=now)


@router.get("/sites/{site_id}", name="site_page")
def site_page(request: Request, site_id: str, caller: PageCaller, db: DatabaseDep, templates: TemplatesDep,
              site: SiteDep, clock: ClockDep, scoring: ScoringDep, registry: RegistryDep, sites: SitesDep,
              guidance: GuidanceDep, done: str | None = None) -> Response:
    found = screen(request, caller, db, templates, site)
    if not isinstance(found, Screen):
        return found
    now, scope = clock.now(), found.scope
    today = now.astimezone(LONDON).date()
    with db.snapshot() as s, as_problems():
        facts = SiteService.visible(s, site_id, scope)
        plan = site_plan(s, facts, today, today + PLAN_AHEAD, now, scoring, guidance)
        checks = site_checks(s, facts, guidance, now, scoring.anniversaries)
        linked = queries.linked(s, facts, now - queries.HISTORY)
        offered = queries.candidates(s, facts, now) if scope.may(LINKERS, facts) else []
        words = scope.may(CONTACT_READERS, facts)
        issues = [(o, sites.keys.open(s, site_id, o.notes) if words else None) for o in checks.open_issues]
        seen = [(v, sites.keys.open(s, site_id, v.notes) if words else None)
                for v in visits(s, site_id, now - VISITS_SHOWN)]
    may_record = scope.may(RECORDERS, facts)
    return found.render(
        "sites/site.html", page_title=facts.name, place=facts, entry=entry_rows(facts.register(), registry),
        risk=plan.risk, matrix=matrix_rows(plan.risk), plan=plan, as_of=now, may_record=may_record,
        routines=[routine_row(r, site_id, may_record) for r in checks.routines], readiness=checks.readiness,
        readiness_rows=readiness_rows(checks.readiness), linked=linked, offered=offered,
        issues=[{"record": o, "category": category_word(o.category), "notes": (n or {}).get("notes")}
                for o, n in issues], flash=DONE.get(done or "", ""), guidance=guidance,
        visits=[{"visit": v, "notes": (n or {}).get("notes")} for v, n in seen],
        may_visit=scope.may(VISITORS, facts))


@router.get("/sites/{site_id}/record", name="record_form")
def record_form(request: Request, site_id: str, caller: PageCaller, db: DatabaseDep, templates: TemplatesDep,
                site: SiteDep, clock: ClockDep, guidance: GuidanceDep, routine: str = "perimeter_walk") -> Response:
    found = screen(request, caller, db, templates, site)
    if not isinstance(found, Screen):
        return found
    with db.snapshot() as s, as_problems():
        facts = SiteService.visible(s, site_id, found.scope, RECORDERS)
    form = {"routine": routine, "outcome": "", "performed_at": london_input(clock.now())}
    return _record_page(found, facts.site_id, facts.name, guidance, form, [])


@router.post("/sites/{site_id}/record")
def record(request: Request, site_id: str, caller: PageCaller, db: DatabaseDep, templates: TemplatesDep,
           site: SiteDep, form: FormDep, sites: SitesDep, guidance: GuidanceDep) -> Response:
    found = screen(request, caller, db, templates, site)
    if not isinstance(found, Screen):
        return found
    checked_form(found, form)
    with as_problems():
        try:
            sites.record(site_id, _record_body(form), found.scope, RecordedVia.page)
        except SiteInvalid as e:
            problems = e.problems
        else:
            return RedirectResponse(f"/sites/{site_id}?done=recorded", status_code=303)
    with db.snapshot() as s, as_problems():
        facts = SiteService.visible(s, site_id, found.scope, RECORDERS)
    return _record_page(found, site_id, facts.name, guidance, form, problems, status=422)


@router.post("/sites/{site_id}/records/{outcome_id}/resolve")
def resolve(request: Request, site_id: str, outcome_id: str, caller: PageCaller, db: DatabaseDep,
            templates: TemplatesDep, site: SiteDep, form: FormDep, sites: SitesDep) -> Response:
    found = screen(request, caller, db, templates, site)
    if not isinstance(found, Screen):
        return found
    checked_form(found, form)
    with as_problems():
        sites.resolve(site_id, outcome_id, ResolveIn(notes=form.get("notes") or None), found.scope)
    return RedirectResponse(f"/sites/{site_id}?done=resolved", status_code=303)


@router.post("/sites/{site_id}/links")
def decide_link(request: Request, site_id: str, caller: PageCaller, db: DatabaseDep, templates: TemplatesDep,
                site: SiteDep, form: FormDep, sites: SitesDep) -> Response:
    found = screen(request, caller, db, templates, site)
    if not isinstance(found, Screen):
        return found
    checked_form(found, form)
    linked = form.get("decision") == "link"
    with as_problems():
        sites.decide_link(site_id, form.get("report_id", ""), linked, found.scope.name, found.scope)
    return RedirectResponse(f"/sites/{site_id}?done={'linked' if linked else 'dismissed'}", status_code=303)


def _record_body(form: dict[str, str]) -> RecordIn:
    """The form read into the API's body; its problems in the form's words, all at once."""
    problems = []
    if form.get("outcome") not in ("done", "issues_found"):
        problems.append(FieldProblem("outcome", "Select what you found"))
    when = None
    try:
        when = from_london_input(form["performed_at"]) if form.get("performed_at") else None
    except ValueError:
        problems.append(FieldProblem("performed_at", "Enter when it was done, as a date and time"))
    issues = form.get("outcome") == "issues_found"
    if issues and form.get("category") not in IssueCategory.__members__:
        problems.append(FieldProblem("category", "Select what kind of issue you found"))
    if problems:
        raise SiteInvalid(problems)
    try:
        return RecordIn(routine=form.get("routine", ""), outcome=form["outcome"],
                        category=form.get("category") if issues else None,
                        notes=form.get("notes") or None, performed_at=when)
    except ValidationError as e:
        raise SiteInvalid([FieldProblem(str(err["loc"][0]), "Notes must be 2,000 characters or fewer"
                                        if err["loc"][0] == "notes" else str(err["msg"])) for err in e.errors()]) from e


def _record_page(found: Screen, site_id: str, name: str, guidance: Any, form: dict[str, str],
                 problems: list[FieldProblem], status: int = 200) -> HTMLResponse:
    routine = guidance.routine(form.get("routine", ""))
    return found.render(
        "sites/record.html", status=status, page_title=f"Record: {routine.name if routine else 'a check'}",
        site_id=site_id, site_name=name, routine=routine, routines=guidance.routines, form=form,
        errors=problems, error_for={p.field: p.message for p in problems},
        error_list=[{"text": p.message, "href": f"#{p.field}"} for p in problems],
        category_items=[{"value": "", "text": "Select a kind of issue"}] + [
            {"value": c.value, "text": category_word(c.value), "selected": form.get("category") == c.value}
            for c in IssueCategory])
