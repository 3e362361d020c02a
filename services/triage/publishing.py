"""Rulesets in force (ADR 0035): publishing one is an event, so every decision can be traced to its version."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from services.triage import tables
from services.triage.rules import Ruleset, load_ruleset
from shared.clock import Clock
from shared.db import Database
from shared.events.incidents import RulesetPublished
from shared.eventstore import EventStore


class RulesetConflict(ValueError):
    pass


class RulesetStore:
    """Published rulesets; the latest is in force. The configured one is published before the first decision."""

    t = tables.rulesets
    STREAM = "ruleset"

    def __init__(self, events: EventStore, configured: Callable[[], Ruleset]) -> None:
        self.events = events
        self.configured = configured
        self._parsed: dict[str, Ruleset] = {}
        self._ensured = False

    def publish(self, s: Session, ruleset: Ruleset, by: str, now: datetime) -> bool:
        existing = s.execute(select(self.t.c.sha256).where(self.t.c.version == ruleset.version)).scalar()
        if existing == ruleset.sha256:
            return False
        if existing is not None:
            raise RulesetConflict(f"version {ruleset.version} was already published with different content; "
                                  "give the changed ruleset a new version")
        s.execute(insert(self.t).values(version=ruleset.version, name=ruleset.name, sha256=ruleset.sha256,
                                        source=ruleset.source, published_by=by, published_at=now))
        self.events.extend(s, self.STREAM, [RulesetPublished(
            version=ruleset.version, sha256=ruleset.sha256, rule_codes=ruleset.rule_codes, published_by=by,
            published_at=now)], key=self.STREAM)
        return True

    def current(self, s: Session, now: datetime) -> Ruleset:
        if not self._ensured:
            self.publish(s, self.configured(), "system", now)
            self._ensured = True
        row = s.execute(select(self.t.c.version, self.t.c.source)
                        .order_by(self.t.c.published_at.desc(), self.t.c.version.desc()).limit(1)).first()
        if row is None:
            raise LookupError("no ruleset published")
        if row.version not in self._parsed:
            self._parsed[row.version] = load_ruleset(row.source)
        return self._parsed[row.version]

    def listing(self, s: Session) -> list[dict[str, Any]]:
        rows = s.execute(select(self.t.c.version, self.t.c.name, self.t.c.sha256, self.t.c.published_by,
                                self.t.c.published_at).order_by(self.t.c.published_at.desc())).mappings()
        return [dict(r) for r in rows]


class Rulesets:
    def __init__(self, db: Database, events: EventStore, clock: Clock, configured: Callable[[], Ruleset]) -> None:
        self.db = db
        self.clock = clock
        self.store = RulesetStore(events, configured)

    def publish(self, ruleset: Ruleset, by: str) -> bool:
        """False when this very ruleset is already published; a changed one needs a new version."""
        with self.db.transaction() as s:
            return self.store.publish(s, ruleset, by, self.clock.now())
