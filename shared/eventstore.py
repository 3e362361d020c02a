"""The append-only event table each service owns: its history, and its outbox.

(stream id, version) is unique: two writers who read the same version cannot both
append, and the loser gets `ConcurrencyError`. The table's global sequence is the
order the outbox relay publishes in; on PostgreSQL appends take a transaction-scoped
advisory lock so sequence order is commit order and the relay never skips a row that
commits late (ADR 0003).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, MetaData, String, Table, Text, UniqueConstraint, bindparam, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from shared.clock import Clock
from shared.db import BigId, UTCDateTime
from shared.events.base import Envelope, Event, canonical_json
from shared.ids import new_id
from shared.telemetry import current_traceparent

APPEND_LOCK = 0x56_49_47_49  # "VIGI"


class ConcurrencyError(RuntimeError):
    """Someone else changed this stream first; reload and decide again."""


@dataclass(frozen=True)
class NewStream:
    """A stream to begin, with the trace context of the request that made it (for `start_streams`)."""

    stream_id: str
    events: Sequence[Event]
    traceparent: str | None = None
    tracestate: str | None = None


def event_tables(metadata: MetaData) -> dict[str, Table]:
    log = Table(
        "event_log", metadata,
        Column("seq", BigId, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("stream_id", String(120), nullable=False),
        Column("version", BigId, nullable=False),
        Column("type", String(120), nullable=False),
        Column("topic", String(120), nullable=False),
        Column("key", String(120), nullable=False),
        Column("source", String(120), nullable=False),
        Column("time", UTCDateTime(), nullable=False),
        Column("data", Text, nullable=False),
        Column("traceparent", String(64)),
        Column("tracestate", String(512)),
        UniqueConstraint("stream_id", "version", name="uq_event_log_stream_version"),
    )
    position = Table(
        "relay_position", metadata,
        Column("name", String(60), primary_key=True),
        Column("position", BigId, nullable=False),
        Column("updated_at", UTCDateTime(), nullable=False),
    )
    inbox = Table(
        "inbox", metadata,
        Column("consumer", String(120), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        Column("processed_at", UTCDateTime(), nullable=False),
    )
    return {"event_log": log, "relay_position": position, "inbox": inbox}


OUTBOX_CHANNEL = "vigil_outbox"
LOCK_AND_NOTIFY = text(f"SELECT pg_advisory_xact_lock(:k), pg_notify('{OUTBOX_CHANNEL}', '')")
_LOCKED_IN = "vigil_appends_locked_in"  # session.info: the transaction that holds the append lock


def lock_appends(session: Session) -> None:
    """On PostgreSQL: appends one at a time (sequence order is commit order, ADR 0003), and a
    notification, delivered at commit, that wakes the relay of whichever process holds it.

    Once per transaction: the lock is held until it ends, and one notification serves every append in it.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    transaction = session.get_transaction()
    if transaction is not None and session.info.get(_LOCKED_IN) is transaction:
        return
    session.execute(LOCK_AND_NOTIFY, {"k": APPEND_LOCK})
    session.info[_LOCKED_IN] = session.get_transaction()


