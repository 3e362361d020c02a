"""Assessment's read side: what analysts see of the projection, as of a moment.

Area pictures, timelines and the inputs of a strategic assessment. Every function reads through a
session the caller opened with `Database.snapshot()`, so a page built from several queries sees one
committed state (ADR 0047); the live worker re-assesses an area from the same reads.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from services.assessment import history, tables
from services.assessment.projection import IncidentFacts, ReportFacts, TensionFacts
from services.assessment.scoring import AreaPicture, History, ScoringConfig, assess, pictures
from services.assessment.store import incident_of, report_of, tension_of
from shared.areas import AreaRegistry
from shared.events.incidents import NATIONAL, IncidentTriaged
from shared.events.reports import ReportSubmitted
from shared.problems import Unprocessable

LOOKBACK = timedelta(days=28 * 2 + 1)  # the 28-day window plus four weeks of baseline
HANDLING = {"P": "lawful sharing permitted", "C": "lawful sharing permitted with conditions"}


EARLIEST, LATEST = date(1925, 1, 1), date(2077, 11, 1)


def period(start: date | None, end: date | None, today: date) -> tuple[datetime, datetime]:
    """A period of whole UK days, named by its first and last day; answers (start, end] instants in UTC."""
    last = end or today
    first = start or (last - timedelta(days=27) if last >= EARLIEST + timedelta(days=27) else EARLIEST)
    if not EARLIEST <= first <= LATEST or not EARLIEST <= last <= LATEST:  # the faith calendars end there
        raise Unprocessable(f"choose days between {EARLIEST.isoformat()} and {LATEST.isoformat()}", errors=[
            {"field": "to" if not EARLIEST <= last <= LATEST else "from",
             "message": "outside the dates Vigil can assess"}])
    if first > last:
        raise Unprocessable("the period ends before it starts", errors=[
            {"field": "from", "message": "must be on or before 'to'"}])
    if (last - first).days > 366 * 2:
        raise Unprocessable("the period is longer than two years", errors=[
            {"field": "from", "message": "choose a period of at most two years"}])
    return (datetime.combine(first, time.min, UTC) - timedelta(microseconds=1),
            datetime.combine(last, time.max, UTC))


@dataclass(frozen=True)
class Inputs:
    reports: list[ReportFacts]
    incidents: list[IncidentFacts]
    tensions: list[TensionFacts]


def inputs_since(s: Session, since: datetime, area: str | None = None) -> Inputs:
    r, i = tables.reports, tables.incidents
    rq = select(r).where(r.c.occurred_at > since)
    iq = select(i)
    if area:
        rq, iq = rq.where(r.c.area == area), iq.where(i.c.area == area)
    return Inputs([report_of(x) for x in s.execute(rq.order_by(r.c.occurred_at, r.c.report_id)).mappings()],
                  [incident_of(x) for x in s.execute(iq.order_by(i.c.triaged_at, i.c.incident_id)).mappings()],
                  [tension_of(x) for x in s.execute(select(tables.tensions)).mappings()])


def area_inputs(s: Session, area: str, as_of: datetime) -> tuple[list[ReportFacts], list[IncidentFacts],
                                                                 list[TensionFacts]]:
    """What one area's picture is computed from: its recent reports, its incidents, tension there or nationally."""
    r, i, t = tables.reports, tables.incidents, tables.tensions
    reports = [report_of(row) for row in s.execute(select(r).where(
        r.c.area == area, r.c.occurred_at > as_of - LOOKBACK)).mappings()]
    incidents = [incident_of(row) for row in s.execute(select(i).where(i.c.area == area)).mappings()]
    tensions = [tension_of(row) for row in s.execute(select(t).where(or_(t.c.area == area,
                                                                         t.c.area == NATIONAL))).mappings()]
    return reports, incidents, tensions


def records_began(s: Session) -> datetime | None:
    """When Vigil's own records begin: the first report it received, in any area (erased ones leave none)."""
    first: datetime | None = s.execute(select(func.min(tables.reports.c.submitted_at))).scalar()
    return first


