"""The tasking list's routes: the day's list as JSON, as a staff page, and as a one-page PDF briefing sheet; a
supervisor's changes; visits, recorded by officers or (through notify, from a signed link) on their behalf.

The list is for supervisors, analysts and neighbourhood officers, each for their own areas (an account
without areas: every area); a Vigil service sees every area. `team=` narrows an area's list to a neighbourhood
team's postcode districts, where teams are configured (teams.py).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from jinja2 import Environment

from services.assessment.deps import ClockDep, DatabaseDep, RegistryDep, ScopeDep, TemplatesDep, VigilDep
from services.assessment.plain import LEVEL_STYLES, short_date
from services.assessment.sites.access import CONTACT_READERS, Scope
from services.assessment.sites.answers import (
    HTML,
    TaskChangedOut,
    TaskingOut,
    VisitRecordedForOut,
    VisitRecordedOut,
    VisitsOut,
    answer,
)
from services.assessment.sites.api import as_problems
from services.assessment.sites.service import SiteService
from services.assessment.sites.taskboard import ChangeIn, Taskboard, VisitIn, VisitOnBehalfIn
from services.assessment.sites.tasking import Tasking
from services.assessment.sites.teams import Team, Teams, narrowed
from shared.areas import AreaRegistry
from shared.events.sites import RecordedVia
from shared.problems import Forbidden, NotFound, Unprocessable, prefers_html
from shared.servicecalls import require_caller
from shared.staffaccess import STAFF_ONLY, Role
from shared.web.site import Viewer
from shared.web.templates import page_environment

router = APIRouter(responses=STAFF_ONLY, tags=["tasking"])
internal = APIRouter(tags=["internal"])
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
STYLESHEET = Path(__file__).resolve().parent.parent / "static" / "analysis.css"
READERS = frozenset({Role.supervisor.value, Role.analyst.value, Role.neighbourhood_officer.value})
PAST, AHEAD = timedelta(days=366), timedelta(days=31)


def taskboard(request: Request) -> Taskboard:
    board: Taskboard = request.app.state.taskboard
    return board


TaskboardDep = Annotated[Taskboard, Depends(taskboard)]


def tasking_teams(request: Request) -> Teams:
    teams: Teams = getattr(request.app.state, "teams", None) or Teams()
    return teams


TeamsDep = Annotated[Teams, Depends(tasking_teams)]
TeamQuery = Annotated[str | None, Query(max_length=40, description="a neighbourhood team's code: its share of "
                                                                   "the area's list (where teams are configured)")]
DayQuery = Annotated[date | None, Query(alias="date", description="the UK day, YYYY-MM-DD; default today")]


def _day(given: date | None, board: Taskboard) -> date:
    today = board.today()
    day = given or today
    if not today - PAST <= day <= today + AHEAD:
        raise Unprocessable("choose a day from a year ago to a month ahead",
                            errors=[{"field": "date", "message": "from a year ago to a month ahead"}])
    return day


def _area(area: str | None, scope: Scope, registry: AreaRegistry) -> str:
    """The area asked for, if the caller may read its list; an account with one area need not say it."""
    if not scope.roles & READERS:
        raise Forbidden(f"the tasking list is for: {', '.join(sorted(READERS))}")
    if not area:
        if scope.areas is not None and len(scope.areas) == 1:
            [area] = scope.areas
        else:
            raise Unprocessable("say which area", errors=[{"field": "area", "message": "choose an area"}])
    if registry.get(area) is None:
        raise NotFound(f"there is no area {area}")
    if scope.areas is not None and area not in scope.areas:
        raise Forbidden("you may see the tasking lists of your own areas only")
    return area


def _team(code: str | None, area: str | None, teams: Teams) -> tuple[str | None, Team | None]:
    """The team asked for and its area (an area need not be given with a team; another area is a mistake)."""
    if not code:
        return area, None
    team = teams.get(code)
    if team is None:
        raise NotFound(f"there is no neighbourhood team {code}")
    if area and area != team.area:
        raise Unprocessable("that team is not one of this area's",
                            errors=[{"field": "team", "message": f"{code} is a team of {team.area}"}])
    return team.area, team


def _listed(board: Taskboard, scope: Scope, registry: AreaRegistry, teams: Teams, area: str | None,
            code: str | None, day: date) -> tuple[Tasking, Team | None]:
    area, team = _team(code, area, teams)
    tasking = board.tasking(_area(area, scope, registry), day, scope)
    return (narrowed(tasking, team) if team else tasking), team


def _context(tasking: Tasking, registry: AreaRegistry, board: Taskboard, team: Team | None = None
             ) -> dict[str, Any]:
    found = registry.get(tasking.area)
    name = found.name if found else tasking.area
    name = f"{team.name}, {name}" if team else name
    return {"tasking": tasking, "area_name": name, "styles": LEVEL_STYLES, "team": team,
            "as_of": board.clock.now(), "today": board.today(),
            "pdf_href": f"/v1/tasking.pdf?area={tasking.area}&date={tasking.day.isoformat()}"
                        + (f"&team={team.code}" if team else ""),
            "page_title": f"Tasking: {name}, {short_date(tasking.day)}"}


@router.get("/v1/tasking", summary="The day's patrol and visit tasking of an area: sites ranked, their windows "
                                   "and reasons (JSON, or HTML for Accept: text/html)", response_model=None,
            responses={200: {"model": TaskingOut, "content": HTML},
                       404: {"description": "an area Vigil does not know, or not one of the caller's"}})
def get_tasking(request: Request, board: TaskboardDep, scope: ScopeDep, registry: RegistryDep,
                templates: TemplatesDep, teams: TeamsDep, area: str | None = None, given: DayQuery = None,
                done: str | None = None, team: TeamQuery = None) -> Response:
    day = _day(given, board)
    tasking, chosen = _listed(board, scope, registry, teams, area, team, day)
    if not prefers_html(request.headers.get("accept")):
        return JSONResponse(answer(TaskingOut, {**tasking.document(), "team": chosen.code if chosen else None,
                                                "as_of": board.clock.now().isoformat()}))
    viewer = Viewer(scope.display_name, scope.roles, scope.csrf_token)
    response: Response = templates.TemplateResponse(request, "sites/tasking.html", {
        **_context(tasking, registry, board, chosen), "viewer": viewer, "nav_current": "sites",
        "may_change": bool(scope.roles & {Role.supervisor.value}) and day >= board.today(),
        "may_visit": bool(scope.roles & {Role.supervisor.value, Role.neighbourhood_officer.value}),
        "flash": {"added": "Task added.", "dropped": "Task dropped."}.get(done or "", "")})
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/v1/tasking.pdf", summary="The day's tasking of an area as a one-page PDF briefing sheet",
            response_class=Response,
            responses={404: {"description": "an area Vigil does not know, or not one of the caller's"}})
def get_tasking_pdf(board: TaskboardDep, scope: ScopeDep, registry: RegistryDep, teams: TeamsDep,
                    area: str | None = None, given: DayQuery = None, team: TeamQuery = None) -> Response:
    day = _day(given, board)
    tasking, chosen = _listed(board, scope, registry, teams, area, team, day)
    pdf = render_sheet_pdf(_context(tasking, registry, board, chosen))
    name = f"{tasking.area}-{chosen.code}" if chosen else tasking.area
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="tasking-{name}-{day.isoformat()}.pdf"',
        "Cache-Control": "no-store"})


def sheet_environment() -> Environment:
    env = page_environment([TEMPLATES])
    env.globals.update(short_date=short_date)
    env.filters.update(sentence=lambda text: str(text)[:1].upper() + str(text)[1:])  # as the pages' (pages.py)
    return env


def render_sheet_html(context: dict[str, Any], shown: int | None = None) -> str:
    """The briefing sheet as a file standing on its own: the page's list (its first `shown` tasks), styles inline."""
    tasking: Tasking = context["tasking"]
    count = len(tasking.tasks) if shown is None else shown
    return sheet_environment().get_template("tasking_sheet.html").render(
        **context, sheet=replace(tasking, tasks=tasking.tasks[:count]), more=len(tasking.tasks) - count,
        stylesheet=STYLESHEET.read_text(encoding="utf-8"))


