"""Contact and flood matching, done where the contact, the address and the words are: only results travel.

Repeat victimisation needs to know that a contact reported before; a flood, that one source sent a burst of
the same words. Intake holds all three, so it compares them here, by keyed hashes under its own master key in
its own tables, and `vigil.report.submitted.v1` carries only the outcome: the earlier reports from the same
contact, an opaque token for the source's burst (with the source's normal as a bare count) and the earlier
reports with the same words. Nothing on a topic can be tested against a guessed contact, address or
description. Erasure drops the report's row and its burst's token (`forget`): afterwards the token links the
burst's reports to each other, and to no one.

Matching happens where the report is written (services/intake/writer.py), once per group commit, not once
per request (ADR 0058). On SQLite, `Matcher.match` runs in the group commit's own transaction. On PostgreSQL
the whole batch is matched by one call of `intake_match` (made by intake's migrations, the same queries in
PL/pgSQL) just before the group commit's call: one round trip for the batch instead of a transaction per
report, and a flood's burst row locked once per batch. `tests/integration/test_intake_matching.py` holds the
two to the same answers.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import ColumnElement, case, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.intake import tables
from shared.crypto import keyed_token, normalise_text

CONTACT_WINDOW = timedelta(days=90)  # repeat victimisation looks this far back (the ruleset's same_contact)
DUPLICATE_WINDOW = timedelta(hours=24)
BURST_GAP = timedelta(minutes=20)  # a source quiet this long starts a new burst (floods look 10 minutes either side)
BURST_SPAN = timedelta(hours=2)  # and no token lives longer, so none links a source's reports for long
NORMAL_WINDOW = timedelta(days=28)  # the source's own normal, counted before its burst began
# Bounds, so a flood of identical reports costs each report the same: the earliest five matches (the chain's
# first, which is all triage keys on, stays among them; more only made every event of a flood longer) and a
# normal counted no further than it can matter.
MAX_MATCHES = 5
NORMAL_CAP = 1_000


@dataclass(frozen=True)
class Matched:
    earlier_reports_same_contact: list[str]
    source_burst: str | None
    source_reports_28d: int | None
    near_duplicate_of: list[str]


@dataclass(frozen=True)
class Match:
    """One report to match: its keyed hashes (none of them reversible), when it came, and the token its source's
    burst gets if the report opens a new one."""

    report_id: str
    at: datetime
    contact_hash: str | None
    content_hash: str | None
    source_hash: str | None
    new_token: str

    def as_json(self) -> dict[str, Any]:
        return {"report_id": self.report_id, "at": self.at.isoformat(), "contact_hash": self.contact_hash,
                "content_hash": self.content_hash, "source_hash": self.source_hash, "new_token": self.new_token}


# The call that matches a batch on PostgreSQL (function in migration intake_0007), with the windows and bounds
# above as its arguments, so they are written once, here.
BATCH_SQL = "SELECT intake_match(%s::jsonb, %s, %s, %s, %s, %s, %s, %s)"


def batch_arguments(batch: list[Match]) -> tuple[Any, ...]:
    return (orjson.dumps([m.as_json() for m in batch]).decode(), CONTACT_WINDOW, DUPLICATE_WINDOW, BURST_GAP,
            BURST_SPAN, NORMAL_WINDOW, MAX_MATCHES, NORMAL_CAP)


def batch_results(answer: list[dict[str, Any]]) -> list[Matched]:
    """`intake_match`'s answer, one object per report in the batch's order."""
    return [Matched(list(r["same_contact"]), r["burst"], r["normal"], list(r["duplicates"])) for r in answer]


class Matcher:
    m = tables.report_matches
    bursts = tables.source_bursts

    def __init__(self, master_key: bytes) -> None:
        self.master_key = master_key

    def _hash(self, purpose: str, value: str | None) -> str | None:
        return keyed_token(self.master_key, f"vigil-match-{purpose}", value, n_bytes=32) if value else None

    def request(self, report_id: str, at: datetime, contact: str | None, source: str | None,
                description: str | None) -> Match:
        """What matching needs of a report, hashed here so nothing in clear reaches the writer."""
        return Match(report_id, at, self._hash("contact", contact),
                     self._hash("content", normalise_text(description or "")), self._hash("source", source),
                     secrets.token_urlsafe(24))

    def match(self, s: Session, m: Match) -> Matched:
        """Match a new report against intake's earlier ones and remember it, in the caller's transaction."""
        same_contact = self._earlier(s, self.m.c.contact_hash == m.contact_hash, m.at - CONTACT_WINDOW, m.at) \
            if m.contact_hash else []
        duplicates = self._earlier(s, self.m.c.content_hash == m.content_hash, m.at - DUPLICATE_WINDOW, m.at) \
            if m.content_hash else []
        burst, normal = self._burst(s, m.source_hash, m.new_token, m.at) if m.source_hash else (None, None)
        s.execute(insert(self.m).values(report_id=m.report_id, submitted_at=m.at, contact_hash=m.contact_hash,
                                        content_hash=m.content_hash, source_hash=m.source_hash, source_burst=burst))
        return Matched(same_contact, burst, normal, duplicates)

    def _earlier(self, s: Session, same: ColumnElement[bool], since: datetime, until: datetime) -> list[str]:
        rows = s.execute(select(self.m.c.report_id).where(same, self.m.c.submitted_at >= since,
                                                          self.m.c.submitted_at <= until)
                         .order_by(self.m.c.submitted_at, self.m.c.report_id).limit(MAX_MATCHES))
        return list(rows.scalars())

    def _burst(self, s: Session, source_hash: str, new_token: str, at: datetime) -> tuple[str, int]:
        """The source's current burst token, or a new one after a quiet spell: one statement, so concurrent
        reports from one source (a flood) agree on the token."""
        b = self.bursts
        fresh = (b.c.last_at >= at - BURST_GAP) & (b.c.opened_at >= at - BURST_SPAN)
        dialect = s.get_bind().dialect.name
        upsert: Any = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(b)
        upsert = upsert.values(source_hash=source_hash, token=new_token, opened_at=at, last_at=at)
        new = upsert.excluded
        statement = upsert.on_conflict_do_update(index_elements=[b.c.source_hash], set_={
            "token": func.coalesce(_if(fresh, b.c.token), new.token),
            "opened_at": func.coalesce(_if(fresh, b.c.opened_at), new.opened_at),
            "last_at": func.greatest(b.c.last_at, new.last_at) if dialect == "postgresql"
            else func.max(b.c.last_at, new.last_at),
        }).returning(b.c.token, b.c.opened_at)
        token, opened_at = s.execute(statement).one()
        window = select(self.m.c.report_id).where(
            self.m.c.source_hash == source_hash, self.m.c.submitted_at >= opened_at - NORMAL_WINDOW,
            self.m.c.submitted_at < opened_at).limit(NORMAL_CAP).subquery()
        normal = s.execute(select(func.count()).select_from(window)).scalar_one()
        return token, int(normal)

    def forget(self, s: Session, report_id: str) -> None:
        """Erasure: the report's hashes go, and so does its burst's token, so the token names no source."""
        token = s.execute(select(self.m.c.source_burst).where(self.m.c.report_id == report_id)).scalar()
        if token:
            s.execute(delete(self.bursts).where(self.bursts.c.token == token))
        s.execute(delete(self.m).where(self.m.c.report_id == report_id))


def _if(condition: ColumnElement[bool], value: Any) -> Any:
    return case((condition, value), else_=None)
