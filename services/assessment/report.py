"""The strategic assessment: one document per area (or all) and period, as HTML and as PDF.

Everything in it comes from the projection: the risk table, the trend against the area's own
baseline, the breakdown by strand and type, the calendar ahead, open critical incidents, and
every item with its 3x5x2 grading and provenance. Items under handling code C are marked:
sharing them is lawful only under conditions. Charts are drawn once with matplotlib (Agg, no
pyplot state) and embedded as SVG in the HTML; the PDF is written with matplotlib's PdfPages,
so no browser is needed to produce it.
"""

from __future__ import annotations

import io
import textwrap
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from sqlalchemy.orm import Session

from services.assessment import queries
from services.assessment.calendar import CalendarEvent, events_between
from services.assessment.scoring import LEVELS, ScoringConfig, between, level_rank, pictures, window_history
from shared.areas import AreaRegistry

LEVEL_COLOURS = {"low": "#d9f0d3", "moderate": "#fff3b0", "substantial": "#fdd49e", "severe": "#fc8d59",
                 "critical": "#d7301f"}
TEMPLATES = Path(__file__).parent / "templates"
CALENDAR_AHEAD_DAYS = 28


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

    @property
    def conditional_items(self) -> int:
        return sum(1 for i in self.items if i["grading"]["conditions_apply"])


def build_assessment(s: Session, registry: AreaRegistry, config: ScoringConfig, area: str | None,
                     start: datetime, end: datetime, now: datetime) -> StrategicAssessment:
    """`start`/`end` are the (exclusive, inclusive] instants of the period; the picture is as of its end or now."""
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
    areas = [{"area": code, "name": registry.get(code).name if registry.get(code) else code,  # type: ignore[union-attr]
              "nation": registry.get(code).nation if registry.get(code) else "",  # type: ignore[union-attr]
              "level": p.level, "score": p.score, "reasons": list(p.reasons),
              "reports_period": sum(1 for r in in_period if r.area == code), "spike": p.spike.spike,
              "calendar_factor": p.calendar_factor, "open_critical": len(p.open_critical)}
             for code, p in shown.items()]
    areas.sort(key=_risk_order)
    title = f"{registry.get(area).name} ({area})" if area and registry.get(area) else "All force areas"  # type: ignore[union-attr]
    return StrategicAssessment(
        area=area, title=title, first=(start + timedelta(microseconds=1)).date(), last=end.date(),
        generated_at=now, as_of=as_of, areas=areas, days=days, daily=daily, baseline=baseline,
        by_strand=dict(Counter(x for r in in_period for x in r.strands).most_common()),
        by_type=dict(Counter(x for r in in_period for x in r.types).most_common()),
        calendar=events_between(as_of.date(), as_of.date() + timedelta(days=CALENDAR_AHEAD_DAYS),
                                config.anniversaries),
        open_critical=open_critical, items=[queries.report_item(r) for r in in_period],
        unknown_areas=unknown if not area else {})


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


# charts ------------------------------------------------------------------------------------

def _dates(doc: StrategicAssessment) -> Any:
    """matplotlib plots dates natively; its stubs only admit arrays."""
    return doc.days


def trend_chart(doc: StrategicAssessment) -> Figure:
    fig = Figure(figsize=(8, 3.2))
    ax = fig.subplots()
    ax.plot(_dates(doc), doc.daily, marker="o", markersize=3, label="reports per day", color="#1f4e79")
    ax.plot(_dates(doc), doc.baseline, linestyle="--", label="baseline (same weekday, previous 4 weeks)",
            color="#c55a11")
    ax.set_title(f"Reports per day against baseline: {doc.title}")
    ax.set_ylabel("reports")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def breakdown_chart(doc: StrategicAssessment) -> Figure:
    fig = Figure(figsize=(8, 3.2))
    left, right = fig.subplots(1, 2)
    for ax, data, title in ((left, doc.by_strand, "by strand"), (right, doc.by_type, "by type")):
        labels = list(data) or ["(none)"]
        values = list(data.values()) or [0]
        ax.barh(labels[::-1], values[::-1], color="#1f4e79")
        ax.set_title(f"Reports in the period {title}", fontsize=10)
        ax.tick_params(labelsize=8)
    fig.tight_layout()
    return fig


def svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return text[text.index("<svg"):]


# HTML --------------------------------------------------------------------------------------