def render_sheet_pdf(context: dict[str, Any]) -> bytes:
    """One A4 page: as many tasks as fit, first first, and how many more there are (found by typesetting)."""
    from weasyprint import HTML  # imported when asked for: it loads Pango, which nothing else needs

    def typeset(shown: int) -> Any:
        return HTML(string=render_sheet_html(context, shown), base_url=str(TEMPLATES)).render()

    total = len(context["tasking"].tasks)
    document = typeset(total)
    if len(document.pages) > 1:
        fits, over = 0, total   # the most tasks that fit lies in [fits, over)
        while over - fits > 1:
            middle = (fits + over) // 2
            fits, over = (middle, over) if len(typeset(middle).pages) == 1 else (fits, middle)
        document = typeset(fits)
    pdf: bytes = document.write_pdf()
    return pdf


@router.post("/v1/tasking/changes", status_code=201,
             summary="A supervisor adds a site to a day's list, or drops one from it, with the reason",
             responses={404: {"description": "an area or site Vigil does not know, or not one of the caller's"}},
             response_model=TaskChangedOut)
def change_tasking(body: ChangeIn, board: TaskboardDep, scope: ScopeDep, registry: RegistryDep,
                   area: str | None = None, given: DayQuery = None) -> dict[str, Any]:
    day = _day(given, board)
    area = _area(area, scope, registry)
    with as_problems():
        tid = board.change(area, day, body, scope)
    return {"task_id": tid, "area": area, "date": day.isoformat(), "site_id": body.site_id, "change": body.change}


