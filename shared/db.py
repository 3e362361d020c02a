"""Database plumbing every service shares: engine set-up, sessions, commit hooks, UTC times.

SQLite (the embedded default) gets WAL and `BEGIN IMMEDIATE`, so concurrent writers queue
instead of failing on lock upgrade; PostgreSQL is used as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

# An auto-incrementing 64-bit key that SQLite also treats as its rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores tz-aware UTC and always hands back tz-aware UTC, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def insert_new(s: Session, table: Table, **values: Any) -> bool:
    """INSERT unless the primary key exists (ON CONFLICT DO NOTHING): one statement instead of a look and a write.

    True when the row is new. A row another transaction has inserted but not yet committed makes this
    wait for that transaction, then answers False if it committed: no race between looking and writing.
    """
    dialect = s.get_bind().dialect.name
    statement = _INSERT_NEW.get((dialect, table))
    if statement is None:  # built once per table: the values travel as parameters, so SQLAlchemy's cache serves
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = _INSERT_NEW[(dialect, table)] = (
            insert(table).on_conflict_do_nothing().returning(next(iter(table.primary_key.columns))))
    return s.execute(statement, values).first() is not None  # rowcount is not reliable here across drivers


_INSERT_NEW: dict[tuple[str, Table], Any] = {}


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        _sqlite_pragmas(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_recycle", 1800)  # not pre-ping: a round trip on every checkout
    return create_engine(url, **kwargs)


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """One service's engine and sessions.

    `on_commit` callbacks run after a commit whose session set `info["wake"]` (it appended
    events or queued work), so relays and dispatchers start at once instead of polling.
    """

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._on_commit: list[Callable[[], None]] = []
        event.listen(self.sessions, "after_commit", self._after_commit)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def on_commit(self, callback: Callable[[], None]) -> None:
        self._on_commit.append(callback)

    def _after_commit(self, session: Session) -> None:
        if session.info.pop("wake", False):
            self.committed()

    def committed(self) -> None:
        """Run the after-commit callbacks: for a commit made outside a session (a raw pipeline)."""
        for callback in self._on_commit:
            callback()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A session for reading in which every statement sees the same committed state (ADR 0047).

        PostgreSQL's default, READ COMMITTED, takes a new snapshot per statement: a page built from
        two queries could count a report in one and miss it in the other. REPEATABLE READ holds the
        first statement's snapshot for the whole transaction (and costs no extra round trip). SQLite
        sessions already begin one transaction (`BEGIN IMMEDIATE`) that every statement shares.
        """
        with self.sessions() as session:
            if self.is_postgres:
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
