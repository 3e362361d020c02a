"""The register's events folded into facts, beside the reports and incidents of the area projection.

Every event on a site's stream carries the stream's version (`sequence`); a site keeps the highest it has
applied, so an event is applied once whether it arrives at write time, from Kafka, or in a rebuild. A site's
events share one partition (they are keyed by site id), so they arrive in order; nothing here depends on
the order of other keys, so the fold still commutes across keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from services.assessment.facts import Fact, maybe_when, when
from services.assessment.sites.facts import LinkFacts, OutcomeFacts, SiteFacts, SiteStore
from shared.events.base import Event, canonical_json
from shared.events.sites import (
    SiteIssueResolved,
    SiteLinkDismissed,
    SiteRegistered,
    SiteReportLinked,
    SiteRoutineRecorded,
    SiteUpdated,
)

SiteHandler = Callable[[SiteStore, Mapping[str, Any], Fact], set[str]]


def site_handlers() -> dict[type[Event], SiteHandler]:
    """Handlers answer the areas whose area picture moved: none, as a site changes no area's figures."""
    return {SiteRegistered: _entry, SiteUpdated: _entry, SiteRoutineRecorded: _recorded,
            SiteIssueResolved: _resolved, SiteReportLinked: _linked, SiteLinkDismissed: _dismissed}


def _sealed(value: Any) -> str | None:
    return canonical_json(value).decode() if value else None


def _entry(store: SiteStore, d: Mapping[str, Any], fact: Fact) -> set[str]:
    site_id = str(d.get("site_id") or fact.key)
    current = store.site(site_id)
    if current is not None and current.sequence >= fact.sequence:
        return set()
    at = when(d.get("registered_at") or d.get("updated_at") or fact.time)
    entry = d["entry"]
    store.put_site(SiteFacts(
        site_id=site_id, sequence=fact.sequence, area=str(entry["area"]), faith=str(entry["faith"]),
        name=str(entry["name"]), place_fp=d.get("place_fingerprint"),
        registered_at=current.registered_at if current else at, updated_at=at,
        entry=canonical_json(entry).decode(), contacts=_sealed(d.get("contacts"))))
    return set()


def _advance(store: SiteStore, d: Mapping[str, Any], fact: Fact) -> SiteFacts | None:
    """The site an event moves on, or None for a site never registered or an event it has already applied."""
    site = store.site(str(d.get("site_id") or fact.key))
    if site is None or site.sequence >= fact.sequence:
        return None
    moved = replace(site, sequence=fact.sequence)
    store.put_site(moved)
    return moved


def _recorded(store: SiteStore, d: Mapping[str, Any], fact: Fact) -> set[str]:
    site = _advance(store, d, fact)
    if site is not None:
        store.put_outcome(OutcomeFacts(
            outcome_id=str(d["outcome_id"]), site_id=site.site_id, routine=str(d["routine"]),
            outcome=str(d["outcome"]), category=d.get("category"), performed_at=when(d["performed_at"]),
            recorded_at=when(d.get("recorded_at") or fact.time), recorded_by=str(d.get("recorded_by", "")),
            via=str(d.get("via") or "api"), notes=_sealed(d.get("notes"))))
    return set()


def _resolved(store: SiteStore, d: Mapping[str, Any], fact: Fact) -> set[str]:
    if _advance(store, d, fact) is None:
        return set()
    outcome = store.outcome(str(d["outcome_id"]))
    if outcome is not None and outcome.resolved_at is None:
        store.put_outcome(replace(outcome, resolved_at=maybe_when(d.get("resolved_at")) or fact.time,
                                  resolved_by=str(d.get("resolved_by", "")), resolution=_sealed(d.get("notes"))))
    return set()


def _linked(store: SiteStore, d: Mapping[str, Any], fact: Fact) -> set[str]:
    site = _advance(store, d, fact)
    if site is not None:
        store.put_link(LinkFacts(site.site_id, str(d["report_id"]), True, str(d.get("linked_by", "")),
                                 when(d.get("linked_at") or fact.time)))
    return set()


def _dismissed(store: SiteStore, d: Mapping[str, Any], fact: Fact) -> set[str]:
    site = _advance(store, d, fact)
    if site is not None:
        store.put_link(LinkFacts(site.site_id, str(d["report_id"]), False, str(d.get("dismissed_by", "")),
                                 when(d.get("dismissed_at") or fact.time)))
    return set()
