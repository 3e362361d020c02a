"""Group commit: one thread writes every accepted report; each request waits for its batch's commit.

Appends take a database-wide lock (so the outbox sequence is commit order), and a transaction
per report would hold it once per report, with every request thread fighting for the GIL in
between. Here the reports that arrive while a commit is in flight go together in the next
transaction: one lock, a few multi-row inserts, one commit. Nobody gets a 202 before the commit
that holds their report (ADR 0011). A batch that fails is retried one report at a time, so a
clash (an idempotency twin, a reference collision) fails only its own report.

On PostgreSQL the whole transaction is one statement: a call of the `intake_group_commit` function
(made by intake's migrations) with the batch's rows as jsonb, in autocommit. One message out, one back,
and the append lock is held only while the server runs it. Before, each statement of a pipeline left in
its own write with a trip through the event loop in between, so the lock was held across other requests'
work, and the other worker's commits could wait for it; see ADRs 0018 and 0044.

Each batch is matched first (services/intake/matching.py, ADR 0058): on PostgreSQL one call of `intake_match`
for the batch, in a transaction of its own just before the commit's; on SQLite in the commit's own transaction.
A report's event carries its matches, so it is built once they are known. A report matched once keeps its
matches if its batch is retried one by one.

A database that cannot be reached (down, restarting) fails the whole batch at once as `StoreUnavailable`,
which the route answers 503 with Retry-After: no report is answered 202 unless committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias, TypeVar

import orjson
import psycopg
from sqlalchemy import Connection, Table, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from services.intake import tables
from services.intake.matching import BATCH_SQL, Match, Matched, Matcher, batch_arguments, batch_results
from shared.db import Database
from shared.events.base import Event
from shared.eventstore import APPEND_LOCK, OUTBOX_CHANNEL, ConcurrencyError, EventStore, NewStream, event_row

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 3  # seconds: an unreachable server fails a request quickly instead of holding it


class StoreUnavailable(RuntimeError):
    """The database cannot take reports now (down, restarting, unreachable); the client may try again."""


@dataclass
class PendingReport:
    """Everything one accepted report writes, prepared before it reaches the writer; its event is built by the
    writer once the report's matches are known."""

    report_id: str
    key_row: dict[str, Any]
    report_row: dict[str, Any]
    match: Match
    build: Callable[[Matched], Event]
    idempotency_row: dict[str, Any] | None = None
    traceparent: str | None = None
    tracestate: str | None = None
    event: Event | None = None

    def matched(self, matched: Matched) -> None:
        self.event = self.build(matched)

    @property
    def stream(self) -> NewStream:
        """The report's event stream, begun with its one event."""
        if self.event is None:
            raise RuntimeError(f"report {self.report_id} was not matched before its commit")
        return NewStream(self.report_id, [self.event], self.traceparent, self.tracestate)


def unmatched(batch: list[PendingReport]) -> list[PendingReport]:
    return [p for p in batch if p.event is None]


class Answer(Protocol):
    """How a writer answers the request waiting for a report: a thread's future or the event loop's."""

    def done(self) -> bool: ...

    def set_result(self, result: None, /) -> None: ...

    def set_exception(self, exception: BaseException, /) -> None: ...


A = TypeVar("A", bound=Answer)
Batch: TypeAlias = list[tuple[PendingReport, A]]


def answer(batch: Batch[A]) -> None:
    """Tell each waiting request its report is committed; one that gave up (a client gone) has no one to tell."""
    for _, done in batch:
        if not done.done():
            done.set_result(None)


def one_by_one(batch: Batch[A], error: Exception) -> list[Batch[A]]:
    """After a failed group commit, the batches to try next: each report alone, so a clash (an idempotency
    twin, a reference collision) fails only its own report. A report that failed alone gets the error, and
    so does every report of a batch the database was unavailable for: alone, each would fail the same way."""
    if len(batch) == 1 or isinstance(error, StoreUnavailable):
        for _, done in batch:
            if not done.done():
                done.set_exception(error)
        return []
    log.info("a group commit failed; writing its reports one by one", extra={"size": len(batch)})
    return [[item] for item in batch]


