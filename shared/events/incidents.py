"""Events on `vigil.incidents.v1`, written by triage. Keyed by report id (tension: by area)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shared.events.base import Event, event_type

TOPIC = "vigil.incidents.v1"


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class MatchedRule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    explanation: str


@event_type("vigil.incident.triaged.v1", TOPIC)
class IncidentTriaged(Event):
    incident_id: str
    report_id: str
    reference: str
    area: str
    triaged_at: datetime
    matched: list[MatchedRule]
    critical: bool
    needs_duty_inspector: bool
    priority: Priority
    ack_deadline: datetime | None
    ruleset_version: str
