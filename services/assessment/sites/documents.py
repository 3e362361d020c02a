"""The register as the API answers it: entries, the incidents linked to a site, the reports offered for it.

No personal data: contacts and notes stay sealed (the contacts have a route of their own, for the roles
that may read them); a report is its reference, time, types and the decisions on it, never its text.
"""

from __future__ import annotations

from typing import Any

from services.assessment.projection import ReportFacts
from services.assessment.sites.facts import SiteFacts
from services.assessment.sites.queries import Linked


def entry_document(site: SiteFacts) -> dict[str, Any]:
    return {"site_id": site.site_id, "version": site.sequence, "registered_at": site.registered_at.isoformat(),
            "updated_at": site.updated_at.isoformat(), **site.register().model_dump(mode="json"),
            "has_contacts": bool(site.contacts)}


def report_document(r: ReportFacts) -> dict[str, Any]:
    return {"report_id": r.report_id, "reference": r.reference, "occurred_at": r.occurred_at.isoformat(),
            "types": list(r.types), "religion_targeted": r.religion, "place_type": r.place_type,
            "injuries": r.injuries, "weapon": r.weapon}


def linked_document(item: Linked) -> dict[str, Any]:
    latest = item.incidents[-1] if item.incidents else None
    incident = None if latest is None else {"priority": latest.priority, "critical": latest.critical,
                                            "status": latest.status}
    return {**report_document(item.report), "linked_by": "staff" if item.by_staff else "place", "incident": incident}
