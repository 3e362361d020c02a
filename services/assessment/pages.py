"""The analysts' pages: the map of force areas by risk, reports per week, an area's page, counts as CSV.

Server-rendered in Vigil's layout (shared.web); no script is needed. Filters are GET parameters, so a
view can be bookmarked and shared. A browser nobody has signed in on is sent to sign in at triage and
brought back; API clients asking for `/` still get the 404 they always got.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.assessment import queries, trends
from services.assessment.deps import (
    ClockDep,
    DatabaseDep,
    PageViewer,
    RegistryDep,
    ScoringDep,
    SiteDep,
    TemplatesDep,
    may_read_strategic,
)
from services.assessment.export import counts_csv
from services.assessment.forcemap import MapArea, default_layout, map_svg
from services.assessment.plain import LEVEL_STYLES, explain, level_word, short_date
from services.assessment.scoring import AreaPicture, level_rank
from shared.areas import AreaRegistry
from shared.events.reports import Strand
from shared.problems import NotFound, Unprocessable, prefers_html
from shared.web.filters import LONDON, humanise
from shared.web.site import StaffSite, Viewer
from shared.web.templates import page_templates

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
STATIC_PREFIX = "/analysis-static"
NAV = "analysts"


def pages_only(request: Request) -> None:
    """`/` is a page for browsers; to anything else it stays the 404 it always was."""
    if not prefers_html(request.headers.get("accept")):
        raise StarletteHTTPException(status_code=404)


router = APIRouter(include_in_schema=False)
home_router = APIRouter(include_in_schema=False, dependencies=[Depends(pages_only)])
exports = APIRouter(tags=["exports"])


def static_prefix() -> str:
    """Where the analysts' own files are served: the URL changes with their content, so none is stale."""
    digest = hashlib.sha256((STATIC / "analysis.css").read_bytes()).hexdigest()[:12]
    return f"{STATIC_PREFIX}/{digest}"


def templates_for(site: StaffSite) -> Jinja2Templates:
    templates = page_templates(TEMPLATES, site=site)
    templates.env.globals.update(analysis_stylesheet=f"{static_prefix()}/analysis.css", short_date=short_date)
    templates.env.filters.update(sentence=lambda text: str(text)[:1].upper() + str(text)[1:])
    return templates


@dataclass(frozen=True)
class Filters:
    weeks: int = trends.DEFAULT_WEEKS
    area: str = ""
    strand: str = ""

    def query(self, **changes: Any) -> str:
        chosen = replace(self, **changes)
        values = {"period": chosen.weeks if chosen.weeks != trends.DEFAULT_WEEKS else None,
                  "area": chosen.area, "strand": chosen.strand}
        text = urlencode({k: v for k, v in values.items() if v})
        return f"?{text}" if text else ""


def filters(registry: RegistryDep, period: int = trends.DEFAULT_WEEKS,
            area_chosen: Annotated[str, Query(alias="area")] = "", strand: str = "") -> Filters:
    """The filters in the URL; `area` is read apart from an area page's own path, which it never overrides."""
    area = area_chosen
    errors = []
    if period not in trends.PERIODS:
        errors.append({"field": "period", "message": f"choose one of {', '.join(map(str, trends.PERIODS))} weeks"})
    if area and area not in registry:
        errors.append({"field": "area", "message": "choose a police force area from the list"})
    if strand and strand not in Strand.__members__:
        errors.append({"field": "strand", "message": "choose a strand from the list"})
    if errors:
        raise Unprocessable("Choose the period, area and strand from the lists.", errors=errors)
    return Filters(period, area, strand)


FiltersDep = Annotated[Filters, Depends(filters)]


def sign_in_first(request: Request, site: StaffSite) -> RedirectResponse:
    return RedirectResponse(site.sign_in_url(str(request.url)), status_code=303)


