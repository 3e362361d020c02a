"""What triage's incident API answers, as response models: the OpenAPI document describes every field, and what a
handler returns is checked against them (the session's answers are in schemas.py, flood groups' in groups_api.py,
area assessments' in area_cia_routes.py).

Times: `Instant` fields are written as `datetime.isoformat()` writes them (`+00:00`); plain `datetime` fields (the
tension map, rulesets, the personal-data audit, flood groups) with `Z`: each as it was before it was typed.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.answers import Given, Instant
from shared.events.areas import RiskLevel
from shared.events.incidents import MatchedRule
from shared.events.reports import Grading, IncidentFacts


class StaffNameOut(BaseModel):
    user_id: str
    display_name: str


class QueueItemOut(BaseModel):
    """An incident as the queue lists it."""

    incident_id: str
    reference: str
    area: str
    priority: str = Field(description="P1 to P4")
    needs_duty_inspector: bool
    state: str = Field(description="open, acknowledged or closed")
    matched: list[str] = Field(description="the codes of the criteria the report met")
    ack_deadline: Instant | None
    time_left_seconds: int | None = Field(description="until the acknowledgement deadline (open incidents)")
    triaged_at: Instant
    version: int
    escalation_level: int
    duty_inspector: str | None = Field(description="the assigned Duty Inspector's name")
    acknowledged_by: str | None = Field(description="the name of who acknowledged it")
    cia: str = Field(description="none, requested or completed")
    being_viewed_by: list[StaffNameOut] = Field(description="colleagues looking at it now")


class HeldOut(QueueItemOut):
    """A report held for the reporting centre."""

    received_at: Instant
    types: list[str]


class TimelineEntryOut(BaseModel):
    version: int
    at: Instant
    type: str = Field(description="the event's type")
    title: str
    detail: str
    by: str | None = Field(description="the name of who did it, for a member of staff's action")
    matched: list[MatchedRule] | None = Field(description="the criteria met, for a triage decision")


class FactsOut(IncidentFacts):
    """The report's facts as the rules read them (`vigil.report.submitted.v1`'s), and who reported."""

    reporter_role: str | None = None


class IncidentOut(BaseModel):
    """An incident, its criteria, its timeline and what the caller may do to it."""

    incident_id: str
    report_id: str
    reference: str
    area: str
    priority: str
    computed_priority: str = Field(description="what the criteria gave, before any override")
    needs_duty_inspector: bool
    state: str = Field(description="open, acknowledged or closed")
    matched: list[MatchedRule]
    ruleset_version: str
    hate_crime: bool
    ack_deadline: Instant | None
    held_for_centre: bool
    safeguarding_override: str | None
    grading: Grading | None
    time_left_seconds: int | None
    duty_inspector: str | None
    acknowledged_by: str | None
    acknowledged_at: Instant | None
    escalation_level: int
    cia: str
    cia_due_at: Instant | None
    outcome: str | None
    closed_at: Instant | None
    version: int
    facts: FactsOut | None = Field(description="the report's facts (no personal data); null if not known")
    being_viewed_by: list[StaffNameOut]
    timeline: list[TimelineEntryOut]
    allowed_actions: list[str]
    erased_at: Instant | None = Field(description="when the reporter's personal data and free text were erased")


class AccountOut(BaseModel):
    """A staff account as an administrator sees it."""

    user_id: str
    username: str
    display_name: str
    roles: list[str]
    areas: list[str] = Field(description="the force areas the account is limited to; empty: national")
    national: bool
    email: str | None
    phone: str | None
    enabled: bool
    active: bool = Field(description="the same as enabled")
    created_at: Instant
    updated_at: Instant | None
    last_sign_in_at: Instant | None
    centre: str | None = Field(description="a caseworker's reporting centre; null: the deployment's default")


class CreatedAccountOut(AccountOut):
    temporary_password: str | None = Field(None, description="made by Vigil when none was given; answered once")


class DisabledAccountOut(AccountOut):
    sessions_ended: int


class SignInOut(BaseModel):
    signed_in_at: Instant
    network: str | None


class AccountEventOut(BaseModel):
    """An event of the account's history: its type and time, and the event's own fields."""

    model_config = ConfigDict(extra="allow")

    type: str
    at: Instant


class AccountRecordOut(AccountOut):
    sign_ins: list[SignInOut] = Field(description="recent sign-ins")
    history: list[AccountEventOut]


class PasswordResetOut(BaseModel):
    user_id: str
    temporary_password: Given[str] = Field(None, description="made by Vigil when none was given; answered once")


class DeclarationOut(BaseModel):
    """A declaration of heightened tension."""

    tension_id: str
    area: str = Field(description='a police force area code, or "national"')
    reason: str
    starts_at: datetime
    ends_at: datetime | None = Field(description="null: until lifted")
    declared_by: str = Field(description="user id")
    declared_at: datetime
    proposal_id: str | None = Field(description="assessment's proposal it confirmed, if any")
    lifted_at: datetime | None
    lifted_by: str | None = Field(description='user id, or "system" when it ended as scheduled')
    lift_reason: str | None


class DeclarationShownOut(DeclarationOut):
    in_force: bool = Field(description="false: planned, starting later")


class ProposalOut(BaseModel):
    """Assessment's proposal to declare heightened tension, waiting for a supervisor."""

    proposal_id: str
    area: str
    level: RiskLevel
    reasons: list[str]
    raised_at: datetime
    status: str = Field(description="pending")
    decided_by: str | None
    decided_at: datetime | None


class TensionMapOut(BaseModel):
    declarations: list[DeclarationShownOut] = Field(description="in force now or starting later")
    proposals: list[ProposalOut] = Field(description="only for those who may declare tension; otherwise empty")


class RulesetOut(BaseModel):
    version: str
    name: str
    sha256: str
    published_by: str
    published_at: datetime


class PersonalDataViewOut(BaseModel):
    """One look at a reporter's personal details."""

    id: int
    incident_id: str
    report_id: str
    user_id: str
    viewed_at: datetime
    outcome: str = Field(description="shown, erased or unavailable")
    reference: str | None = Field(description="the incident's reference")
    display_name: str | None = Field(description="the viewer's name; null for an account no longer known")
