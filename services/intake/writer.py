"""Group commit: one thread writes every accepted report; each request waits for its batch's commit.

Appends take a database-wide lock (so the outbox sequence is commit order), and a transaction
per report would hold it once per report, with every request thread fighting for the GIL in
between. Here the reports that arrive while a commit is in flight go together in the next
transaction: one lock, a few multi-row inserts, one commit. Nobody gets a 202 before the commit
that holds their report (ADR 0011). A batch that fails is retried one report at a time, so a
clash (an idempotency twin, a reference collision) fails only its own report.

On PostgreSQL the whole transaction goes in one psycopg pipeline: lock, inserts and COMMIT leave
in one flight and come back in one, instead of a round trip per statement. Under load every round
trip also meant waiting for a busy CPU and the GIL to come back, and a batch of seven reports
took 30 ms; see ADR 0018.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy import Connection, Table
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.orm import Session

from services.intake import tables
from shared.db import Database
from shared.events.base import Event
from shared.eventstore import APPEND_LOCK, LOCK_AND_NOTIFY_SQL, ConcurrencyError, EventStore, NewStream, event_row

log = logging.getLogger(__name__)


@dataclass
class PendingReport:
    """Everything one accepted report writes, prepared before it reaches the writer."""

    report_id: str
    key_row: dict[str, Any]
    report_row: dict[str, Any]
    event: Event
    idempotency_row: dict[str, Any] | None = None
    traceparent: str | None = None
    tracestate: str | None = None
    done: Future[None] = field(default_factory=Future)


class ReportWriter:
    def __init__(self, db: Database, store: EventStore, max_batch: int = 500) -> None:
        self.db = db
        self.store = store
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[PendingReport] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._conn: Connection | None = None
        self._raw: Any = None  # the pool's wrapper around the psycopg connection, PostgreSQL only
        self._sql: dict[str, str] = {}
        self.batches = 0

    def write(self, pending: PendingReport, timeout: float = 60.0) -> None:
        """Block until the report is committed; the database's error if it could not be."""
        self.enqueue(pending).result(timeout)

    def enqueue(self, pending: PendingReport) -> Future[None]:
        """For callers on an event loop: a future that completes after the commit."""
        self._ensure_running()
        self._queue.put(pending)
        return pending.done

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

    def _commit(self, batch: list[PendingReport]) -> None:
        try:
            if self.db.is_postgres:
                self._commit_pipelined(batch)
            else:
                with self._session() as s, s.begin():
                    self._insert(s, batch)
        except Exception as e:
            self._drop_connection()  # whatever went wrong, the next batch starts on a fresh connection
            if len(batch) == 1:
                batch[0].done.set_exception(e)
                return
            log.info("a group commit failed; writing its reports one by one", extra={"size": len(batch)})
            for pending in batch:
                self._commit([pending])
            return
        self.batches += 1
        for pending in batch:
            pending.done.set_result(None)

    def _insert(self, s: Session, batch: list[PendingReport]) -> None:
        s.execute(tables.report_keys.insert(), [p.key_row for p in batch])
        s.execute(tables.reports.insert(), [p.report_row for p in batch])
        idempotency = [p.idempotency_row for p in batch if p.idempotency_row]
        if idempotency:
            s.execute(tables.idempotency.insert(), idempotency)
        self.store.start_streams(s, [NewStream(p.report_id, [p.event], p.traceparent, p.tracestate) for p in batch])

    def _commit_pipelined(self, batch: list[PendingReport]) -> None:
        """The same rows as `_insert`, sent with the lock and the COMMIT in one pipeline."""
        if self._raw is None:
            self._raw = self.db.engine.raw_connection()
        conn: psycopg.Connection[Any] = self._raw.driver_connection
        inserts: list[tuple[Table, list[dict[str, Any]]]] = [
            (tables.report_keys, [p.key_row for p in batch]),
            (tables.reports, [p.report_row for p in batch]),
            (tables.idempotency, [p.idempotency_row for p in batch if p.idempotency_row]),
            (self.store.log, [event_row(env) for env in self.store.new_stream_envelopes(
                [NewStream(p.report_id, [p.event], p.traceparent, p.tracestate) for p in batch])]),
        ]
        try:
            with conn.pipeline(), conn.cursor() as cur:
                cur.execute(LOCK_AND_NOTIFY_SQL, {"k": APPEND_LOCK})
                for table, rows in inserts:
                    if rows:
                        cur.executemany(self._insert_sql(table, rows[0]), rows)
                conn.commit()
        except psycopg.IntegrityError as e:  # a twin or a collision: the one-by-one retry finds whose
            conn.rollback()
            raise ConcurrencyError(str(e)) from e
        except BaseException:
            with contextlib.suppress(Exception):
                conn.rollback()
            raise
        self.db.committed()

    def _insert_sql(self, table: Table, row: dict[str, Any]) -> str:
        """Compiled once per table by SQLAlchemy, so column names and quoting come from `tables.py`."""
        if table.name not in self._sql:
            self._sql[table.name] = str(table.insert().compile(dialect=PGDialect_psycopg(), column_keys=list(row)))
        return self._sql[table.name]