class EventStore:
    def __init__(self, metadata: MetaData, source: str, clock: Clock) -> None:
        tables = metadata.tables
        self.log = tables["event_log"]
        self.source = source
        self.clock = clock
        # Built once: the stream id travels as a parameter, so SQLAlchemy's compiled cache serves every call.
        stream: BindParameter[str] = bindparam("stream_id")
        self._version = select(func.max(self.log.c.version)).where(self.log.c.stream_id == stream)
        self._load = select(self.log).where(self.log.c.stream_id == stream).order_by(self.log.c.version)

    def version(self, session: Session, stream_id: str) -> int:
        current = session.execute(self._version, {"stream_id": stream_id}).scalar_one()
        return int(current or 0)

    def extend(self, session: Session, stream_id: str, events: Sequence[Event], key: str | None = None,
               time: datetime | None = None) -> list[Envelope]:
        """Append at whatever version the stream has reached: for streams that record what happened, where
        no decision rests on the version read (a notification's history, an area's, the ruleset's)."""
        if not events:
            return []
        lock_appends(session)
        return self._insert(session, stream_id, self.version(session, stream_id), events, key, time)

    def append(self, session: Session, stream_id: str, expected_version: int, events: Sequence[Event],
               key: str | None = None, time: datetime | None = None) -> list[Envelope]:
        if not events:
            return []
        lock_appends(session)
        if self.version(session, stream_id) != expected_version:
            raise ConcurrencyError(f"stream {stream_id} changed since version {expected_version}")
        return self._insert(session, stream_id, expected_version, events, key, time)

    def _insert(self, session: Session, stream_id: str, after_version: int, events: Sequence[Event],
                key: str | None, time: datetime | None) -> list[Envelope]:
        traceparent, tracestate = current_traceparent()
        when = time or self.clock.now()
        envelopes = [
            Envelope(id=new_id(), type=e.TYPE, source=self.source, subject=stream_id, time=when,
                     sequence=after_version + i + 1, key=key or stream_id, topic=e.TOPIC,
                     data=e.model_dump(mode="json"), traceparent=traceparent, tracestate=tracestate)
            for i, e in enumerate(events)
        ]
        try:  # no savepoint (two round trips): a clash fails the caller's transaction, which every caller ends
            session.execute(self.log.insert(), [event_row(env) for env in envelopes])
        except IntegrityError as e:
            raise ConcurrencyError(f"stream {stream_id} changed since version {after_version}") from e
        session.info["wake"] = True
        return envelopes

    def start_streams(self, session: Session, streams: Sequence[NewStream]) -> list[Envelope]:
        """Begin many new streams with one lock and one insert: a group commit of submissions.

        Every stream must be new (its events get versions 1..n); a stream that already exists makes
        the unique (stream_id, version) fail, raised as ConcurrencyError as `append` does.
        """
        if not streams:
            return []
        lock_appends(session)
        envelopes = self.new_stream_envelopes(streams)
        try:  # no savepoint (a round trip each way): a clash fails the caller's whole transaction
            session.execute(self.log.insert(), [event_row(env) for env in envelopes])
        except IntegrityError as e:
            raise ConcurrencyError("a stream to start already exists") from e
        session.info["wake"] = True
        return envelopes

    def new_stream_envelopes(self, streams: Sequence[NewStream]) -> list[Envelope]:
        when = self.clock.now()
        return [
            Envelope(id=new_id(), type=e.TYPE, source=self.source, subject=stream.stream_id, time=when,
                     sequence=i + 1, key=stream.stream_id, topic=e.TOPIC, data=e.model_dump(mode="json"),
                     traceparent=stream.traceparent, tracestate=stream.tracestate)
            for stream in streams for i, e in enumerate(stream.events)
        ]

    def load(self, session: Session, stream_id: str) -> list[Envelope]:
        rows = session.execute(self._load, {"stream_id": stream_id}).mappings()
        return [row_to_envelope(r) for r in rows]


def event_row(env: Envelope) -> dict[str, object]:
    """The event_log row of an envelope (its data as canonical JSON text)."""
    return {"event_id": env.id, "stream_id": env.subject, "version": env.sequence, "type": env.type,
            "topic": env.topic, "key": env.key, "source": env.source, "time": env.time,
            "data": canonical_json(env.data).decode(), "traceparent": env.traceparent, "tracestate": env.tracestate}


def row_to_envelope(row: object) -> Envelope:
    import json

    r = dict(row)  # type: ignore[call-overload]
    return Envelope(id=r["event_id"], type=r["type"], source=r["source"], subject=r["stream_id"],
                    time=r["time"], sequence=r["version"], key=r["key"], topic=r["topic"],
                    data=json.loads(r["data"]), traceparent=r["traceparent"], tracestate=r["tracestate"])