@home_router.get("/")
def home(request: Request, viewer: PageViewer, chosen: FiltersDep, db: DatabaseDep, registry: RegistryDep,
         scoring: ScoringDep, clock: ClockDep, site: SiteDep, templates: TemplatesDep) -> Response:
    if viewer is None:
        return sign_in_first(request, site)
    _chosen_is_theirs(viewer, chosen)
    now = clock.now()
    period = trends.Period(chosen.weeks, now.astimezone(LONDON).date())
    with db.snapshot() as s:
        found, _ = queries.all_pictures(s, registry, now, scoring)
        weekly = _weekly(s, registry, period, chosen, viewer)
    rows = _area_rows({code: p for code, p in found.items() if viewer.covers(code)}, registry, chosen)
    weeks, counts = weekly.weeks, (weekly.of(chosen.area) if chosen.area else weekly.totals())
    where = (registry.get(chosen.area).name if chosen.area  # type: ignore[union-attr]
             else "your force areas" if viewer.areas else "all force areas")
    return templates.TemplateResponse(request, "pages/home.html", {
        **_common(viewer, chosen, period, registry, now), "page_title": "Risk by police force area",
        "rows": rows, "raised": [r for r in rows if r["level"] != "low"],
        "map_svg": map_svg(default_layout(), {r["code"]: MapArea(r["name"], r["level"], r["href"]) for r in rows},
                           "map-heading"),
        "legend": [(s, sum(1 for r in rows if r["level"] == level)) for level, s in LEVEL_STYLES.items()],
        "layout_source": default_layout().source, "where": where,
        **_trend(weeks, counts, f"Reports per week in {where}"),
        "strategic_href": _strategic_href(viewer, chosen.area, period)})


@router.get("/areas/{area}")
def area_page(request: Request, area: str, viewer: PageViewer, chosen: FiltersDep, db: DatabaseDep,
              registry: RegistryDep, scoring: ScoringDep, clock: ClockDep, site: SiteDep,
              templates: TemplatesDep) -> Response:
    if viewer is None:
        return sign_in_first(request, site)
    known = registry.get(area)
    if known is None or not viewer.covers(area):  # another's area answers as an unknown one (need to know)
        raise NotFound(f"There is no police force area with the code {area}.")
    chosen = replace(chosen, area=area)
    now = clock.now()
    period = trends.Period(chosen.weeks, now.astimezone(LONDON).date())
    with db.snapshot() as s:
        picture = queries.area_picture(s, area, now, scoring)
        totals = queries.area_totals(s, area, now)
        weekly = _weekly(s, registry, period, chosen, viewer)
    return templates.TemplateResponse(request, "pages/area.html", {
        **_common(viewer, chosen, period, registry, now), "page_title": known.name, "name": known.name,
        "code": area, "picture": picture, "style": LEVEL_STYLES[picture.level],
        "plain_reasons": explain(picture, scoring), "windows": _windows(picture),
        "breakdowns": _breakdowns(picture), "districts": _districts(registry, totals["districts_28d"]),
        "last_report_at": totals["last_report_at"], "all_time": totals["reports"],
        **_trend(weekly.weeks, weekly.of(area), f"Reports per week in {known.name}"),
        "strategic_href": _strategic_href(viewer, area, period)})


