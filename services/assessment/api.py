"""Assessment's HTTP face for analysts: area pictures, timelines and the strategic assessment."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from services.assessment import queries
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
from shared.problems import NotFound
from shared.staffaccess import STAFF_ONLY, Caller, requires
from shared.web.site import Viewer

if TYPE_CHECKING:
    from services.assessment.report import StrategicAssessment

router = APIRouter(responses=STAFF_ONLY)
AREAS = requires(*AREA_READERS)
STRATEGIC = requires(*STRATEGIC_READERS)
From = Annotated[date | None, Query(alias="from", description="first day (inclusive), default 28 days ago")]
To = Annotated[date | None, Query(alias="to", description="last day (inclusive), default today")]


def _name(registry: AreaRegistry, area: str) -> str:
    known = registry.get(area)
    if known is None:
        raise NotFound(f"unknown area code '{area}'")
    return known.name


@router.get("/v1/areas", dependencies=[AREAS], tags=["areas"], summary="Every force area's risk level, highest first")
def list_areas(db: DatabaseDep, registry: RegistryDep, scoring: ScoringDep, clock: ClockDep) -> dict[str, Any]:
    now = clock.now()
    with db.snapshot() as s:
        found, unknown = queries.all_pictures(s, registry, now, scoring)
    rows = [{"area": code, "name": known.name if (known := registry.get(code)) else code,
             "level": p.level, "score": p.score, "reasons": list(p.reasons),
             "reports_24h": p.counts["24h"]["total"], "reports_7d": p.counts["7d"]["total"],
             "reports_28d": p.counts["28d"]["total"], "spike": p.spike.spike,
             "calendar_factor": p.calendar_factor, "open_critical_incidents": len(p.open_critical),
             "history": p.history.document()}
            for code, p in found.items()]
    rows.sort(key=lambda r: (-level_rank(r["level"]), -r["score"], r["area"]))
    return {"as_of": now.isoformat(), "areas": rows, "unknown_areas": unknown}


@router.get("/v1/areas/{area}", dependencies=[AREAS],
            tags=["areas"], summary="One area's current picture: risk, reasons, counts, trend")
def get_area(area: str, db: DatabaseDep, registry: RegistryDep, scoring: ScoringDep,
             clock: ClockDep) -> dict[str, Any]:
    name = _name(registry, area)
    now = clock.now()
    with db.snapshot() as s:
        picture = queries.area_picture(s, area, now, scoring)
        totals = queries.area_totals(s, area, now)
    return {"name": name, **picture.document(), **totals}


@router.get("/v1/areas/{area}/timeline", dependencies=[AREAS], tags=["areas"],
            summary="Reports and incidents in an area over a period, each with its grading and provenance")
def get_timeline(area: str, db: DatabaseDep, registry: RegistryDep, clock: ClockDep, start: From = None,
                 end: To = None) -> dict[str, Any]:
    _name(registry, area)
    first, last = queries.period(start, end, clock.now().date())
    with db.snapshot() as s:
        items = queries.timeline(s, area, first, last)
    return {"area": area, "from": (first + timedelta(microseconds=1)).date().isoformat(),
            "to": last.date().isoformat(), "items": items}


def _strategic(db: Database, registry: AreaRegistry, scoring: ScoringConfig, clock: Clock, area: str | None,
               start: date | None, end: date | None, guidance: Guidance) -> StrategicAssessment:
    """The document both routes render: read from one snapshot, rendered after the snapshot is let go."""
    from services.assessment.report import build_assessment

    if area:
        _name(registry, area)
    first, last = queries.period(start, end, clock.now().date())
    with db.snapshot() as s:
        return build_assessment(s, registry, scoring, area, first, last, clock.now(), guidance)


@router.get("/v1/strategic-assessment", tags=["strategic assessment"], response_class=HTMLResponse,
            summary="The strategic assessment as an HTML page (chart inline), with a link to the PDF")
def strategic_html(request: Request, caller: Annotated[Caller, STRATEGIC], db: DatabaseDep, registry: RegistryDep,
                   scoring: ScoringDep, clock: ClockDep, templates: TemplatesDep, guidance: GuidanceDep,
                   area: str | None = None, start: From = None, end: To = None) -> HTMLResponse:
    from services.assessment.report import html_context

    doc = _strategic(db, registry, scoring, clock, area, start, end, guidance)
    viewer = Viewer(caller.name, caller.roles, caller.csrf_token)
    return templates.TemplateResponse(request, "pages/strategic.html",
                                      {**html_context(doc), "viewer": viewer, "nav_current": "analysts"})


@router.get("/v1/strategic-assessment.pdf", dependencies=[STRATEGIC], tags=["strategic assessment"],
            response_class=Response, summary="The strategic assessment as a PDF download")
def strategic_pdf(db: DatabaseDep, registry: RegistryDep, scoring: ScoringDep, clock: ClockDep, guidance: GuidanceDep,
                  area: str | None = None, start: From = None, end: To = None) -> Response:
    from services.assessment.report import render_pdf

    doc = _strategic(db, registry, scoring, clock, area, start, end, guidance)
    name = f"strategic-assessment-{doc.area or 'all'}-{doc.first.isoformat()}-{doc.last.isoformat()}.pdf"
    return Response(render_pdf(doc), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
