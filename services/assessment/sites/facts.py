"""What the fold keeps of the register: each site, each routine's outcome, each link staff decided.

The register entry is kept as the canonical JSON its last event carried, so the fold stores exactly what
travelled and a rebuild reproduces it byte for byte; `entry()` reads it as the contract's model. Sealed
contacts and notes are kept sealed: only a holder of the site's data key can open them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shared.events.sites import SiteEntry


@dataclass(frozen=True, slots=True)
class SiteFacts:
    site_id: str
    sequence: int                 # the version of the site's stream: every event on it moves it on
    area: str
    faith: str
    name: str
    place_fp: str | None          # the keyed hash of area and normalised name that reports carry
    registered_at: datetime
    updated_at: datetime
    entry: str                    # shared.events.sites.SiteEntry as canonical JSON
    contacts: str | None = None   # shared.events.reports.Sealed as canonical JSON

    def register(self) -> SiteEntry:
        return SiteEntry.model_validate_json(self.entry)


@dataclass(frozen=True, slots=True)
class OutcomeFacts:
    outcome_id: str
    site_id: str
    routine: str
    outcome: str                  # done | issues_found
    category: str | None
    performed_at: datetime
    recorded_at: datetime
    recorded_by: str
    via: str
    notes: str | None = None      # sealed
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution: str | None = None  # sealed

    @property
    def open_issue(self) -> bool:
        return self.outcome == "issues_found" and self.resolved_at is None


@dataclass(frozen=True, slots=True)
class LinkFacts:
    """Staff's decision on a report offered as possibly about a site: linked, or dismissed."""

    site_id: str
    report_id: str
    linked: bool
    decided_by: str
    decided_at: datetime


class SiteStore(Protocol):
    def site(self, site_id: str) -> SiteFacts | None: ...
    def put_site(self, facts: SiteFacts) -> None: ...
    def outcome(self, outcome_id: str) -> OutcomeFacts | None: ...
    def put_outcome(self, facts: OutcomeFacts) -> None: ...
    def put_link(self, facts: LinkFacts) -> None: ...