class ReportWriter:
    def __init__(self, db: Database, store: EventStore, matcher: Matcher, max_batch: int = 500) -> None:
        self.db = db
        self.store = store
        self.matcher = matcher
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[PendingReport, Future[None]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._conn: Connection | None = None
        self._raw: Any = None  # the pool's wrapper around the psycopg connection, PostgreSQL only
        self.statements = Statements(store)

    def enqueue(self, pending: PendingReport) -> Future[None]:
        """A future that completes after the commit (callers on an event loop wrap it)."""
        self._ensure_running()
        done: Future[None] = Future()
        self._queue.put((pending, done))
        return done

    def _ensure_running(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="intake-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._commit(batch)

    def _session(self) -> Session:
        """The writer keeps one connection: no pool checkout (and its liveness ping) per batch."""
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self.db.engine.connect()
        return self.db.sessions(bind=self._conn)

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
        if self._raw is not None:
            with contextlib.suppress(Exception):
                self._raw.invalidate()
            self._raw = None

    def _commit(self, batch: Batch[Future[None]]) -> None:
        try:
            self._write([pending for pending, _ in batch])
        except Exception as e:
            self._drop_connection()  # whatever went wrong, the next batch starts on a fresh connection
            for alone in one_by_one(batch, e):
                self._commit(alone)
            return
        answer(batch)

    def _write(self, reports: list[PendingReport]) -> None:
        try:
            if self.db.is_postgres:
                self._commit_call(reports)
            else:
                with self._session() as s, s.begin():
                    self._insert(s, reports)
        except (psycopg.OperationalError, OperationalError) as e:
            raise StoreUnavailable(str(e)) from e

    def _insert(self, s: Session, batch: list[PendingReport]) -> None:
        for pending in batch:  # matched again on a retry: the failed transaction took its matches with it
            pending.matched(self.matcher.match(s, pending.match))
        for table, rows in Statements.rows(batch):
            s.execute(table.insert(), rows)
        self.store.start_streams(s, [p.stream for p in batch])

    def _commit_call(self, batch: list[PendingReport]) -> None:
        """The same rows as `_insert`, with the lock, in one call of the group-commit function."""
        if self._raw is None:
            self._raw = self.db.engine.raw_connection()
            self._raw.driver_connection.autocommit = True  # the writer's own: never returned to the pool
        conn: psycopg.Connection[Any] = self._raw.driver_connection
        to_match = unmatched(batch)
        if to_match:
            [(answer,)] = conn.execute(BATCH_SQL, batch_arguments([p.match for p in to_match])).fetchall()
            for pending, matched in zip(to_match, batch_results(answer), strict=True):
                pending.matched(matched)
        try:
            conn.execute(*self.statements.of(batch))
        except psycopg.IntegrityError as e:  # a twin or a collision: the one-by-one retry finds whose
            raise ConcurrencyError(str(e)) from e
        self.db.committed()


class Statements:
    """A group commit on PostgreSQL as one statement: the function call and its arguments (ADR 0044).

    The function takes the append lock (with the relay's NOTIFY) and inserts each table's rows from a
    jsonb array: the rows `_insert` gives SQLAlchemy, encoded by orjson (bytes as bytea's hex text).
    """

    SQL = "SELECT intake_group_commit(%s, %s, %s::jsonb, %s::jsonb, %s::jsonb, %s::jsonb)"

    def __init__(self, store: EventStore) -> None:
        self.store = store

    @staticmethod
    def rows(batch: list[PendingReport]) -> list[tuple[Table, list[dict[str, Any]]]]:
        """What a batch writes besides its events, table by table (tables with no rows left out)."""
        inserts = [(tables.report_keys, [p.key_row for p in batch]), (tables.reports, [p.report_row for p in batch]),
                   (tables.idempotency, [p.idempotency_row for p in batch if p.idempotency_row])]
        return [(table, rows) for table, rows in inserts if rows]

    def of(self, batch: list[PendingReport]) -> tuple[str, tuple[Any, ...]]:
        written = {table.name: rows for table, rows in self.rows(batch)}  # the same rows `_insert` writes
        events = [event_row(env) for env in self.store.new_stream_envelopes([p.stream for p in batch])]
        idempotency = written.get(tables.idempotency.name)
        return self.SQL, (APPEND_LOCK, OUTBOX_CHANNEL, _jsonb(written[tables.report_keys.name]),
                          _jsonb(written[tables.reports.name]), _jsonb(idempotency) if idempotency else None,
                          _jsonb(events))


def _jsonb(rows: list[dict[str, Any]]) -> str:
    return orjson.dumps(rows, default=_bytea).decode()


def _bytea(value: object) -> str:
    """bytes as PostgreSQL's hex input for bytea; anything else orjson cannot encode is an error."""
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    raise TypeError(f"cannot store {type(value).__name__} in a group commit")


class LoopWriter:
    """The hot path's group commit on PostgreSQL, on the event loop itself (ADR 0019).

    A request awaits an asyncio future; whatever arrives while a commit is in flight goes in the next
    one. No thread, so no GIL hand-over and no cross-thread wake-up per report: measured in process,
    those cost more CPU than the inserts. Same statements, same one-by-one retry as `ReportWriter`.
    """

    def __init__(self, db: Database, store: EventStore, max_batch: int = 500) -> None:
        self.db = db
        self.max_batch = max_batch
        self.statements = Statements(store)
        self.conninfo = make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._queue: list[tuple[PendingReport, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def write(self, pending: PendingReport) -> None:
        """Return once the report is committed; the database's error if it could not be."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._queue.append((pending, done))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain())
        await done

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
            await self._commit_or_split(batch)

    async def _commit_or_split(self, batch: Batch[asyncio.Future[None]]) -> None:
        try:
            await self._commit([p for p, _ in batch])
        except Exception as e:
            await self._drop()
            for alone in one_by_one(batch, e):
                await self._commit_or_split(alone)
            return
        answer(batch)
        self.db.committed()

    async def _commit(self, batch: list[PendingReport]) -> None:
        try:
            conn = await self._connection()
            to_match = unmatched(batch)
            if to_match:
                cursor = await conn.execute(BATCH_SQL, batch_arguments([p.match for p in to_match]))
                [(answer,)] = await cursor.fetchall()
                for pending, matched in zip(to_match, batch_results(answer), strict=True):
                    pending.matched(matched)
            await conn.execute(*self.statements.of(batch))
        except psycopg.IntegrityError as e:
            raise ConcurrencyError(str(e)) from e
        except psycopg.OperationalError as e:
            raise StoreUnavailable(str(e)) from e

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        loop = asyncio.get_running_loop()
        if self._conn is not None and (self._conn.closed or self._loop is not loop):
            self._forget()
        if self._conn is None:
            self._conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True,
                                                               connect_timeout=CONNECT_TIMEOUT)
            self._loop = loop
        return self._conn

    async def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None

    def _forget(self) -> None:
        """A connection made on another (finished) event loop: closed without awaiting."""
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.pgconn.finish()
            self._conn = None

    async def aclose(self) -> None:
        if self._task is not None and not self._task.done():
            with contextlib.suppress(Exception):
                await self._task
        if self._loop is asyncio.get_running_loop():
            await self._drop()
        else:
            self._forget()