@router.post("/v1/sites/{site_id}/visits", status_code=201,
             summary="Record a visit or patrol to a site (time, who, notes; the notes are sealed)",
             response_model=VisitRecordedOut)
def record_visit(site_id: str, body: VisitIn, board: TaskboardDep, scope: ScopeDep) -> dict[str, Any]:
    with as_problems():
        visit_id = board.record_visit(site_id, body, scope, RecordedVia.api)
    return {"site_id": site_id, "visit_id": visit_id}


@router.get("/v1/sites/{site_id}/visits", summary="A site's visits in the last 90 days, newest first",
            response_model=VisitsOut)
def list_visits(site_id: str, board: TaskboardDep, scope: ScopeDep, db: DatabaseDep,
                clock: ClockDep) -> dict[str, Any]:
    with db.snapshot() as s, as_problems():
        site = SiteService.visible(s, site_id, scope)
        found = board.visits_of(s, site, scope, CONTACT_READERS)
    return {"site_id": site_id, "as_of": clock.now().isoformat(),
            "visits": [{**v, "visited_at": v["visited_at"].isoformat()} for v in found]}


@internal.post("/internal/v1/sites/{site_id}/visits", status_code=201,
               summary="Record a visit for an officer, from a signed link another Vigil service checked (once per "
                       "link); notify only",
               responses={200: {"description": "recorded before", "model": VisitRecordedForOut},
                          401: {"description": "no Vigil service's credential"},
                          403: {"description": "a service other than notify"}},
               response_model=VisitRecordedForOut)
def record_visit_on_behalf(site_id: str, body: VisitOnBehalfIn, board: TaskboardDep, vigil: VigilDep,
                           response: Response, authorization: Annotated[str | None, Header()] = None
                           ) -> dict[str, Any]:
    require_caller(vigil, authorization, {"notify"})  # notify checks the signed links officers follow
    with as_problems():
        visit_id, new = board.record_visit_on_behalf(site_id, body)
    if not new:
        response.status_code = 200
    return {"site_id": site_id, "visit_id": visit_id, "already_recorded": not new}