def render_html(doc: StrategicAssessment, pdf_href: str | None = None) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    if pdf_href is None:
        query = f"from={doc.first.isoformat()}&to={doc.last.isoformat()}" + (f"&area={doc.area}" if doc.area else "")
        pdf_href = f"/v1/strategic-assessment.pdf?{query}"
    return env.get_template("strategic.html").render(
        doc=doc, trend_svg=svg(trend_chart(doc)), breakdown_svg=svg(breakdown_chart(doc)),
        colours=LEVEL_COLOURS, levels=LEVELS, pdf_href=pdf_href)


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
    fig.text(0.06, 0.90, f"Period {doc.first.isoformat()} to {doc.last.isoformat()}; risk as of "
             f"{doc.as_of:%Y-%m-%d %H:%M} UTC; generated {doc.generated_at:%Y-%m-%d %H:%M} UTC", fontsize=9, va="top")
    fig.text(0.06, 0.88, f"{len(doc.items)} reports in the period, {doc.conditional_items} under handling code C "
             "(sharing only with conditions, marked [C]).", fontsize=9, va="top")
    rows = doc.areas[:45]
    ax = fig.add_axes((0.06, 0.05, 0.88, 0.8))
    ax.axis("off")
    ax.set_title("Areas by risk", fontsize=11, loc="left")
    if rows:
        table = ax.table(cellText=[[a["area"], a["name"][:30], a["level"], f"{a['score']:g}", a["reports_period"],
                                    "yes" if a["spike"] else ""] for a in rows],
                         colLabels=["code", "area", "risk", "score", "reports", "spike"],
                         cellColours=[["white", "white", LEVEL_COLOURS[a["level"]], "white", "white", "white"]
                                      for a in rows], loc="upper left", colWidths=[0.14, 0.42, 0.14, 0.1, 0.1, 0.1])
        table.auto_set_font_size(False)
        table.set_fontsize(7)
        table.scale(1, 1.05)
    return fig


def _charts_page(doc: StrategicAssessment) -> Figure:
    fig = Figure(figsize=A4)
    top = fig.add_axes((0.1, 0.58, 0.85, 0.35))
    top.plot(_dates(doc), doc.daily, marker="o", markersize=3, color="#1f4e79", label="reports per day")
    top.plot(_dates(doc), doc.baseline, linestyle="--", color="#c55a11", label="baseline")
    top.set_title(f"Reports per day against baseline: {doc.title}", fontsize=10)
    top.legend(fontsize=8)
    top.grid(alpha=0.3)
    top.tick_params(axis="x", labelrotation=45, labelsize=7)
    for box, data, name in (((0.12, 0.08, 0.33, 0.38), doc.by_strand, "strand"),
                            ((0.62, 0.08, 0.33, 0.38), doc.by_type, "type")):
        ax = fig.add_axes(box)
        labels = list(data) or ["(none)"]
        ax.barh(labels[::-1], (list(data.values()) or [0])[::-1], color="#1f4e79")
        ax.set_title(f"Reports in the period by {name}", fontsize=10)
        ax.tick_params(labelsize=7)
    return fig


def _context_lines(doc: StrategicAssessment) -> list[str]:
    lines = [f"CALENDAR AHEAD ({CALENDAR_AHEAD_DAYS} days from {doc.as_of.date().isoformat()})"]
    lines += [f"  {e.start.isoformat()} to {e.end.isoformat()}  {e.name} ({e.faith}) x{e.weight:g}"
              for e in doc.calendar] or ["  nothing in the calendar"]
    lines += ["", f"OPEN CRITICAL INCIDENTS ({len(doc.open_critical)})"]
    lines += [f"  {i['at'][:16]}  {i['area']}  {i['priority']}  {i['status']}  ref {i['reference'] or '-'}  "
              f"rules {','.join(i['matched'])}" for i in doc.open_critical] or ["  none"]
    lines += ["", "WHY EACH AREA HAS ITS LEVEL"]
    for a in doc.areas:
        if a["level"] != "low" or doc.area:
            lines.append(f"  {a['area']} {a['name']}: {a['level']}")
            lines += [f"    - {r}" for r in a["reasons"]]
    if doc.unknown_areas:
        lines += ["", "REPORTS UNDER UNKNOWN AREA CODES (not assigned to any force)"]
        lines += [f"  {code}: {n}" for code, n in doc.unknown_areas.items()]
    return lines


def _item_lines(doc: StrategicAssessment) -> list[str]:
    lines = []
    for item in doc.items:
        g = item["grading"]
        mark = "[C]" if g["conditions_apply"] else "   "
        p = item["provenance"]
        lines.append(f"{mark} {item['at'][:16]} {item['area']} {g['code']}  {','.join(item['types'])} / "
                     f"{','.join(item['strands'])} / {item['place_type']}")
        lines.append(f"      ref {item['reference']}  {p['channel']} {p['reporter_role']}  "
                     f"submitted {p['submitted_at'][:16]}  v{p['version']}" + ("  WITHDRAWN" if item["withdrawn"]
                                                                                 else ""))
    return lines or ["no reports in the period"]


def _text_pages(title: str, lines: list[str]) -> Iterator[Figure]:
    wrapped = [part for line in lines for part in (textwrap.wrap(line, 118, subsequent_indent="        ") or [""])]
    chunks = [wrapped[i:i + LINES_PER_PAGE] for i in range(0, len(wrapped), LINES_PER_PAGE)] or [[]]
    for n, chunk in enumerate(chunks, 1):
        fig = Figure(figsize=A4)
        fig.text(0.05, 0.97, f"{title} ({n}/{len(chunks)})", fontsize=11, weight="bold", va="top")
        fig.text(0.05, 0.94, "\n".join(chunk), fontsize=6.5, family="monospace", va="top")
        yield fig
