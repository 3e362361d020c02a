"""The fold's facts in the database: the live worker's store, and bulk load/save for rebuilds and dumps."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from operator import attrgetter, itemgetter
from typing import Any

from sqlalchemy import Table, delete, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from services.assessment import tables
from services.assessment.projection import IncidentFacts, ReportFacts, Snapshot, TensionFacts, when
from services.assessment.sites.facts import LinkFacts, OutcomeFacts, SiteFacts
from shared.clock import utc

WATERMARK = "watermark"
LIST_FIELDS = {"types", "strands", "matched"}
REPORT_FIELDS = [f.name for f in fields(ReportFacts)]
INCIDENT_FIELDS = [f.name for f in fields(IncidentFacts)]
TENSION_FIELDS = [f.name for f in fields(TensionFacts)]
SITE_FIELDS = [f.name for f in fields(SiteFacts)]
OUTCOME_FIELDS = [f.name for f in fields(OutcomeFacts)]
LINK_FIELDS = [f.name for f in fields(LinkFacts)]


def to_row(facts: ReportFacts | IncidentFacts | TensionFacts | SiteFacts | OutcomeFacts | LinkFacts
           ) -> dict[str, Any]:
    row = {}
    for f in fields(facts):
        value = getattr(facts, f.name)
        row[f.name] = ",".join(value) if f.name in LIST_FIELDS else value
    return row


def _from_row(row: Mapping[Any, Any], names: list[str]) -> dict[str, Any]:
    out = {}
    for name in names:
        value = row[name]
        if name in LIST_FIELDS:
            value = tuple(v for v in (value or "").split(",") if v)
        elif isinstance(value, datetime):
            value = utc(value)
        out[name] = value
    return out


def report_of(row: Mapping[Any, Any]) -> ReportFacts:
    return ReportFacts(**_from_row(row, REPORT_FIELDS))


def incident_of(row: Mapping[Any, Any]) -> IncidentFacts:
    return IncidentFacts(**_from_row(row, INCIDENT_FIELDS))


def tension_of(row: Mapping[Any, Any]) -> TensionFacts:
    return TensionFacts(**_from_row(row, TENSION_FIELDS))


def site_of(row: Mapping[Any, Any]) -> SiteFacts:
    return SiteFacts(**_from_row(row, SITE_FIELDS))


def outcome_of(row: Mapping[Any, Any]) -> OutcomeFacts:
    return OutcomeFacts(**_from_row(row, OUTCOME_FIELDS))


def link_of(row: Mapping[Any, Any]) -> LinkFacts:
    return LinkFacts(**_from_row(row, LINK_FIELDS))


class DbStore:
    """The fold's store over one database session: the live worker applies each event inside its inbox transaction."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def report(self, report_id: str) -> ReportFacts | None:
        row = self.s.execute(select(tables.reports).where(tables.reports.c.report_id == report_id)).mappings().first()
        return report_of(row) if row else None

    def put_report(self, facts: ReportFacts) -> None:
        self.drop_report(facts.report_id)
        self.s.execute(tables.reports.insert().values(**to_row(facts)))

    def drop_report(self, report_id: str) -> None:
        self.s.execute(delete(tables.reports).where(tables.reports.c.report_id == report_id))

    def erased(self, report_id: str) -> bool:
        return self.s.execute(select(tables.erasures.c.report_id)
                              .where(tables.erasures.c.report_id == report_id)).first() is not None

    def mark_erased(self, report_id: str, at: datetime) -> None:
        self.s.execute(tables.erasures.insert().values(report_id=report_id, erased_at=at))

    def incident(self, incident_id: str) -> IncidentFacts | None:
        row = self.s.execute(select(tables.incidents)
                             .where(tables.incidents.c.incident_id == incident_id)).mappings().first()
        return incident_of(row) if row else None

    def incidents_of(self, report_id: str) -> list[IncidentFacts]:
        rows = self.s.execute(select(tables.incidents).where(tables.incidents.c.report_id == report_id)
                              .order_by(tables.incidents.c.incident_id)).mappings()
        return [incident_of(r) for r in rows]

    def put_incident(self, facts: IncidentFacts) -> None:
        self.drop_incident(facts.incident_id)
        self.s.execute(tables.incidents.insert().values(**to_row(facts)))

    def drop_incident(self, incident_id: str) -> None:
        self.s.execute(delete(tables.incidents).where(tables.incidents.c.incident_id == incident_id))

    def tension(self, tension_id: str) -> TensionFacts | None:
        row = self.s.execute(select(tables.tensions)
                             .where(tables.tensions.c.tension_id == tension_id)).mappings().first()
        return tension_of(row) if row else None

    def put_tension(self, facts: TensionFacts) -> None:
        self.s.execute(delete(tables.tensions).where(tables.tensions.c.tension_id == facts.tension_id))
        self.s.execute(tables.tensions.insert().values(**to_row(facts)))

    def site(self, site_id: str) -> SiteFacts | None:
        row = self.s.execute(select(tables.sites).where(tables.sites.c.site_id == site_id)).mappings().first()
        return site_of(row) if row else None

    def put_site(self, facts: SiteFacts) -> None:
        self.s.execute(delete(tables.sites).where(tables.sites.c.site_id == facts.site_id))
        self.s.execute(tables.sites.insert().values(**to_row(facts)))

    def outcome(self, outcome_id: str) -> OutcomeFacts | None:
        row = self.s.execute(select(tables.site_outcomes)
                             .where(tables.site_outcomes.c.outcome_id == outcome_id)).mappings().first()
        return outcome_of(row) if row else None

    def put_outcome(self, facts: OutcomeFacts) -> None:
        self.s.execute(delete(tables.site_outcomes).where(tables.site_outcomes.c.outcome_id == facts.outcome_id))
        self.s.execute(tables.site_outcomes.insert().values(**to_row(facts)))

    def put_link(self, facts: LinkFacts) -> None:
        t = tables.site_links
        self.s.execute(delete(t).where(t.c.site_id == facts.site_id, t.c.report_id == facts.report_id))
        self.s.execute(t.insert().values(**to_row(facts)))

    def see(self, at: datetime) -> None:
        current = watermark(self.s)
        if current is None or at > current:
            self.s.execute(delete(tables.meta).where(tables.meta.c.name == WATERMARK))
            self.s.execute(tables.meta.insert().values(name=WATERMARK, value=utc(at).isoformat()))


