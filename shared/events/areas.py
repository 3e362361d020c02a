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
