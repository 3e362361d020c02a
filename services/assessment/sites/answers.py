"""What the places-of-worship and tasking JSON APIs answer, as response models: their OpenAPI documents describe
every field, and what a handler returns is checked against them."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from services.assessment.sites.outcomes import RoutineOutcome
from shared.answers import Instant
from shared.events.sites import RecordedVia, SiteEntry


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
