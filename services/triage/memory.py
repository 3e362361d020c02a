"""The report memory: what triage keeps of each report to spot repeats, clusters and floods (ADR 0021).

Non-personal facts and keys only, one row per report, refoldable from `vigil.reports.v1` without touching the
decisions already made. It is also where the cluster rule finds a place's or district's own normal (the same
window in earlier weeks) and a source its burst and its history.

Since #15 no contact, address or description travels even as a hash: intake matches them and publishes the
results. Triage turns them into keys compared as before: a report's `contact_fp` is the first report of its
chain of reports from one contact (its own id when it is the first), its `content_fp` likewise the first of
its near-duplicates, and its `source_fp` its burst's opaque token. Older events' keyed hashes still work.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, func, insert, select, update
from sqlalchemy.orm import Session

from services.triage import tables
from services.triage.floods import Sketch
from services.triage.rules import BaselineCounter, HistoryCounter, HistoryKind
from shared.events.base import Envelope
from shared.events.handlers import HandlerTable
from shared.events.reports import Fingerprints, IncidentFacts, ReportAmended, ReportErased, ReportSubmitted

WEEK = timedelta(weeks=1)


@dataclass(frozen=True)
class Remembered:
    report_id: str
    area: str
    submitted_at: datetime
    contact_fp: str | None
    place_fp: str | None
    reporter_role: str | None
    facts: IncidentFacts
    district: str | None = None  # the postcode district's keyed hash, else the district code given
    source_fp: str | None = None
    content_fp: str | None = None
    source_normal: int | None = None  # the source's reports in the 28 days before its burst (not kept)

    @classmethod
    def of(cls, report: ReportSubmitted) -> Remembered:
        """The keys as the event gives them; `ReportMemory.linked` follows a chain to its first report."""
        fp, same_contact, twins = report.fingerprints, report.earlier_reports_same_contact, report.near_duplicate_of
        contact = fp.contact or (same_contact[0] if same_contact else None) or (
            report.report_id if report.reporter.has_contact else None)
        content = fp.content or (twins[0] if twins else report.report_id)
        district = report.postcode_district or _district(report.incident, fp)
        return cls(report.report_id, report.incident.location.area, report.submitted_at, contact, fp.place,
                   report.reporter.role.value, report.incident, district, report.source_burst or fp.source, content,
                   report.source_reports_28d)

    def amended(self, amended: ReportAmended) -> Remembered:
        """New facts and fingerprints replace the old; what the amendment leaves out stays."""
        fp = amended.fingerprints or Fingerprints()
        facts = amended.incident or self.facts
        return Remembered(self.report_id, facts.location.area, self.submitted_at, fp.contact or self.contact_fp,
                          fp.place or self.place_fp, self.reporter_role, facts,
                          _district(facts, fp) if amended.incident or fp.postcode_district else self.district,
                          self.source_fp, fp.content or self.content_fp)

    @property
    def sketch(self) -> Sketch:
        return Sketch.of(self.facts, self.place_fp, self.content_fp)


def _district(facts: IncidentFacts, fp: Fingerprints) -> str | None:
    return fp.postcode_district or facts.location.district


class ReportMemory:
    """What triage keeps of each report; rebuildable from vigil.reports.v1."""

    t = tables.report_memory

    def __init__(self) -> None:
        self.refold = HandlerTable({ReportSubmitted: self.remember_report, ReportAmended: self.remember_amendment,
                                    ReportErased: self.forget_reporter})

    def remember(self, s: Session, r: Remembered) -> None:
        values = {"area": r.area, "submitted_at": r.submitted_at, "contact_fp": r.contact_fp,
                  "place_fp": r.place_fp, "reporter_role": r.reporter_role, "facts": r.facts.model_dump_json(),
                  "district": r.district, "source_fp": r.source_fp, "content_fp": r.content_fp}
        done = s.execute(update(self.t).where(self.t.c.report_id == r.report_id).values(**values))
        if not getattr(done, "rowcount", 0):
            s.execute(insert(self.t).values(report_id=r.report_id, **values))

    def remember_report(self, s: Session, report: ReportSubmitted, _env: Envelope | None = None) -> None:
        self.remember(s, self.linked(s, Remembered.of(report)))

    def linked(self, s: Session, r: Remembered) -> Remembered:
        """A key that names an earlier report becomes that report's own key, so a chain shares the first's."""
        return replace(r, contact_fp=self._first(s, r.contact_fp, self.t.c.contact_fp, r.report_id),
                       content_fp=self._first(s, r.content_fp, self.t.c.content_fp, r.report_id))

    def _first(self, s: Session, key: str | None, column: Any, report_id: str) -> str | None:
        if key is None or key == report_id:
            return key
        found = s.execute(select(column).where(self.t.c.report_id == key)).scalar()
        return found or key

    def amend(self, s: Session, amended: ReportAmended) -> Remembered | None:
        before = self.recall(s, amended.report_id)
        if before is None:
            return None
        now = before.amended(amended)
        self.remember(s, now)
        return now

    def remember_amendment(self, s: Session, amended: ReportAmended, _env: Envelope | None = None) -> None:
        self.amend(s, amended)

    def forget_reporter(self, s: Session, erased: ReportErased, _env: Envelope | None = None) -> None:
        """Erasure: the report's facts and every key it could be matched by go with it."""
        s.execute(delete(self.t).where(self.t.c.report_id == erased.report_id))

    def forget_everything(self, s: Session) -> None:
        s.execute(delete(self.t))

    def recall(self, s: Session, report_id: str) -> Remembered | None:
        row = s.execute(select(self.t).where(self.t.c.report_id == report_id)).mappings().first()
        return None if row is None else _remembered(row)

    def facts(self, s: Session, report_id: str) -> dict[str, Any] | None:
        """The facts as the incident page shows them, with who reported."""
        r = self.recall(s, report_id)
        return None if r is None else json.loads(r.facts.model_dump_json()) | {"reporter_role": r.reporter_role}

    def _match(self, kind: HistoryKind, r: Remembered) -> ColumnElement[bool] | None:
        """Rows of the same kind as `r`; None when `r` has nothing to compare by."""
        column, value = {HistoryKind.same_area: (self.t.c.area, r.area),
                         HistoryKind.same_place: (self.t.c.place_fp, r.place_fp),
                         HistoryKind.same_contact: (self.t.c.contact_fp, r.contact_fp),
                         HistoryKind.same_district: (self.t.c.district, r.district)}[kind]
        return column == value if value else None

    def counter(self, s: Session, r: Remembered) -> HistoryCounter:
        """Other reports within the window either side: order of arrival across partitions does not matter."""

        def count(kind: HistoryKind, window: timedelta) -> int:
            match = self._match(kind, r)
            if match is None:
                return 0
            return int(s.execute(select(func.count()).select_from(self.t).where(
                match, self.t.c.report_id != r.report_id,
                self.t.c.submitted_at >= r.submitted_at - window,
                self.t.c.submitted_at <= r.submitted_at + window)).scalar_one())

        return count

    def baseline(self, s: Session, r: Remembered) -> BaselineCounter:
        """The same count, and the count of the same window 1..n weeks earlier, in one query per kind."""

        def counts(kind: HistoryKind, window: timedelta, weeks: int) -> tuple[int, list[int]]:
            match = self._match(kind, r)
            if match is None:
                return 0, [0] * weeks
            at = self.t.c.submitted_at
            spans = [(r.submitted_at - k * WEEK - window, r.submitted_at - k * WEEK + window) for k in
                     range(weeks + 1)]
            sums = [func.sum(case((and_(at >= lo, at <= hi), 1), else_=0)) for lo, hi in spans]
            row = s.execute(select(*sums).where(match, self.t.c.report_id != r.report_id, at >= spans[-1][0],
                                                at <= spans[0][1])).one()
            found = [int(n or 0) for n in row]
            return found[0], found[1:]

        return counts

    def burst(self, s: Session, basis: str, fingerprint: str, around: datetime, window: timedelta) -> list[Remembered]:
        """Every report from one source (or contact) within the window either side, oldest first."""
        column = self.t.c.source_fp if basis == "source" else self.t.c.contact_fp
        rows = s.execute(select(self.t).where(
            column == fingerprint, self.t.c.submitted_at >= around - window, self.t.c.submitted_at <= around + window,
        ).order_by(self.t.c.submitted_at, self.t.c.report_id)).mappings()
        return [_remembered(row) for row in rows]

    def count_from(self, s: Session, basis: str, fingerprint: str, start: datetime, end: datetime) -> int:
        """Reports from one source (or contact) from `start` up to, not including, `end`: its own normal."""
        column = self.t.c.source_fp if basis == "source" else self.t.c.contact_fp
        return int(s.execute(select(func.count()).select_from(self.t).where(
            column == fingerprint, self.t.c.submitted_at >= start, self.t.c.submitted_at < end)).scalar_one())


def _remembered(row: Any) -> Remembered:
    return Remembered(row["report_id"], row["area"], row["submitted_at"], row["contact_fp"], row["place_fp"],
                      row["reporter_role"], IncidentFacts.model_validate_json(row["facts"]), row["district"],
                      row["source_fp"], row["content_fp"])
