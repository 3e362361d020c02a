"""What the places-of-worship pages show, in words: the matrix as a grid, routines as tagged rows, the entry.

Everything on screen is a sentence or a label, never a code: states, measures and categories are named here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from services.assessment.plain import short_date
from services.assessment.sites.matrix import SiteRisk, cell_level
from services.assessment.sites.routines import RoutineStatus
from shared.areas import AreaRegistry
from shared.events.sites import IssueCategory, SecurityMeasure, SiteEntry
from shared.web.filters import humanise, london_time

STATE_TAGS = {"overdue": ("Overdue", "govuk-tag--red"), "never": ("Never recorded", "govuk-tag--orange"),
              "due": ("Due", "govuk-tag--yellow"), "in_date": ("In date", "govuk-tag--green")}
LEVEL_NUMBER = {"low": 1, "moderate": 2, "substantial": 3, "severe": 4, "critical": 5}
MEASURE_WORDS = {SecurityMeasure.cctv: "CCTV", SecurityMeasure.anti_shatter_film: "Anti-shatter film"}
CATEGORY_WORDS = {IssueCategory.cctv: "CCTV"}


@dataclass(frozen=True)
class MatrixCell:
    likelihood: int
    impact: int
    level: str
    this_site: bool

    @property
    def number(self) -> int:
        return LEVEL_NUMBER[self.level]


def matrix_rows(risk: SiteRisk) -> list[list[MatrixCell]]:
    """Likelihood 5 at the top, as risk matrices are drawn; impact 1 to 5 left to right."""
    return [[MatrixCell(like, imp, cell_level(like, imp), (like, imp) == (risk.likelihood, risk.impact))
             for imp in range(1, 6)] for like in range(5, 0, -1)]


def measure_word(measure: SecurityMeasure | str) -> str:
    m = SecurityMeasure(measure)
    return MEASURE_WORDS.get(m) or humanise(m.value)


def category_word(category: str | None) -> str:
    if not category:
        return ""
    c = IssueCategory(category)
    return CATEGORY_WORDS.get(c) or humanise(c.value)


def routine_row(status: RoutineStatus, site_id: str, may_record: bool) -> dict[str, Any]:
    word, tag = STATE_TAGS[status.state]
    return {"code": status.routine.code, "name": status.routine.name, "what": status.routine.what,
            "who": status.routine.who, "state": word, "tag": tag, "due": _due(status),
            "last": london_time(status.last.performed_at) if status.last else "Never",
            "record_href": f"/sites/{site_id}/record?routine={status.routine.code}" if may_record else None}


def _due(status: RoutineStatus) -> str:
    if status.service and status.state == "overdue":
        return f"Missed before {status.service.name}, {london_time(status.service.at)}"
    if status.service:
        return f"Before {status.service.name}, {london_time(status.service.at)}"
    return london_time(status.due_at)


def entry_rows(entry: SiteEntry, registry: AreaRegistry) -> list[tuple[str, str]]:
    area = registry.get(entry.area)
    funding = entry.funding
    stages = [f"{s} {short_date(d)}" for s, d in (("applied", funding.applied_on), ("surveyed", funding.surveyed_on),
                                                   ("installed", funding.installed_on)) if d]
    services = "; ".join(f"{s.name}: {humanise(s.day.value)} {s.time}{' (main)' if s.main else ''}"
                         f"{f' in {s.season}' if s.season else ''}" for s in entry.services)
    return [("Faith", humanise(entry.faith.value)), ("Kind of site", humanise(entry.kind.value)),
            ("Police force area", area.name if area else entry.area),
            ("Postcode district", entry.postcode_district), ("Capacity", entry.capacity_band.value + " people"),
            ("Children on site", "Yes" if entry.children_on_site else "No"),
            ("Security measures", ", ".join(measure_word(m) for m in entry.measures) or "None recorded"),
            ("Regular services", services or "None recorded"),
            ("Funding scheme", humanise(funding.stage.value) + (f" ({', '.join(stages)})" if stages else "")),
            ("Procedures written", short_date(entry.procedures_written_on) if entry.procedures_written_on
             else "Not recorded")]


def readiness_rows(readiness: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(item, when, in date) for Martyn's Law's standard tier."""
    def day(value: str | None) -> str:
        return short_date(date.fromisoformat(value)) if value else "Never"

    rows = [("Procedures written", day(readiness["procedures_written_on"]), readiness["procedures_written"]),
            ("Staff and stewards briefed", day(readiness["staff_briefed_on"]), readiness["staff_briefed"])]
    rows += [(f"{humanise(p)} drill", day(d["last"]), d["in_date"]) for p, d in readiness["drills"].items()]
    return rows
