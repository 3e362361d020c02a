"""Changes to the register: each one an event on the site's stream, folded into the register in the same
transaction, so the next read sees it; the event reaches `vigil.sites.v1` through the outbox, and comes back
to the projection as a no-op (the site has already applied that version).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from services.assessment.facts import Fact
from services.assessment.projection import Fold
from services.assessment.sites import queries
from services.assessment.sites.access import EDITORS, LINKERS, RECORDERS, Scope
from services.assessment.sites.facts import SiteFacts
from services.assessment.sites.guidance import Guidance
from services.assessment.sites.outcomes import RecordIn, RecordOnBehalfIn, ResolveIn, recorded, resolved
from services.assessment.sites.register import (
    AlreadyDone,
    FieldProblem,
    NotPermitted,
    SiteIn,
    SiteInvalid,
    UnknownSite,
    checked,
    link_decision,
    registered,
    updated,
)
from services.assessment.sites.sealing import SiteKeys
from services.assessment.store import DbStore
from shared.areas import AreaRegistry
from shared.clock import Clock
from shared.crypto import Fingerprinter
from shared.db import Database
from shared.events.base import Envelope, Event
from shared.events.reports import Sealed
from shared.events.sites import RecordedVia
from shared.eventstore import ConcurrencyError, EventStore
from shared.ids import deterministic_id, new_id
from shared.staffaccess import Role


def stream(site_id: str) -> str:
    return f"site-{site_id}"


@dataclass(frozen=True)
class SiteWriter:
    """Appends a site's events at the version the caller read and folds them at once."""

    store: EventStore
    fold: Fold

    def append(self, s: Session, site_id: str, version: int, events: Sequence[Event]) -> list[Envelope]:
        try:
            envelopes = self.store.append(s, stream(site_id), version, events, key=site_id)
        except ConcurrencyError as e:
            raise AlreadyDone("someone changed this site at the same moment: reload it and try again") from e
        target = DbStore(s)
        for env in envelopes:  # the fold reads what will travel, as it will read it off the topic
            fact = Fact(env.type, env.key, env.sequence, env.time, env.data)  # tolerant read: ADR 0050
            self.fold.apply(target, fact)
        return envelopes


