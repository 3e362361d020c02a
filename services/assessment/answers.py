"""What the areas' JSON API answers, as response models: its OpenAPI document describes every field, and what a
handler returns is checked against them (the register's and tasking's are in sites/answers.py)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.answers import Instant

Level = Literal["low", "moderate", "substantial", "severe", "critical"]
Counts = Annotated[dict[str, int], Field(description="reports by value, values in alphabetical order")]


class _Answer(BaseModel):
    """A field a handler returns that its model does not name fails the answer, rather than being dropped."""

    model_config = ConfigDict(extra="forbid")


class HistoryOut(_Answer):
    sufficient: bool = Field(description="enough days on record for the area's normal")
    baseline_days: int = Field(description="days of the normal's 28-day window on record")
    required_days: int
    began: Instant | None = Field(description="when the area's record begins; null before any report")
    seeded_reports: int = Field(description="imported reports counted in the normal's window")


class AreaRowOut(_Answer):
    area: str = Field(description="force area code (ONS)")
    name: str
    level: Level
    score: float
    reasons: list[str]
    reports_24h: int
    reports_7d: int
    reports_28d: int
    spike: bool
    calendar_factor: float
    open_critical_incidents: int
    history: HistoryOut


class AreasOut(_Answer):
    as_of: Instant
    areas: list[AreaRowOut] = Field(description="highest level first, then highest score")
    unknown_areas: dict[str, int] = Field(description="reports under area codes Vigil does not know, by code "
                                                      "(national accounts only)")


class CalendarOut(_Answer):
    factor: float
    reasons: list[str]


class WindowCountsOut(_Answer):
    total: int
    by_type: Counts
    by_strand: Counts
    by_religion: Counts
    by_place: Counts


class WindowsOut(_Answer):
    last_24h: WindowCountsOut = Field(alias="24h")
    last_7d: WindowCountsOut = Field(alias="7d")
    last_28d: WindowCountsOut = Field(alias="28d")


class SpikeOut(_Answer):
    observed: int = Field(description="reports in the last 24 hours")
    expected: float
    p_value: float
    spike: bool


class TrendDayOut(_Answer):
    day: date
    reports: int
    baseline: float = Field(description="expected per day: the same weekday in the four weeks before")


class AreaOut(_Answer):
    name: str
    area: str
    as_of: Instant
    level: Level
    score: float
    raw_score: float
    normal_score: float
    calendar: CalendarOut
    reasons: list[str]
    counts: WindowsOut
    spike: SpikeOut
    open_critical_incidents: list[str] = Field(description="incident ids")
    places_of_worship_affected: int
    heightened_tension_declared: bool
    trend: list[TrendDayOut] = Field(description="the last 28 days, oldest first")
    history: HistoryOut
    reports: int = Field(description="all time, withdrawn ones left out")
    last_report_at: Instant | None
    districts_28d: Counts


class GradingOut(_Answer):
    code: str = Field(description="3x5x2 code, e.g. 2AP")
    source: str
    intelligence: str
    handling: str
    handling_meaning: str
    conditions_apply: bool


class ReportProvenanceOut(_Answer):
    source_event: str = Field(description="the event type the item comes from")
    channel: str
    reporter_role: str
    submitted_at: Instant
    last_updated_at: Instant
    version: int


class ReportItemOut(_Answer):
    kind: Literal["report"]
    at: Instant = Field(description="when it happened")
    reference: str
    area: str
    district: str | None
    types: list[str]
    strands: list[str]
    religion: str | None
    place_type: str
    withdrawn: bool
    grading: GradingOut
    provenance: ReportProvenanceOut


class IncidentProvenanceOut(_Answer):
    source_event: str = Field(description="the event type the item comes from")
    last_updated_at: Instant


class IncidentItemOut(_Answer):
    kind: Literal["incident"]
    at: Instant = Field(description="when it was triaged")
    incident_id: str
    area: str
    reference: str | None = Field(description="its report's reference; null when the report is no longer held")
    priority: str
    critical: bool
    status: str
    matched: list[str]
    escalation_level: int
    provenance: IncidentProvenanceOut


class TimelineOut(_Answer):
    area: str
    from_: date = Field(alias="from")
    to: date
    items: list[Annotated[ReportItemOut | IncidentItemOut, Field(discriminator="kind")]] = Field(
        description="oldest first")