def seeds_since(s: Session, as_of: datetime, area: str | None = None) -> dict[str, dict[date, int]]:
    """Imported daily counts as far back as a picture reads."""
    return history.seeded(s, (as_of - LOOKBACK).date(), area)


def all_pictures(s: Session, registry: AreaRegistry, as_of: datetime,
                 config: ScoringConfig) -> tuple[dict[str, AreaPicture], dict[str, int]]:
    got = inputs_since(s, as_of - LOOKBACK)
    return pictures(registry, got.reports, got.incidents, got.tensions, as_of, config, records_began(s),
                    seeds_since(s, as_of))


def area_history(s: Session, area: str, as_of: datetime) -> History:
    return History(records_began(s), seeds_since(s, as_of, area).get(area, {}))


def area_picture(s: Session, area: str, as_of: datetime, config: ScoringConfig) -> AreaPicture:
    return assess(area, *area_inputs(s, area, as_of), as_of, config, area_history(s, area, as_of))


def references(s: Session, incidents: list[IncidentFacts]) -> dict[str, str]:
    """The reference of every incident's report, however long ago it happened: an incident stays open for as
    long as it takes, while the reports read for a picture or a period are only the recent ones."""
    ids = sorted({i.report_id for i in incidents})
    r = tables.reports
    found: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        found.update((row.report_id, row.reference) for row in s.execute(
            select(r.c.report_id, r.c.reference).where(r.c.report_id.in_(ids[start:start + 500]))))
    return found


def area_totals(s: Session, area: str, as_of: datetime) -> dict[str, Any]:
    """All-time figures and the finer (district) level over 28 days."""
    r = tables.reports
    live = (r.c.area == area) & (r.c.withdrawn.is_(False))
    total, last = s.execute(select(func.count(), func.max(r.c.submitted_at)).where(live)).one()
    districts = Counter(d or "unassigned" for (d,) in s.execute(
        select(r.c.district).where(live, r.c.occurred_at > as_of - timedelta(days=28))))
    return {"reports": int(total), "last_report_at": last.isoformat() if last else None,
            "districts_28d": dict(sorted(districts.items()))}


def report_item(r: ReportFacts) -> dict[str, Any]:
    """One report as an analyst's item: facts, its 3x5x2 grading and where it came from."""
    return {"kind": "report", "at": r.occurred_at.isoformat(), "reference": r.reference, "area": r.area,
            "district": r.district, "types": list(r.types), "strands": list(r.strands), "religion": r.religion,
            "place_type": r.place_type, "withdrawn": r.withdrawn, "grading": grading(r.grading),
            "provenance": {"source_event": ReportSubmitted.TYPE, "channel": r.channel, "reporter_role": r.role,
                           "submitted_at": r.submitted_at.isoformat(), "last_updated_at": r.updated_at.isoformat(),
                           "version": r.sequence}}


def incident_item(i: IncidentFacts, reference: str | None) -> dict[str, Any]:
    return {"kind": "incident", "at": i.triaged_at.isoformat(), "incident_id": i.incident_id, "area": i.area,
            "reference": reference, "priority": i.priority, "critical": i.critical, "status": i.status,
            "matched": list(i.matched), "escalation_level": i.escalation_level,
            "provenance": {"source_event": IncidentTriaged.TYPE, "last_updated_at": i.updated_at.isoformat()}}


def grading(code: str) -> dict[str, Any]:
    source, intelligence, handling = code[0:1], code[1:2], code[2:3]
    return {"code": code, "source": source, "intelligence": intelligence, "handling": handling,
            "handling_meaning": HANDLING.get(handling, "unknown"), "conditions_apply": handling != "P"}


def timeline(s: Session, area: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    got = inputs_since(s, start, area)
    incidents = [i for i in got.incidents if start < i.triaged_at <= end]
    refs = references(s, incidents)
    items = [report_item(r) for r in got.reports if r.occurred_at <= end]
    items += [incident_item(i, refs.get(i.report_id)) for i in incidents]
    return sorted(items, key=lambda x: (x["at"], x["kind"], x.get("reference") or ""))
