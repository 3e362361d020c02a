"""Assessment's HTTP face for analysts: area pictures, timelines and the strategic assessment."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from services.assessment import queries
from services.assessment.answers import AreaOut, AreasOut, TimelineOut
from services.assessment.deps import (
    AREA_READERS,
    STRATEGIC_READERS,
    ClockDep,
    DatabaseDep,
    GuidanceDep,
    RegistryDep,
    ScoringDep,
    TemplatesDep,
)
from services.assessment.scoring import ScoringConfig, level_rank
from services.assessment.sites.guidance import Guidance
from shared.areas import AreaRegistry
from shared.clock import Clock
from shared.db import Database
from shared.problems import NotFound, Unprocessable
from shared.staffaccess import STAFF_ONLY, Caller, requires
from shared.web.site import Viewer

if TYPE_CHECKING:
    from services.assessment.report import StrategicAssessment

router = APIRouter(responses=STAFF_ONLY)
AREAS = requires(*AREA_READERS)
STRATEGIC = requires(*STRATEGIC_READERS)
From = Annotated[date | None, Query(alias="from", description="first day (inclusive), default 28 days ago")]
To = Annotated[date | None, Query(alias="to", description="last day (inclusive), default today")]


def _name(registry: AreaRegistry, area: str, caller: Caller) -> str:
    """The area's name; an area outside the caller's answers as an unknown one (need to know)."""
    known = registry.get(area)
    if known is None or not caller.covers(area):
        raise NotFound(f"unknown area code '{area}'")
    return known.name


@router.get("/v1/areas", tags=["areas"], summary="Every force area's risk level, highest first",
            description="An account limited to some areas sees those areas only.", response_model=AreasOut)
def list_areas(caller: Annotated[Caller, AREAS], db: DatabaseDep, registry: RegistryDep, scoring: ScoringDep,
               clock: ClockDep) -> dict[str, Any]:
    now = clock.now()
    with db.snapshot() as s:
        found, unknown = queries.all_pictures(s, registry, now, scoring)
    found = {code: p for code, p in found.items() if caller.covers(code)}
    unknown = unknown if not caller.areas else {}
    rows = [{"area": code, "name": known.name if (known := registry.get(code)) else code,
             "level": p.level, "score": p.score, "reasons": list(p.reasons),
             "reports_24h": p.counts["24h"]["total"], "reports_7d": p.counts["7d"]["total"],
             "reports_28d": p.counts["28d"]["total"], "spike": p.spike.spike,
             "calendar_factor": p.calendar_factor, "open_critical_incidents": len(p.open_critical),
             "history": p.history.document()}
            for code, p in found.items()]
    rows.sort(key=lambda r: (-level_rank(r["level"]), -r["score"], r["area"]))
    return {"as_of": now.isoformat(), "areas": rows, "unknown_areas": unknown}


@router.get("/v1/areas/{area}",
            tags=["areas"], summary="One area's current picture: risk, reasons, counts, trend", response_model=AreaOut)
def get_area(area: str, caller: Annotated[Caller, AREAS], db: DatabaseDep, registry: RegistryDep, scoring: ScoringDep,
             clock: ClockDep) -> dict[str, Any]:
    name = _name(registry, area, caller)
    now = clock.now()
    with db.snapshot() as s:
        picture = queries.area_picture(s, area, now, scoring)
        totals = queries.area_totals(s, area, now)
    return {"name": name, **picture.document(), **totals}


@router.get("/v1/areas/{area}/timeline", tags=["areas"],
            summary="Reports and incidents in an area over a period, each with its grading and provenance",
            response_model=TimelineOut)
def get_timeline(area: str, caller: Annotated[Caller, AREAS], db: DatabaseDep, registry: RegistryDep, clock: ClockDep,
                 start: From = None, end: To = None) -> dict[str, Any]:
    _name(registry, area, caller)
    first, last = queries.period(start, end, clock.now().date())
    with db.snapshot() as s:
        items = queries.timeline(s, area, first, last)
    return {"area": area, "from": (first + timedelta(microseconds=1)).date().isoformat(),
            "to": last.date().isoformat(), "items": items}


def _strategic(db: Database, registry: AreaRegistry, scoring: ScoringConfig, clock: Clock, area: str | None,
               start: date | None, end: date | None, guidance: Guidance, caller: Caller) -> StrategicAssessment:
    """The document both routes render: read from one snapshot, rendered after the snapshot is let go. The
    whole country's is for national accounts; an account with one area gets that area's."""
    from services.assessment.report import build_assessment

    if not area and caller.areas:
        if len(caller.areas) > 1:
            raise Unprocessable("choose one of your areas: the assessment of every area is for national accounts",
                                errors=[{"field": "area", "message": "choose one of your areas"}])
        [area] = caller.areas
    if area:
        _name(registry, area, caller)
    first, last = queries.period(start, end, clock.now().date())
    with db.snapshot() as s:
        return build_assessment(s, registry, scoring, area, first, last, clock.now(), guidance)


UNKNOWN_AREA: dict[int | str, dict[str, Any]] = {
    404: {"description": "an area Vigil does not know, or not one of the caller's"}}


@router.get("/v1/strategic-assessment", tags=["strategic assessment"], response_class=HTMLResponse,
            summary="The strategic assessment as an HTML page (chart inline), with a link to the PDF",
            responses=UNKNOWN_AREA)
def strategic_html(request: Request, caller: Annotated[Caller, STRATEGIC], db: DatabaseDep, registry: RegistryDep,
                   scoring: ScoringDep, clock: ClockDep, templates: TemplatesDep, guidance: GuidanceDep,
                   area: str | None = None, start: From = None, end: To = None) -> HTMLResponse:
    from services.assessment.report import html_context

    doc = _strategic(db, registry, scoring, clock, area, start, end, guidance, caller)
    viewer = Viewer(caller.name, caller.roles, caller.csrf_token, caller.areas)
    return templates.TemplateResponse(request, "pages/strategic.html",
                                      {**html_context(doc), "viewer": viewer, "nav_current": "analysts"})


@router.get("/v1/strategic-assessment.pdf", tags=["strategic assessment"],
            response_class=Response, summary="The strategic assessment as a PDF download", responses=UNKNOWN_AREA)
def strategic_pdf(caller: Annotated[Caller, STRATEGIC], db: DatabaseDep, registry: RegistryDep, scoring: ScoringDep,
                  clock: ClockDep, guidance: GuidanceDep, area: str | None = None, start: From = None,
                  end: To = None) -> Response:
    from services.assessment.report import render_pdf

    doc = _strategic(db, registry, scoring, clock, area, start, end, guidance, caller)
    name = f"strategic-assessment-{doc.area or 'all'}-{doc.first.isoformat()}-{doc.last.isoformat()}.pdf"
    return Response(render_pdf(doc), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
