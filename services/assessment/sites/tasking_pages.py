"""The tasking list's forms: a supervisor adds or drops a task with a reason; an officer records a visit, on a
phone at the site. Ordinary forms with the session's CSRF token, made through the same service methods as the
API, answered with a redirect (post/redirect/get); a form with problems is shown again with them.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from services.assessment.deps import ClockDep, DatabaseDep, RegistryDep, SiteDep, TemplatesDep
from services.assessment.sites.api import as_problems
from services.assessment.sites.pages import FormDep, PageCaller, Screen, checked_form, screen
from services.assessment.sites.register import FieldProblem, SiteInvalid
from services.assessment.sites.service import SiteService
from services.assessment.sites.taskboard import VISITORS, ChangeIn, VisitIn
from services.assessment.sites.tasking_api import TaskboardDep, _area, _day
from shared.events.sites import RecordedVia
from shared.problems import Forbidden, Unprocessable
from shared.web.filters import from_london_input, london_input

router = APIRouter(include_in_schema=False)


def _form_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError as e:
        raise Unprocessable("the date is not a date", errors=[{"field": "date", "message": "use YYYY-MM-DD"}]) from e


@router.post("/tasking/changes")
def change(request: Request, caller: PageCaller, db: DatabaseDep, templates: TemplatesDep, site: SiteDep,
           form: FormDep, board: TaskboardDep, registry: RegistryDep) -> Response:
    found = screen(request, caller, db, templates, site)
    if not isinstance(found, Screen):
        return found
    checked_form(found, form)
    day = _day(_form_day(form.get("date")), board)
    area = _area(form.get("area"), found.scope, registry)
    try:
        body = ChangeIn(site_id=form.get("site_id", ""), change=form.get("change", ""), reason=form.get("reason", ""))
    except ValidationError as e:
        raise Unprocessable("give a reason (up to 500 characters)",
                            errors=[{"field": "reason", "message": "Enter the reason"}]) from e
    with as_problems():
        board.change(area, day, body, found.scope)
    done = "added" if body.change == "add" else "dropped"
    return RedirectResponse(f"/v1/tasking?area={area}&date={day.isoformat()}&done={done}", status_code=303)


@router.get("/sites/{site_id}/visit", name="visit_form")
def visit_form(request: Request, site_id: str, caller: PageCaller, db: DatabaseDep, templates: TemplatesDep,
               site: SiteDep, clock: ClockDep) -> Response:
    found = screen(request, caller, db, templates, site)
    if not isinstance(found, Screen):
        return found
    name = _visitable(db, site_id, found)
    form = {"visited_at": london_input(clock.now()), "visited_by": found.caller.display_name or found.caller.name}
    return _page(found, site_id, name, form, [])


@router.post("/sites/{site_id}/visit")
def record_visit(request: Request, site_id: str, caller: PageCaller, db: DatabaseDep, templates: TemplatesDep,
                 site: SiteDep, form: FormDep, board: TaskboardDep) -> Response:
    found = screen(request, caller, db, templates, site)
    if not isinstance(found, Screen):
        return found
    checked_form(found, form)
    name = _visitable(db, site_id, found)
    problems: list[FieldProblem] = []
    try:
        body = _body(form)
        with as_problems():
            board.record_visit(site_id, body, found.scope, RecordedVia.page)
    except SiteInvalid as e:
        problems = e.problems
    else:
        return RedirectResponse(f"/sites/{site_id}?done=visited", status_code=303)
    return _page(found, site_id, name, form, problems, status=422)


def _visitable(db: DatabaseDep, site_id: str, found: Screen) -> str:
    with db.snapshot() as s, as_problems():
        facts = SiteService.visible(s, site_id, found.scope)
    if not found.scope.may(VISITORS, facts):
        raise Forbidden("visits are recorded by neighbourhood officers and supervisors")
    return facts.name


def _body(form: dict[str, str]) -> VisitIn:
    try:
        when = from_london_input(form["visited_at"]) if form.get("visited_at") else None
    except ValueError as e:
        raise SiteInvalid([FieldProblem("visited_at", "Enter when you visited, as a date and time")]) from e
    try:
        return VisitIn(visited_at=when, visited_by=form.get("visited_by") or None, notes=form.get("notes") or None)
    except ValidationError as e:
        raise SiteInvalid([FieldProblem(str(err["loc"][0]), "Notes must be 2,000 characters or fewer"
                                        if err["loc"][0] == "notes" else "Names must be 200 characters or fewer")
                           for err in e.errors()]) from e


def _page(found: Screen, site_id: str, name: str, form: dict[str, str], problems: list[FieldProblem],
          status: int = 200) -> HTMLResponse:
    return found.render("sites/visit.html", status=status, page_title=f"Record a visit: {name}", site_id=site_id,
                        site_name=name, form=form, errors=problems, error_for={p.field: p.message for p in problems},
                        error_list=[{"text": p.message, "href": f"#{p.field}"} for p in problems])
