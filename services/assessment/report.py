"""The strategic assessment: one document per area (or all) and period, as HTML and as PDF.

Everything in it comes from the projection: the risk table, the trend against the area's own
baseline, the breakdown by strand and type, the calendar ahead, open critical incidents, and
every item with its 3x5x2 grading and provenance. Items under handling code C are marked:
sharing them is lawful only under conditions. Areas are named, codes are put into words, times
are UK times with the zone, and counts are read off whole-number axes. The HTML is a staff page in
Vigil's layout (or, from the command line, a file standing on its own) with its chart drawn as
inline SVG; the PDF is that file typeset by WeasyPrint, so the two never differ and no browser is needed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from services.assessment import queries
from services.assessment.calendar import CalendarEvent, events_between
from services.assessment.plain import LEVEL_STYLES, explain, short_date
from services.assessment.scoring import ScoringConfig, between, level_rank, pictures, window_history
from services.assessment.sites.guidance import Guidance, load_guidance_file
from services.assessment.sites.strategic import PlacesOfWorship, places_of_worship
from services.assessment.trends import bars_svg
from shared.areas import AreaRegistry
from shared.web.templates import page_environment

TEMPLATES = Path(__file__).parent / "templates"
STYLESHEET = Path(__file__).parent / "static" / "analysis.css"
CALENDAR_AHEAD_DAYS = 28


@cache
def packaged_guidance() -> Guidance:
    return load_guidance_file()
NATIONS = {"england": "England", "wales": "Wales", "scotland": "Scotland", "northern_ireland": "Northern Ireland"}


@dataclass
class StrategicAssessment:
    area: str | None
    title: str
    first: date
    last: date
    generated_at: datetime
    as_of: datetime
    areas: list[dict[str, Any]]
    days: list[date]
    daily: list[int]
    baseline: list[float]
    by_strand: dict[str, int]
    by_type: dict[str, int]
    calendar: list[CalendarEvent]
    open_critical: list[dict[str, Any]]
    items: list[dict[str, Any]]
    unknown_areas: dict[str, int] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # area and district codes to names
    places_of_worship: PlacesOfWorship = field(default_factory=PlacesOfWorship)

    def name_of(self, code: str | None) -> str:
        return self.names.get(code or "", code or "")

    @property
    def conditional_items(self) -> int:
        return sum(1 for i in self.items if i["grading"]["conditions_apply"])


def build_assessment(s: Session, registry: AreaRegistry, config: ScoringConfig, area: str | None,
                     start: datetime, end: datetime, now: datetime,
                     guidance: Guidance | None = None) -> StrategicAssessment:
    """`start`/`end` are the (exclusive, inclusive] instants of the period; the picture is as of its end or now.
    `guidance` is the places-of-worship guidance the sites' routines follow (default: the packaged one)."""
    as_of = min(now, end)
    got = queries.inputs_since(s, min(start, as_of - queries.LOOKBACK) - timedelta(weeks=4), area)
    found, unknown = pictures(registry, got.reports, got.incidents, got.tensions, as_of, config,
                              queries.records_began(s), queries.seeds_since(s, as_of, area))
    shown = {area: found[area]} if area else found
    live = [r for r in got.reports if not r.withdrawn]
    in_period = [r for r in live if start < r.occurred_at <= end]
    days, daily, baseline = _series(sorted(r.occurred_at for r in live), start, end)
    open_incidents = [i for i in got.incidents if i.critical and i.status != "closed" and i.triaged_at <= as_of]
    refs = queries.references(s, open_incidents)
    open_critical = [queries.incident_item(i, refs.get(i.report_id)) for i in open_incidents]
    names = _names(registry, got.reports)
    areas = [{"area": code, "name": names.get(code, code),
              "nation": registry.get(code).nation if registry.get(code) else "",  # type: ignore[union-attr]
              "level": p.level, "history_sufficient": p.history.sufficient, "score": p.score,
              "reasons": list(p.reasons), "plain_reasons": explain(p, config),
              "reports_period": sum(1 for r in in_period if r.area == code), "spike": p.spike.spike,
              "calendar_factor": p.calendar_factor, "open_critical": len(p.open_critical)}
             for code, p in shown.items()]
    areas.sort(key=_risk_order)
    title = names.get(area, area) if area else "All force areas"
    return StrategicAssessment(
        area=area, title=title, first=(start + timedelta(microseconds=1)).date(), last=end.date(),
        generated_at=now, as_of=as_of, areas=areas, days=days, daily=daily, baseline=baseline,
        by_strand=dict(Counter(x for r in in_period for x in r.strands).most_common()),
        by_type=dict(Counter(x for r in in_period for x in r.types).most_common()),
        calendar=events_between(as_of.date(), as_of.date() + timedelta(days=CALENDAR_AHEAD_DAYS),
                                config.anniversaries),
        open_critical=open_critical, items=[queries.report_item(r) for r in in_period],
        unknown_areas=unknown if not area else {}, names=names,
        places_of_worship=places_of_worship(s, area, start, end, as_of, config, guidance or packaged_guidance()))


