"""Critical-incident criteria. The slice keeps the stateless rules; the full ruleset is data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.events.incidents import MatchedRule, Priority
from shared.events.reports import IncidentFacts, IncidentType, Injuries

RULESET_VERSION = "slice-1"


@dataclass(frozen=True)
class Decision:
    matched: list[MatchedRule]
    priority: Priority
    ack_deadline: datetime | None

    @property
    def critical(self) -> bool:
        return bool(self.matched)


def decide(facts: IncidentFacts, now: datetime, ack_minutes: dict[Priority, int]) -> Decision:
    matched = []
    if (IncidentType.physical_assault in facts.types and facts.injuries != Injuries.none) or facts.weapon:
        matched.append(MatchedRule(code="violence", explanation="physical assault with injuries, or a weapon"))
    if IncidentType.arson in facts.types:
        matched.append(MatchedRule(code="arson", explanation="arson"))
    codes = {m.code for m in matched}
    if "arson" in codes or facts.injuries == Injuries.serious:
        priority = Priority.P1
    elif matched:
        priority = Priority.P2
    else:
        priority = Priority.P3
    minutes = ack_minutes.get(priority)
    return Decision(matched, priority, now + timedelta(minutes=minutes) if minutes else None)
