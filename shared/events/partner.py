"""Events on `vigil.partner.v1`: the redacted partner view, allowlisted fields only."""

from __future__ import annotations

from shared.events.base import Event, event_type

TOPIC = "vigil.partner.v1"


@event_type("vigil.partner.incident_reported.v1", TOPIC)
class PartnerIncidentReported(Event):
    """No names, contacts, free text, postcodes or exact times: a week-level date only."""

    pseudonymous_id: str
    area: str
    week: str
    types: list[str]
    strands: list[str]
    place_type: str
    priority: str | None
    grading: str
