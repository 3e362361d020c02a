"""Assessment's HTTP face for analysts: area pictures, timelines and the strategic assessment."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from services.assessment import read
from services.assessment.scoring import level_rank
from shared.problems import NotFound, Unprocessable
from shared.staffaccess import STAFF_ONLY, Role, requires

if TYPE_CHECKING:
    from services.assessment.main import Assessment

router = APIRouter(responses=STAFF_ONLY)
# Roles, checked on the server for every route (DESIGN.md; ADR 0046). Staff sign in at triage.
AREAS = requires(Role.analyst, Role.supervisor, Role.duty_inspector)
STRATEGIC = requires(Role.analyst, Role.supervisor)
From = Annotated[date | None, Query(alias="from", description="first day (inclusive), default 28 days ago")]
To = Annotated[date | None, Query(alias="to", description="last day (inclusive), default today")]


def _core(request: Request) -> Assessment:
    core: Assessment = request.app.state.assessment
    return core


def _known(core: Assessment, area: str) -> str:
    known = core.registry.get(area)
    if known is None:
        raise NotFound(f"unknown area code '{area}'")
    return known.name


def period(start: date | None, end: date | None, today: date) -> tuple[datetime, datetime]:
    """A period of whole UK days, named by its first and last day; answers (start, end] instants in UTC."""
    last = end or today
    first = start or last - timedelta(days=27)
    if first > last:
        raise Unprocessable("the period ends before it starts", errors=[
            {"field": "from", "message": "must be on or before 'to'"}])
    if (last - first).days > 366 * 2:
        raise Unprocessable("the period is longer than two years", errors=[
            {"field": "from", "message": "choose a period of at most two years"}])
    return (datetime.combine(first, time.min, UTC) - timedelta(microseconds=1),
            datetime.combine(last, time.max, UTC))


@router.get("/v1/areas", dependencies=[AREAS], tags=["areas"], summary="Every force area's risk level, highest first")
def list_areas(request: Request) -> dict[str, Any]:
    core = _core(request)
    now = core.clock.now()
    with core.db.snapshot() as s:
        found, unknown = read.all_pictures(s, core.registry, now, core.scoring)
    rows = [{"area": code, "name": core.registry.get(code).name if core.registry.get(code) else code,  # type: ignore[union-attr]
             "level": p.level, "score": p.score, "reasons": list(p.reasons),
             "reports_24h": p.counts["24h"]["total"], "reports_7d": p.counts["7d"]["total"],
             "reports_28d": p.counts["28d"]["total"], "spike": p.spike.spike,
             "calendar_factor": p.calendar_factor, "open_critical_incidents": len(p.open_critical)}
            for code, p in found.items()]
    rows.sort(key=lambda r: (-level_rank(r["level"]), -r["score"], r["area"]))
    return {"as_of": now.isoformat(), "areas": rows, "unknown_areas": unknown}


@router.get("/v1/areas/{area}", dependencies=[AREAS],
            tags=["areas"], summary="One area's current picture: risk, reasons, counts, trend")
def get_area(area: str, request: Request) -> dict[str, Any]:
    core = _core(request)
    name = _known(core, area)
    now = core.clock.now()
    with core.db.snapshot() as s:
        picture = read.area_picture(s, area, now, core.scoring)
        totals = read.area_totals(s, area, now)
    return {"name": name, **picture.document(), **totals}


@router.get("/v1/areas/{area}/timeline", dependencies=[AREAS], tags=["areas"],
            summary="Reports and incidents in an area over a period, each with its grading and provenance")
def get_timeline(area: str, request: Request, start: From = None, end: To = None) -> dict[str, Any]:
    core = _core(request)
    _known(core, area)
    first, last = period(start, end, core.clock.now().date())
    with core.db.snapshot() as s:
        items = read.timeline(s, area, first, last)
    return {"area": area, "from": (first + timedelta(microseconds=1)).date().isoformat(),
            "to": last.date().isoformat(), "items": items}


def _strategic(request: Request, area: str | None, start: date | None, end: date | None) -> Any:
    from services.assessment.report import build_assessment

    core = _core(request)
    if area:
        _known(core, area)
    first, last = period(start, end, core.clock.now().date())
    with core.db.snapshot() as s:
        return build_assessment(s, core.registry, core.scoring, area, first, last, core.clock.now())


@router.get("/v1/strategic-assessment", dependencies=[STRATEGIC],
            tags=["strategic assessment"], response_class=HTMLResponse,
            summary="The strategic assessment as an HTML page (charts inline), with a link to the PDF")
def strategic_html(request: Request, area: str | None = None, start: From = None, end: To = None) -> HTMLResponse:
    from services.assessment.report import render_html

    return HTMLResponse(render_html(_strategic(request, area, start, end)))


@router.get("/v1/strategic-assessment.pdf", dependencies=[STRATEGIC], tags=["strategic assessment"],
            response_class=Response, summary="The strategic assessment as a PDF download")
def strategic_pdf(request: Request, area: str | None = None, start: From = None, end: To = None) -> Response:
    from services.assessment.report import render_pdf

    doc = _strategic(request, area, start, end)
    name = f"strategic-assessment-{doc.area or 'all'}-{doc.first.isoformat()}-{doc.last.isoformat()}.pdf"
    return Response(render_pdf(doc), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
