"""What the places-of-worship and tasking JSON APIs answer, as response models: their OpenAPI documents describe
every field, and what a handler returns is checked against them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.assessment.sites.outcomes import RoutineOutcome
from shared.answers import Instant
from shared.events.reports import Religion
from shared.events.sites import IssueCategory, RecordedVia, SiteEntry

HTML = {"text/html": {"schema": {"type": "string"}}}  # a route's other answer, for Accept: text/html


def answer(model: type[BaseModel], document: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON a route that negotiates its answer's type sends: its document checked against `model` and
    written as a response model's is (by alias; a field the document leaves out stays out)."""
    return model.model_validate(document).model_dump(mode="json", by_alias=True, exclude_unset=True)


class SiteRiskOut(BaseModel):
    likelihood: int = Field(description="1 to 5")
    impact: int = Field(description="1 to 5")
    level: str
    score: int = Field(description="likelihood times impact")
    reasons: list[str]


class SiteOut(SiteEntry):
    """A site's register entry, with its version; the contacts are not in it (GET .../contacts)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    site_id: str
    version: int
    registered_at: Instant
    updated_at: Instant
    has_contacts: bool


class ListedSiteOut(SiteOut):
    risk: SiteRiskOut


class SitesOut(BaseModel):
    as_of: Instant
    sites: list[ListedSiteOut]


class RecordedOut(BaseModel):
    site_id: str
    outcome_id: str
    routine: str
    outcome: RoutineOutcome


class RecordedForOut(BaseModel):
    site_id: str
    outcome_id: str
    already_recorded: bool = Field(description="the link was used before: nothing new was recorded")


class ResolvedOut(BaseModel):
    site_id: str
    outcome_id: str
    resolved: bool


class ContactOut(BaseModel):
    name: str
    role: str | None = None
    email: str | None = None
    phone: str | None = None


class ContactsOut(BaseModel):
    site_id: str
    contacts: list[ContactOut]


class LinkDecidedOut(BaseModel):
    site_id: str
    report_id: str
    decision: str = Field(description="link or dismiss")


class LeadOut(BaseModel):
    username: str
    site_ids: list[str]


class TaskChangedOut(BaseModel):
    task_id: str
    area: str
    date: date
    site_id: str
    change: str = Field(description="add or drop")


class VisitRecordedOut(BaseModel):
    site_id: str
    visit_id: str


class VisitRecordedForOut(VisitRecordedOut):
    already_recorded: bool = Field(description="the link was used before: nothing new was recorded")


class VisitOut(BaseModel):
    visit_id: str
    visited_at: Instant
    visited_by: str | None
    recorded_by: str
    via: RecordedVia
    task_id: str | None
    notes: str | None = Field(description="null for those who may not read them")


class VisitsOut(BaseModel):
    site_id: str
    as_of: Instant
    visits: list[VisitOut]


class _Answer(BaseModel):
    """A field a handler returns that its model does not name fails the answer, rather than being dropped."""

    model_config = ConfigDict(extra="forbid")


class ReportBriefOut(_Answer):
    """A report as the register shows it: never its text."""

    report_id: str
    reference: str
    occurred_at: Instant
    types: list[str]
    religion_targeted: str | None
    place_type: str
    injuries: str
    weapon: bool


class LinkedIncidentOut(_Answer):
    priority: str
    critical: bool
    status: str


class LinkedReportOut(ReportBriefOut):
    linked_by: Literal["staff", "place"] = Field(description="linked by staff, or by the report's place")
    incident: LinkedIncidentOut | None = Field(description="the latest incident triage made of it, if any")


class ServiceTimeOut(_Answer):
    name: str
    at: Instant


class RoutineOut(_Answer):
    routine: str = Field(description="the routine's code in the guidance")
    name: str
    what: str
    who: str
    state: Literal["never", "overdue", "due", "in_date"]
    due_at: Instant
    last_done_at: Instant | None
    last_outcome: RoutineOutcome | None
    service: ServiceTimeOut | None = Field(description="the main service a walk is due before (or was missed "
                                                       "before)")


class DrillOut(_Answer):
    last: date | None
    in_date: bool = Field(description="drilled within the last year")


class DrillsOut(_Answer):
    """One per procedure of Martyn's Law's standard tier."""

    evacuation: DrillOut
    invacuation: DrillOut
    lockdown: DrillOut
    communication: DrillOut


class ReadinessOut(_Answer):
    applies: bool = Field(description="the standard tier applies (200 or more may be present)")
    tier: Literal["standard"] | None
    procedures_written_on: date | None
    procedures_written: bool
    staff_briefed_on: date | None
    staff_briefed: bool
    drills: DrillsOut
    ready: bool


class RecordOut(_Answer):
    outcome_id: str
    routine: str
    routine_name: str
    outcome: RoutineOutcome
    category: IssueCategory | None
    performed_at: Instant
    recorded_by: str
    via: RecordedVia
    open_issue: bool
    resolved_at: Instant | None
    resolved_by: str | None
    notes: str | None = Field(None, description="the recorder's words: only for those who may read the site's "
                                                "contacts (absent for others); null when there are none")
    resolution: str | None = Field(None, description="the words the issues were resolved with: as `notes`")


class ChecksOut(_Answer):
    routines: list[RoutineOut]
    martyns_law: ReadinessOut
    open_issues: list[RecordOut]
    records: list[RecordOut] = Field(description="the latest, newest first")


class RoutinesOut(ChecksOut):
    site_id: str
    as_of: Instant


class SiteDetailOut(SiteOut):
    """A site's entry with its risk, the incidents linked to it, the reports offered for it, and its routines."""

    as_of: Instant
    risk: SiteRiskOut
    visits_90_days: int
    incidents: list[LinkedReportOut] = Field(description="reports linked to the site in the last two years")
    link_candidates: list[ReportBriefOut] = Field(description="reports that may be about the site (for those "
                                                              "who may link them; empty for others)")
    routines: list[RoutineOut]
    martyns_law: ReadinessOut
    open_issues: list[RecordOut]
    records: list[RecordOut] = Field(description="the latest, newest first")