class SiteService:
    def __init__(self, db: Database, writer: SiteWriter, keys: SiteKeys, fingerprints: Fingerprinter,
                 registry: AreaRegistry, guidance: Guidance, clock: Clock) -> None:
        self.db = db
        self.guidance = guidance
        self.writer = writer
        self.keys = keys
        self.fingerprints = fingerprints
        self.registry = registry
        self.clock = clock

    def register(self, bodies: Sequence[SiteIn], by: str) -> list[str]:
        """All or nothing: one transaction, so an import with a bad row registers none."""
        with self.db.transaction() as s:
            return [self._register(s, body, by, f"sites[{n}]" if len(bodies) > 1 else "") for n, body in
                    enumerate(bodies)]

    def _register(self, s: Session, body: SiteIn, by: str, where: str) -> str:
        entry = checked(body.entry(), self.registry)
        fingerprint = self.fingerprints.place(entry.area, entry.name)
        if fingerprint and queries.by_fingerprint(s, fingerprint):
            raise SiteInvalid([FieldProblem(f"{where}.name" if where else "name",
                                            f"'{entry.name}' is already in the register for this area")])
        site_id, now = new_id(), self.clock.now()
        contacts = self._contacts(s, site_id, body)
        self.writer.append(s, site_id, 0, [registered(site_id, entry, fingerprint, contacts, by, now)])
        return site_id

    def update(self, site_id: str, body: SiteIn, by: str, scope: Scope) -> None:
        with self.db.transaction() as s:
            site = self.visible(s, site_id, scope, EDITORS | {"site_lead"})
            entry = checked(body.entry(), self.registry)
            fingerprint = self.fingerprints.place(entry.area, entry.name)
            if fingerprint and any(o.site_id != site_id for o in queries.by_fingerprint(s, fingerprint)):
                raise SiteInvalid([FieldProblem("name", f"'{entry.name}' is already in the register for this area")])
            contacts = self._contacts(s, site_id, body) if body.contacts is not None else self._kept(site)
            self.writer.append(s, site_id, site.sequence, [
                updated(site_id, entry, fingerprint, contacts, by, self.clock.now())])

    def decide_link(self, site_id: str, report_id: str, linked: bool, by: str, scope: Scope) -> None:
        with self.db.transaction() as s:
            site = self.visible(s, site_id, scope, LINKERS)
            if queries.report_exists(s, report_id) is None:
                raise UnknownSite(f"there is no report {report_id} (or it was erased)")
            before = queries.decisions(s, site_id).get(report_id)
            event = link_decision(site_id, report_id, linked, before.linked if before else None, by,
                                  self.clock.now())
            self.writer.append(s, site_id, site.sequence, [event])

    def record(self, site_id: str, body: RecordIn, scope: Scope, via: RecordedVia) -> str:
        """A routine's outcome; answers the record's id."""
        with self.db.transaction() as s:
            site = self.visible(s, site_id, scope, RECORDERS)
            outcome_id, now = new_id(), self.clock.now()
            notes = self._sealed(s, site_id, body.notes, now)
            event = recorded(site_id, outcome_id, body, self.guidance, notes, scope.name, via, now)
            self.writer.append(s, site_id, site.sequence, [event])
        return outcome_id

    def record_on_behalf(self, site_id: str, body: RecordOnBehalfIn) -> tuple[str, bool]:
        """A site lead's record from a signed link; answers the record's id and whether it is new (a link
        used twice records once: the record's id is the link's)."""
        outcome_id = deterministic_id("site-record-link", body.link_id)
        with self.db.transaction() as s:
            if DbStore(s).outcome(outcome_id) is not None:
                return outcome_id, False
            own = queries.lead_sites(s, body.recorded_by)
            lead = Scope(body.recorded_by, frozenset(), own, frozenset({Role.site_lead.value}))
            site = self.visible(s, site_id, lead, RECORDERS)
            now = self.clock.now()
            event = recorded(site_id, outcome_id, body.record(), self.guidance,
                             self._sealed(s, site_id, body.notes, now), body.recorded_by, RecordedVia.link, now)
            self.writer.append(s, site_id, site.sequence, [event])
        return outcome_id, True

    def resolve(self, site_id: str, outcome_id: str, body: ResolveIn, scope: Scope) -> None:
        with self.db.transaction() as s:
            site = self.visible(s, site_id, scope, RECORDERS)
            now = self.clock.now()
            event = resolved(site_id, DbStore(s).outcome(outcome_id), None, scope.name, now)
            if body.notes:
                event = event.model_copy(update={"notes": self._sealed(s, site_id, body.notes, now)})
            self.writer.append(s, site_id, site.sequence, [event])

    def contacts(self, site_id: str, scope: Scope, roles: frozenset[str]) -> list[dict[str, str | None]]:
        with self.db.snapshot() as s:
            site = self.visible(s, site_id, scope, roles)
            opened = self.keys.open(s, site_id, site.contacts)
        return list((opened or {}).get("contacts", []))

    @staticmethod
    def visible(s: Session, site_id: str, scope: Scope, roles: frozenset[str] | None = None) -> SiteFacts:
        """The site, if the caller may see it (and act on it in one of `roles`); else as if it did not exist."""
        site = queries.site(s, site_id)
        if site is None or not scope.sees(site):
            raise UnknownSite(f"there is no site {site_id}")
        if roles is not None and not scope.may(roles, site):
            raise NotPermitted("your role does not allow this change to this site")
        return site

    def _sealed(self, s: Session, site_id: str, text: str | None, now: datetime) -> Sealed | None:
        return self.keys.seal(s, site_id, {"notes": text}, now) if text and text.strip() else None

    def _contacts(self, s: Session, site_id: str, body: SiteIn) -> Sealed | None:
        if not body.contacts:
            return None
        fields = {"contacts": [c.model_dump(mode="json") for c in body.contacts]}
        return self.keys.seal(s, site_id, fields, self.clock.now())

    @staticmethod
    def _kept(site: SiteFacts) -> Sealed | None:
        return Sealed.model_validate_json(site.contacts) if site.contacts else None
