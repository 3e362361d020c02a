"""The strategic assessment: one document per area (or all) and period, as HTML and as PDF.

Everything in it comes from the projection: the risk table, the trend against the area's own
baseline, the breakdown by strand and type, the calendar ahead, open critical incidents, and
every item with its 3x5x2 grading and provenance. Items under handling code C are marked:
sharing them is lawful only under conditions. Areas are named, codes are put into words, times
are UK times with the zone, and counts are read off whole-number axes. The HTML is a staff page in
Vigil's layout (or, from the command line, a file standing on its own) with its chart drawn as
inline SVG; the PDF is written with matplotlib's PdfPages, so no browser is needed to produce it.
"""

from __future__ import annotations

import io
import textwrap
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from sqlalchemy.orm import Session

from services.assessment import queries
from services.assessment.calendar import CalendarEvent, events_between
from services.assessment.plain import LEVEL_STYLES, explain, level_word, short_date
from services.assessment.scoring import ScoringConfig, between, level_rank, pictures, window_history
from services.assessment.sites.guidance import Guidance, load_guidance_file
from services.assessment.sites.strategic import PlacesOfWorship, places_of_worship
from services.assessment.trends import bars_svg
from shared.areas import AreaRegistry
from shared.web.filters import humanise, london_time
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
    found, unknown = pictures(registry, got.reports, got.incidents, got.tensions, as_of, config)
    shown = {area: found[area]} if area else found
    live = [r for r in got.reports if not r.withdrawn]
    in_period = [r for r in live if start < r.occurred_at <= end]
    days, daily, baseline = _series(sorted(r.occurred_at for r in live), start, end)
    refs = {r.report_id: r.reference for r in got.reports}
    open_critical = [queries.incident_item(i, refs.get(i.report_id)) for i in got.incidents
                     if i.critical and i.status != "closed" and i.triaged_at <= as_of]
    names = _names(registry, got.reports)
    areas = [{"area": code, "name": names.get(code, code),
              "nation": registry.get(code).nation if registry.get(code) else "",  # type: ignore[union-attr]
              "level": p.level, "score": p.score, "reasons": list(p.reasons), "plain_reasons": explain(p, config),
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

A4 = (8.27, 11.69)
LINES_PER_PAGE = 70


def render_pdf(doc: StrategicAssessment) -> bytes:
    buffer = io.BytesIO()
    with PdfPages(buffer, metadata={"Title": f"Strategic assessment: {doc.title}", "Creator": "Vigil"}) as pdf:
        pdf.savefig(_cover(doc))
        pdf.savefig(_charts_page(doc))
        for page in _text_pages("Calendar ahead, open critical incidents, tension", _context_lines(doc)):
            pdf.savefig(page)
        for page in _text_pages("Items, each with its 3x5x2 grading and provenance", _item_lines(doc)):
            pdf.savefig(page)
    return buffer.getvalue()


def _cover(doc: StrategicAssessment) -> Figure:
    fig = Figure(figsize=A4)
    fig.text(0.06, 0.96, "Strategic assessment", fontsize=20, weight="bold", va="top")
    fig.text(0.06, 0.925, doc.title, fontsize=14, va="top")
    fig.text(0.06, 0.90, f"{short_date(doc.first)} to {short_date(doc.last)}; risk as of {london_time(doc.as_of)}; "
             f"produced {london_time(doc.generated_at)}", fontsize=9, va="top")
    fig.text(0.06, 0.88, f"{len(doc.items)} reports in the period, {doc.conditional_items} under handling code C "
             "(sharing only with conditions, marked [C]).", fontsize=9, va="top")
    rows = doc.areas[:45]
    ax = fig.add_axes((0.06, 0.05, 0.88, 0.8))
    ax.axis("off")
    ax.set_title("Areas by risk", fontsize=11, loc="left")
    if rows:
        table = ax.table(cellText=[[a["name"][:34], NATIONS.get(a["nation"], ""), _level(a["level"]),
                                    f"{a['score']:g}", a["reports_period"], "Yes" if a["spike"] else ""]
                                   for a in rows],
                         colLabels=["Area", "Nation", "Risk", "Score", "Reports", "Sudden rise"],
                         cellColours=[["white", "white", LEVEL_STYLES[a["level"]].fill, "white", "white", "white"]
                                      for a in rows], loc="upper left", colWidths=[0.36, 0.14, 0.16, 0.1, 0.1, 0.14])
        table.auto_set_font_size(False)
        table.set_fontsize(7)
        table.scale(1, 1.05)
        for row, a in enumerate(rows, start=1):
            table[row, 2].get_text().set_color(LEVEL_STYLES[a["level"]].text)
    return fig


def _level(level: str) -> str:
    return f"{LEVEL_STYLES[level].number} {level_word(level)}"


def _dates(doc: StrategicAssessment) -> Any:
    """matplotlib plots dates natively; its stubs only admit arrays."""
    return doc.days


def _charts_page(doc: StrategicAssessment) -> Figure:
    fig = Figure(figsize=A4)
    top = fig.add_axes((0.1, 0.58, 0.85, 0.35))
    top.plot(_dates(doc), doc.daily, marker="o", markersize=3, color="#1d70b8", label="Reports per day")
    top.plot(_dates(doc), doc.baseline, linestyle="--", color="#d4351c",
             label="Usual (the same weekday in the four weeks before)")
    top.set_title(f"Reports per day: {doc.title}", fontsize=10)
    top.yaxis.set_major_locator(MaxNLocator(integer=True))
    top.set_ylim(bottom=0)
    top.legend(fontsize=8)
    top.grid(alpha=0.3)
    top.tick_params(axis="x", labelrotation=45, labelsize=7)
    for box, data, name in (((0.16, 0.08, 0.29, 0.38), doc.by_strand, "what was targeted"),
                            ((0.66, 0.08, 0.29, 0.38), doc.by_type, "type of incident")):
        ax = fig.add_axes(box)
        labels = [humanise(k) for k in data] or ["None"]
        ax.barh(labels[::-1], (list(data.values()) or [0])[::-1], color="#1d70b8")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(f"Reports in the period by {name}", fontsize=10)
        ax.tick_params(labelsize=7)
    return fig


def _context_lines(doc: StrategicAssessment) -> list[str]:
    lines = [f"CALENDAR AHEAD ({CALENDAR_AHEAD_DAYS} days from {short_date(doc.as_of.date())})"]
    lines += [f"  {short_date(e.start)} to {short_date(e.end)}  {e.name} ({humanise(e.faith)}): reports count "
              f"{e.weight:g} times as much" for e in doc.calendar] or ["  nothing in the calendar"]
    lines += ["", f"OPEN CRITICAL INCIDENTS ({len(doc.open_critical)})"]
    lines += [f"  {london_time(i['at'])}  {doc.name_of(i['area'])}  {i['priority']}  {humanise(i['status'])}  "
              f"reference {i['reference'] or '-'}  criteria: {', '.join(humanise(m) for m in i['matched'])}"
              for i in doc.open_critical] or ["  none"]
    lines += ["", "WHY EACH AREA HAS ITS LEVEL"]
    for a in doc.areas:
        if a["level"] != "low" or doc.area:
            lines.append(f"  {a['name']}: {_level(a['level'])}")
            lines += [f"    - {r}" for r in a["plain_reasons"]]
            lines += [f"      ({r})" for r in a["reasons"]]
    lines += _worship_lines(doc)
    if doc.unknown_areas:
        lines += ["", "REPORTS UNDER UNKNOWN AREA CODES (not assigned to any force)"]
        lines += [f"  {code}: {n}" for code, n in doc.unknown_areas.items()]
    return lines


def _worship_lines(doc: StrategicAssessment) -> list[str]:
    places = doc.places_of_worship
    lines = ["", f"PLACES OF WORSHIP ({len(places.sites)} registered)"]
    lines += [f"  {_level(level)}: {n}" for level, n in places.by_level if n]
    overdue = [f"    {x.name} ({doc.name_of(x.area)}): {', '.join(x.overdue)}" for x in places.with_overdue]
    hit = [f"    {x.name} ({doc.name_of(x.area)}): {x.incidents}" for x in places.with_incidents]
    lines += ["  Routines overdue or never done:", *(overdue or ["    none"])]
    lines += ["  Sites with incidents in the period:", *(hit or ["    none"])]
    return lines


def _item_lines(doc: StrategicAssessment) -> list[str]:
    lines = []
    for item in doc.items:
        g = item["grading"]
        mark = "[C]" if g["conditions_apply"] else "   "
        p = item["provenance"]
        where = doc.name_of(item["area"]) + (f", {doc.name_of(item['district'])}" if item["district"] else "")
        lines.append(f"{mark} {london_time(item['at'])}  {where}  {g['code']}  "
                     f"{', '.join(humanise(t) for t in item['types'])} / "
                     f"{', '.join(humanise(t) for t in item['strands'])} / {humanise(item['place_type'])}")
        lines.append(f"      reference {item['reference']}  {humanise(p['channel'])}, {humanise(p['reporter_role'])}  "
                     f"submitted {london_time(p['submitted_at'])}  version {p['version']}"
                     + ("  WITHDRAWN" if item["withdrawn"] else ""))
    return lines or ["no reports in the period"]


def _text_pages(title: str, lines: list[str]) -> Iterator[Figure]:
    wrapped = [part for line in lines for part in (textwrap.wrap(line, 118, subsequent_indent="        ") or [""])]
    chunks = [wrapped[i:i + LINES_PER_PAGE] for i in range(0, len(wrapped), LINES_PER_PAGE)] or [[]]
    for n, chunk in enumerate(chunks, 1):
        fig = Figure(figsize=A4)
        fig.text(0.05, 0.97, f"{title} ({n}/{len(chunks)})", fontsize=11, weight="bold", va="top")
        fig.text(0.05, 0.94, "\n".join(chunk), fontsize=6.5, family="monospace", va="top")
        yield fig