class GuidanceOut(_Answer):
    name: str
    version: str


class MeasureOut(_Answer):
    code: str
    priority: int = Field(description="1 first")
    action: str
    when: str
    who: str
    why: list[str]
    routine: str | None = Field(description="the routine that records it, if one does")


class PeriodOut(_Answer):
    kind: Literal["ordinary", "festival", "anniversary", "heightened_tension"]
    name: str
    start: date
    end: date
    why: str
    adds_to_routine: bool = Field(description="its measures come on top of the routine of the days it falls on")
    measures: list[MeasureOut] = Field(description="in priority order")


class PlanOut(_Answer):
    site_id: str
    name: str
    faith: Religion
    from_: date = Field(alias="from")
    to: date
    guidance: GuidanceOut
    risk: SiteRiskOut
    periods: list[PeriodOut]


class WindowOut(_Answer):
    from_: str = Field(alias="from", description="HH:MM, UK time")
    to: str = Field(description="HH:MM, UK time")
    label: str


class TaskVisitOut(_Answer):
    visited_at: Instant
    visited_by: str


class TaskChangeOut(_Answer):
    change: Literal["added", "dropped"]
    reason: str
    by: str
    at: Instant


class TaskOut(_Answer):
    task_id: str
    site_id: str
    name: str
    faith: Religion
    postcode_district: str
    level: str
    score: int = Field(description="the sum of its reasons")
    windows: list[WindowOut]
    reasons: list[str]
    visits: list[TaskVisitOut] = Field(description="visits made on the day")
    change: TaskChangeOut | None = Field(None, description="a supervisor's change to it (absent when none)")


class RankedTaskOut(TaskOut):
    rank: int = Field(description="1 first")


class TaskingOut(_Answer):
    area: str
    date: date
    task_from: int = Field(description="the score from which a site is tasked")
    tasks: list[RankedTaskOut] = Field(description="ranked, first first")
    dropped: list[TaskOut] = Field(description="tasked by the ranking, dropped by a supervisor")
    not_tasked: list[TaskOut] = Field(description="a supervisor may add them")
    team: str | None = Field(description="the neighbourhood team asked for")
    as_of: Instant
