"""Events on `vigil.areas.v1` (compacted, keyed by area code), written by assessment."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from shared.events.base import Event, event_type

TOPIC = "vigil.areas.v1"


class RiskLevel(StrEnum):
    low = "low"
    moderate = "moderate"
    substantial = "substantial"
    severe = "severe"
    critical = "critical"


@event_type("vigil.area.risk_changed.v1", TOPIC)
class AreaRiskChanged(Event):
    area: str
    level: RiskLevel
    previous_level: RiskLevel | None
    score: float
    reasons: list[str]
    changed_at: datetime
    calendar_factor: float | None = None
    spike: bool | None = None


@event_type("vigil.area.tension_raised.v1", TOPIC)
class AreaTensionRaised(Event):
    """A significant rise in an area's risk (a spike, or a jump of two levels or more to substantial or above).

    Triage can offer it to a supervisor as a proposal to declare heightened tension; notify turns it
    into community impact assessment prompts. Carries no report, place or person: only the area picture.
    """

    area: str
    level: RiskLevel
    reasons: list[str]
    raised_at: datetime
    previous_level: RiskLevel | None = None
    score: float | None = None


@event_type("vigil.area.tension_eased.v1", TOPIC)
class AreaTensionEased(Event):
    """The rise that raised tension has passed: the area is back below substantial with no spike."""

    area: str
    level: RiskLevel
    reasons: list[str]
    eased_at: datetime
