"""Events on `vigil.partner.v1`: the redacted partner view, allowlisted fields only.

Keyed by a pseudonymous id (a keyed hash of the report id), so a partner can follow one item's
updates without learning anything that identifies the report. No names, contacts, free text,
postcodes, place names or exact times: the ISO week only. Items under handling code C carry
`conditions_apply`, so the partner feed and webhooks hold them back from partners whose
agreement does not allow them. Only reports whose reporter agreed to share with partners
(`consent.share_with_partners`) ever appear here.
"""

from __future__ import annotations

from shared.events.base import Event, event_type

TOPIC = "vigil.partner.v1"


@event_type("vigil.partner.incident_reported.v1", TOPIC)
class PartnerIncidentReported(Event):
    """An item as partners may see it; published again (same id) when its facts or priority change."""

    pseudonymous_id: str
    area: str
    week: str
    types: list[str]
    strands: list[str]
    place_type: str
    priority: str | None
    grading: str
    conditions_apply: bool = False


@event_type("vigil.partner.incident_withdrawn.v1", TOPIC)
class PartnerIncidentWithdrawn(Event):
    """Area and grading ride along so a feed filters it exactly as it filtered the item."""

    pseudonymous_id: str
    area: str
    week: str
    grading: str


@event_type("vigil.partner.incident_erased.v1", TOPIC)
class PartnerIncidentErased(Event):
    """The reporter's data was erased: partners must delete whatever they hold under this id."""

    pseudonymous_id: str
    area: str
    week: str
    grading: str


@event_type("vigil.partner.incident_restricted.v1", TOPIC)
class PartnerIncidentRestricted(Event):
    """The item was regraded to handling code C: partners whose agreement does not allow C must delete what they
    hold under this id. Those allowed C get the item again (`..._reported.v1`, `conditions_apply`)."""

    pseudonymous_id: str
    area: str
    week: str
    grading: str