def _names(registry: AreaRegistry, reports: Sequence[Any]) -> dict[str, str]:
    names = {a.code: a.name for a in registry.all()}
    for code in {r.district for r in reports if r.district}:
        district = registry.district(code)
        if district is not None:
            names[code] = district.name
    return names


def _risk_order(row: dict[str, Any]) -> tuple[int, float, str]:
    return -level_rank(row["level"]), -row["score"], row["area"]


def _series(times: Sequence[datetime], start: datetime, end: datetime) -> tuple[list[date], list[int], list[float]]:
    days, daily, baseline = [], [], []
    day_end = start + timedelta(days=1)
    while day_end <= end + timedelta(microseconds=1):
        days.append((day_end - timedelta(hours=12)).date())
        daily.append(between(times, day_end - timedelta(days=1), day_end))
        history = window_history(times, day_end, timedelta(days=1))
        baseline.append(sum(history) / len(history))
        day_end += timedelta(days=1)
    return days, daily, baseline


# HTML --------------------------------------------------------------------------------------

def pdf_link(doc: StrategicAssessment) -> str:
    query = f"from={doc.first.isoformat()}&to={doc.last.isoformat()}" + (f"&area={doc.area}" if doc.area else "")
    return f"/v1/strategic-assessment.pdf?{query}"


def html_context(doc: StrategicAssessment, pdf_href: str | None = None, linked: bool = True) -> dict[str, Any]:
    """What both HTML forms show; `linked` pages link each area to its page (a file on its own cannot)."""
    title = f"Reports per day: {doc.title}"
    description = _describe_days(doc)
    return {"doc": doc, "pdf_href": pdf_href or pdf_link(doc), "linked": linked, "styles": LEVEL_STYLES,
            "nations": NATIONS, "page_title": f"Strategic assessment: {doc.title}", "trend_title": title,
            "trend_description": description,
            "trend_svg": bars_svg(doc.days, doc.daily, title, description, usual=doc.baseline)}


def render_html(doc: StrategicAssessment, pdf_href: str | None = None) -> str:
    """The document as a file standing on its own (`vigil assessment report --out x.html`): styles inline."""
    env = page_environment([TEMPLATES])
    env.globals.update(short_date=short_date)
    return env.get_template("strategic.html").render(**html_context(doc, pdf_href, linked=False),
                                                     stylesheet=STYLESHEET.read_text(encoding="utf-8"))


def _describe_days(doc: StrategicAssessment) -> str:
    total = sum(doc.daily)
    if not doc.days:
        return "No days in the period."
    busiest = max(range(len(doc.daily)), key=lambda i: (doc.daily[i], i))
    most = f"; the most, {doc.daily[busiest]}, on {short_date(doc.days[busiest])}" if total else ""
    return (f"{total} report{'' if total == 1 else 's'} from {short_date(doc.days[0])} to "
            f"{short_date(doc.days[-1])}{most}. The dashed line is the usual number for each day: the mean of "
            "the same weekday in the four weeks before.")


# PDF ---------------------------------------------------------------------------------------

def render_pdf(doc: StrategicAssessment) -> bytes:
    """The HTML document, typeset by WeasyPrint: the PDF cannot say anything the page does not (ADR 0043)."""
    from weasyprint import HTML  # imported when asked for: it loads Pango, which nothing else needs

    pdf: bytes = HTML(string=render_html(doc, pdf_href="#"), base_url=str(TEMPLATES)).write_pdf()
    return pdf