@exports.get("/counts.csv", summary="Reports per area and week as CSV; counts from 1 to 4 are shown as <5",
             response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def counts_export(request: Request, viewer: PageViewer, chosen: FiltersDep, db: DatabaseDep,
                  registry: RegistryDep, clock: ClockDep, site: SiteDep) -> Response:
    if viewer is None:
        return sign_in_first(request, site)
    _chosen_is_theirs(viewer, chosen)
    period = trends.Period(chosen.weeks, clock.now().astimezone(LONDON).date())
    with db.snapshot() as s:
        weekly = _weekly(s, registry, period, chosen, viewer)
    names = {a.code: a.name for a in registry.all()}
    strand = humanise(chosen.strand) if chosen.strand else "All strands"
    filename = (f"vigil-reports-per-week-{chosen.area or 'all-areas'}-{chosen.strand or 'all-strands'}-"
                f"{period.first.isoformat()}-to-{period.today.isoformat()}.csv")
    return Response(counts_csv(weekly, names, strand), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _chosen_is_theirs(viewer: Viewer, chosen: Filters) -> None:
    """An area outside the person's is refused as an unknown code is (`filters`): its existence not confirmed."""
    if chosen.area and not viewer.covers(chosen.area):
        raise Unprocessable("Choose the period, area and strand from the lists.",
                            errors=[{"field": "area", "message": "choose a police force area from the list"}])


def _weekly(s: Session, registry: AreaRegistry, period: trends.Period, chosen: Filters,
            viewer: Viewer) -> trends.WeeklyCounts:
    """Counts for the chosen area, or for every area the person's account covers."""
    areas = [chosen.area] if chosen.area else [a.code for a in registry.all() if viewer.covers(a.code)]
    return trends.weekly_counts(s, period, areas, chosen.strand or None)


def _common(viewer: Viewer, chosen: Filters, period: trends.Period, registry: AreaRegistry,
            now: datetime) -> dict[str, Any]:
    """What every analysts' page has: who, where in the navigation, the filters and their choices."""
    return {"viewer": viewer, "nav_current": NAV, "as_of": now, "chosen": chosen, "period": period,
            "period_options": [{"value": str(w), "text": t, "selected": w == chosen.weeks}
                               for w, t in trends.PERIODS.items()],
            "area_options": [{"value": "", "text": "All your force areas" if viewer.areas else "All force areas"}] + [
                {"value": a.code, "text": a.name, "selected": a.code == chosen.area}
                for a in sorted(registry.all(), key=lambda a: a.name) if viewer.covers(a.code)],
            "strand_options": [{"value": "", "text": "All strands"}] + [
                {"value": s.value, "text": humanise(s), "selected": s.value == chosen.strand} for s in Strand],
            "csv_href": f"/counts.csv{chosen.query()}"}


def _area_rows(found: dict[str, AreaPicture], registry: AreaRegistry, chosen: Filters) -> list[dict[str, Any]]:
    rows = [{"code": code, "name": registry.get(code).name, "level": p.level,  # type: ignore[union-attr]
             "word": level_word(p.level), "number": LEVEL_STYLES[p.level].number, "history": p.history.sufficient,
             "reports_7d": p.counts["7d"]["total"], "reports_28d": p.counts["28d"]["total"], "spike": p.spike.spike,
             "href": f"/areas/{code}{chosen.query(area='')}"} for code, p in found.items()]
    return sorted(rows, key=lambda r: (-level_rank(r["level"]), r["name"]))


def _trend(weeks: tuple[date, ...], counts: list[int], title: str) -> dict[str, Any]:
    description = trends.describe(weeks, counts)
    return {"trend_title": title, "trend_description": description,
            "trend_svg": trends.bars_svg(weeks, counts, title, description),
            "trend_rows": list(zip(weeks, counts, strict=True))}


def _strategic_href(viewer: Viewer, area: str, period: trends.Period) -> str | None:
    if not may_read_strategic(viewer) or (not area and len(viewer.areas) > 1):
        return None  # the assessment of every area is for national accounts
    query = {"area": area or None, "from": period.first.isoformat(), "to": period.today.isoformat()}
    return "/v1/strategic-assessment?" + urlencode({k: v for k, v in query.items() if v})


def _windows(p: AreaPicture) -> list[tuple[str, int]]:
    return [("Last 24 hours", p.counts["24h"]["total"]), ("Last 7 days", p.counts["7d"]["total"]),
            ("Last 28 days", p.counts["28d"]["total"])]


def _breakdowns(p: AreaPicture) -> list[tuple[str, str, list[tuple[str, int]]]]:
    """The last 28 days by type, strand, religion targeted and place, largest first, in words."""
    window = p.counts["28d"]
    named = (("by-type", "By type of incident", "by_type"), ("by-strand", "By what was targeted", "by_strand"),
             ("by-religion", "By religion targeted", "by_religion"), ("by-place", "By type of place", "by_place"))
    return [(key, title, sorted(((humanise(k), n) for k, n in window[field].items()), key=lambda x: (-x[1], x[0])))
            for key, title, field in named]


def _districts(registry: AreaRegistry, districts: dict[str, int]) -> list[tuple[str, int]]:
    named: Counter[str] = Counter()
    for code, n in districts.items():
        district = registry.district(code)
        named[district.name if district else "Not known"] += n
    return sorted(named.items(), key=lambda x: (-x[1], x[0]))

