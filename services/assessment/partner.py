"""The partner view: what a report becomes on `vigil.partner.v1`, allowlisted fields only.

Built from the fold's facts (never from the raw event), so nothing outside the allowlist can leak
through a new field on a report event. Times are reduced to the ISO week.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from services.assessment.projection import IncidentFacts, ReportFacts
from shared.events.base import Event
from shared.events.partner import (
    PartnerIncidentErased,
    PartnerIncidentReported,
    PartnerIncidentRestricted,
    PartnerIncidentWithdrawn,
)


class Pseudonymiser:
    """A keyed hash of the report id: stable for partners, meaningless without the key."""

    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def __call__(self, report_id: str) -> str:
        return hmac.new(self._key, f"partner:{report_id}".encode(), hashlib.sha256).hexdigest()[:32]


def iso_week(at: datetime) -> str:
    year, week, _ = at.isocalendar()
    return f"{year}-W{week:02d}"


def reported(pseudonym: str, r: ReportFacts, incident: IncidentFacts | None) -> PartnerIncidentReported:
    return PartnerIncidentReported(
        pseudonymous_id=pseudonym, area=r.area, week=iso_week(r.occurred_at), types=list(r.types),
        strands=list(r.strands), place_type=r.place_type, priority=incident.priority if incident else None,
        grading=r.grading, conditions_apply=not r.grading.endswith("P"))


def partner_events(pseudonym: str, before: ReportFacts | None, after: ReportFacts | None,
                   incident: IncidentFacts | None, erased_at: datetime | None, shown: str | None = None
                   ) -> list[Event]:
    """What partners must hear after one event changed a report (or its incident). `shown`: the grading partners
    hold; `after.grading` is the grading now, a regrade included (the fold keeps it, #15)."""
    events = _told(pseudonym, before, after, incident, erased_at)
    if after and shown and not shown.endswith("C") and after.grading.endswith("C") and events:
        return [PartnerIncidentRestricted(pseudonymous_id=pseudonym, area=after.area, week=iso_week(after.occurred_at),
                                          grading=after.grading), *events]
    return events


def _told(pseudonym: str, before: ReportFacts | None, after: ReportFacts | None, incident: IncidentFacts | None,
          erased_at: datetime | None) -> list[Event]:
    if erased_at is not None:
        if before is None:
            return []
        return [PartnerIncidentErased(pseudonymous_id=pseudonym, area=before.area, week=iso_week(erased_at),
                                      grading=before.grading)]
    if after is None:
        return []
    if after.withdrawn and not (before and before.withdrawn):
        return [PartnerIncidentWithdrawn(pseudonymous_id=pseudonym, area=after.area, week=iso_week(after.updated_at),
                                         grading=after.grading)]
    if after.withdrawn:
        return []
    return [reported(pseudonym, after, incident)]