def watermark(s: Session | Connection) -> datetime | None:
    value = s.execute(select(tables.meta.c.value).where(tables.meta.c.name == WATERMARK)).scalar()
    return when(value) if value else None


def load_snapshot(s: Session | Connection) -> Snapshot:
    """The whole fold state as the database holds it, sorted as ``Snapshot.of`` sorts a memory state."""
    reports = [report_of(r) for r in s.execute(select(tables.reports)
                                              .order_by(tables.reports.c.report_id)).mappings()]
    erasures = [(r.report_id, utc(r.erased_at)) for r in s.execute(select(tables.erasures)
                                                                  .order_by(tables.erasures.c.report_id))]
    incidents = [incident_of(r) for r in s.execute(select(tables.incidents)
                                                  .order_by(tables.incidents.c.incident_id)).mappings()]
    tensions = [tension_of(r) for r in s.execute(select(tables.tensions)
                                                .order_by(tables.tensions.c.tension_id)).mappings()]
    sites = [site_of(r) for r in s.execute(select(tables.sites).order_by(tables.sites.c.site_id)).mappings()]
    outcomes = [outcome_of(r) for r in s.execute(select(tables.site_outcomes)
                                                .order_by(tables.site_outcomes.c.outcome_id)).mappings()]
    links = [link_of(r) for r in s.execute(select(tables.site_links).order_by(
        tables.site_links.c.site_id, tables.site_links.c.report_id)).mappings()]
    return Snapshot(reports, erasures, incidents, tensions, watermark(s), sites, outcomes, links)


def bulk_insert(conn: Connection, table: Table, names: tuple[str, ...], objects: Sequence[Any],
                getters: Sequence[Callable[[Any], Any]] | None = None, size: int = 50_000) -> None:
    """Driver executemany, column by column, with SQLAlchemy's own bind processors.

    The Core insert's per-row machinery costs more than the database itself for a million rows;
    the stored values are exactly what the Core insert would store, because the same column types
    convert them. Working a column at a time keeps the per-value cost in C (`map`).
    """
    dialect = conn.dialect
    sql = str(table.insert().compile(dialect=dialect, column_keys=list(names)))
    columns = []
    for i, name in enumerate(names):
        values = list(map(getters[i] if getters else attrgetter(name), objects))
        if name in LIST_FIELDS:
            values = list(map(",".join, values))
        process = table.c[name].type._cached_bind_processor(dialect)
        columns.append(list(map(process, values)) if process else values)
    rows: list[Any] = list(zip(*columns, strict=True))
    if dialect.name == "postgresql":
        _copy(conn, table, names, rows)
        return
    if dialect.paramstyle not in ("qmark", "format", "numeric"):
        rows = [dict(zip(names, row, strict=True)) for row in rows]
    for start in range(0, len(rows), size):
        conn.exec_driver_sql(sql, rows[start:start + size])


def _copy(conn: Connection, table: Table, names: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """PostgreSQL's COPY, on the same connection and transaction: psycopg adapts the processed values itself."""
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def replace_projection(conn: Connection, snap: Snapshot) -> None:
    """Swap the database's facts for a rebuilt state in one transaction (the caller's)."""
    for table in tables.PROJECTION:
        conn.execute(delete(table))
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA cache_size = -262144")  # 256 MB: the index no longer thrashes the disk
    bulk_insert(conn, tables.reports, tuple(REPORT_FIELDS), snap.reports)
    bulk_insert(conn, tables.erasures, ("report_id", "erased_at"), snap.erasures, (itemgetter(0), itemgetter(1)))
    bulk_insert(conn, tables.incidents, tuple(INCIDENT_FIELDS), snap.incidents)
    bulk_insert(conn, tables.tensions, tuple(TENSION_FIELDS), snap.tensions)
    bulk_insert(conn, tables.sites, tuple(SITE_FIELDS), snap.sites)
    bulk_insert(conn, tables.site_outcomes, tuple(OUTCOME_FIELDS), snap.outcomes)
    bulk_insert(conn, tables.site_links, tuple(LINK_FIELDS), snap.links)
    if snap.watermark is not None:
        conn.execute(tables.meta.insert().values(name=WATERMARK, value=utc(snap.watermark).isoformat()))
