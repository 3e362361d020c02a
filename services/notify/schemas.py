"""The bodies staff send to notify, shared by the JSON API and the pages' forms, so both meet the same checks; and
the JSON API's answers, so its OpenAPI document describes every field."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.notify.assessments.model import AssessmentState, Trigger
from services.notify.chase.model import ChaseState
from services.notify.ledger import MAX_REASON, DeliveryStatus
from services.notify.policy import EscalationPolicy
from shared.answers import Instant


class StaffNote(BaseModel):
    """Why, for the record (optional)."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=MAX_REASON)


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_id: str = Field(min_length=1, max_length=80)
    starts_at: datetime
    ends_at: datetime
    reason: str | None = Field(None, max_length=MAX_REASON)

    @model_validator(mode="after")
    def _ordered(self) -> OverrideIn:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("starts_at and ends_at need a time zone (e.g. Z)")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


# -- answers --------------------------------------------------------------------------------------


class DeliveryOut(BaseModel):
    """A delivery as listed: where it stands, never whom it went to nor what it said."""

    notification_id: str
    idempotency_key: str
    incident_id: str | None
    purpose: str
    channel: str
    recipient_role: str
    status: DeliveryStatus
    attempts: int
    created_at: Instant
    updated_at: Instant
    sent_at: Instant | None
    resolved_at: Instant | None
    error_kind: str | None = Field(description="the last error's kind only (a server's message can quote an address)")


class RetriedOut(BaseModel):
    notification_id: str
    status: DeliveryStatus


class ResolvedOut(BaseModel):
    notification_id: str
    resolved: bool


class ChaseOut(BaseModel):
    """Where the Duty Inspector chase of an incident is."""

    incident_id: str
    reference: str
    area: str
    priority: str
    ack_deadline: Instant | None
    started_at: Instant | None
    acknowledged_at: Instant | None
    acknowledged_by: str | None
    state: ChaseState
    page: str = Field(description="the page (level and round) reached; '-' before the first")


class AssessmentPromptOut(BaseModel):
    """A community impact assessment prompt."""

    assessment_id: str
    trigger: Trigger
    incident_id: str | None
    area: str
    reference: str | None
    priority: str | None
    level: str | None
    due_at: Instant
    state: AssessmentState
    completed_at: Instant | None
    created_at: Instant
    updated_at: Instant


class OverrideOut(BaseModel):
    override_id: str
    person_id: str
    starts_at: Instant
    ends_at: Instant
    set_by: str | None
    set_at: Instant
    reason: str | None


class OnCallOut(BaseModel):
    """Who is on call for an area at a time, its escalation policy and its overrides."""

    area: str
    at: Instant
    on_call: str = Field(description="the directory's id of the person on call")
    override: bool = Field(description="on call through an override rather than the rota")
    policy: EscalationPolicy
    overrides: list[OverrideOut]


class OverrideSetOut(BaseModel):
    override_id: str
    area: str
    person_id: str
    starts_at: Instant
    ends_at: Instant


class OverrideRemovedOut(BaseModel):
    override_id: str
    area: str
    removed: bool


class SmsReplyOut(BaseModel):
    """What a text's reply did: `outcome` always; the incident's `reference` when it named one."""

    outcome: str = Field(description="acknowledged, escalated, already_used, refused, unknown_code, expired, "
                                     "not_understood or unknown_sender")
    reference: str | None = None
