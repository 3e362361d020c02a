"""The read side of a site's routines: each one's state now, its record of checks and drills, its readiness."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from services.assessment.calendar import LONDON, Anniversary, faith_events
from services.assessment.sites import queries
from services.assessment.sites.facts import OutcomeFacts, SiteFacts
from services.assessment.sites.guidance import Guidance
from services.assessment.sites.routines import RoutineStatus, readiness, statuses
from services.assessment.sites.sealing import SiteKeys

RECENT = 20


@dataclass(frozen=True)
class Checks:
    routines: list[RoutineStatus]
    readiness: dict[str, Any]
    records: list[OutcomeFacts]     # newest first

    @property
    def open_issues(self) -> list[OutcomeFacts]:
        return [o for o in self.records if o.open_issue]

    @property
    def attention(self) -> list[RoutineStatus]:
        return [r for r in self.routines if r.state in ("never", "overdue", "due")]


def site_checks(s: Session, site: SiteFacts, guidance: Guidance, now: datetime,
                anniversaries: tuple[Anniversary, ...]) -> Checks:
    done = queries.outcomes(s, site.site_id)
    today = now.astimezone(LONDON).date()
    seasons = faith_events(site.faith, today - timedelta(days=9), today + timedelta(days=9), anniversaries)
    newest_first = sorted(done, key=lambda o: (o.performed_at, o.outcome_id), reverse=True)
    return Checks(statuses(guidance, site, done, now, seasons), readiness(guidance, site.register(), done, now),
                  newest_first)


def record_document(o: OutcomeFacts, guidance: Guidance, notes: str | None = None,
                    resolution: str | None = None, with_words: bool = False) -> dict[str, Any]:
    routine = guidance.routine(o.routine)
    doc = {"outcome_id": o.outcome_id, "routine": o.routine, "routine_name": routine.name if routine else o.routine,
           "outcome": o.outcome, "category": o.category, "performed_at": o.performed_at.isoformat(),
           "recorded_by": o.recorded_by, "via": o.via, "open_issue": o.open_issue,
           "resolved_at": o.resolved_at.isoformat() if o.resolved_at else None, "resolved_by": o.resolved_by}
    if with_words:
        doc |= {"notes": notes, "resolution": resolution}
    return doc


def checks_document(checks: Checks, guidance: Guidance, s: Session, keys: SiteKeys, site_id: str,
                    with_words: bool) -> dict[str, Any]:
    """Routines, readiness and the latest records; the recorders' words only `with_words` (personal data)."""
    def words(sealed: str | None) -> str | None:
        opened = keys.open(s, site_id, sealed) if with_words else None
        return str(opened["notes"]) if opened and opened.get("notes") else None

    def document(o: OutcomeFacts) -> dict[str, Any]:
        return record_document(o, guidance, words(o.notes), words(o.resolution), with_words)

    return {"routines": [r.document() for r in checks.routines], "martyns_law": checks.readiness,
            "open_issues": [document(o) for o in checks.open_issues],
            "records": [document(o) for o in checks.records[:RECENT]]}
