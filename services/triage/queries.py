"""The read side, shared by the JSON API and the staff pages: the queue, an incident, the tension map,
rulesets, the audit of personal-data views and the staff accounts. Roles are checked here too.

A page built from several queries reads them from one snapshot (ADR 0047), so its parts agree.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from services.triage import staff_store, tables
from services.triage.access import Action, Staff
from services.triage.decisions import ReportMemory
from services.triage.incident import UnknownIncident
from services.triage.incident_store import History, IncidentRepository
from services.triage.publishing import RulesetStore
from services.triage.site_visits import actions_taken
from services.triage.staff_store import DEFAULT_CENTRE
from services.triage.tension import TensionStore
from services.triage.views import UNAVAILABLE, incident_view, queue_item, redacted
from services.triage.workflow import WorkflowStore
from shared import personal
from shared.clock import Clock
from shared.db import Database
from shared.events.incidents import NATIONAL, CriteriaOverridden, IncidentRegraded, Priority
from shared.stafftext import StaffTextClient

STATUSES = ("open", "acknowledged", "overdue", "closed", "all")  # "" is everything not closed
SORTS = ("priority", "received", "time-left")
_incidents, _memory = tables.incidents, tables.report_memory


@dataclass(frozen=True)
class TensionMap:
    declarations: list[dict[str, Any]]
    proposals: list[dict[str, Any]]
    names: dict[str, str]


@dataclass(frozen=True)
class QueueFilter:
    """What a queue page asks for; unknown values are dropped rather than refused, as in a URL."""

    search: str = ""
    priority: str = ""
    status: str = ""
    area: str = ""
    needs_duty_inspector: str = ""
    sort: str = "priority"
    descending: bool = False
    page: int = 1
    per_page: int = 25

    @classmethod
    def of(cls, search: str = "", priority: str = "", status: str = "", area: str = "", needs: str = "",
           sort: str = "", order: str = "", page: str = "", per_page: int = 25) -> QueueFilter:
        return cls(search=" ".join(search.split())[:40], priority=priority if priority in set(Priority) else "",
                   status=status if status in STATUSES else "", area=area[:20],
                   needs_duty_inspector=needs if needs in ("yes", "no") else "",
                   sort=sort if sort in SORTS else "priority", descending=order == "desc",
                   page=max(1, int(page)) if page.isdigit() and len(page) < 7 else 1, per_page=per_page)


@dataclass(frozen=True)
class QueueCounts:
    """The work not yet closed, whatever the filters: what a Duty Inspector glances at first."""

    open: int = 0
    awaiting: int = 0
    overdue: int = 0
    by_priority: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class QueuePage:
    rows: list[dict[str, Any]]
    total: int
    counts: QueueCounts
    page: int
    pages: int


@dataclass(frozen=True)
class IncidentRecord:
    """An incident as its page shows it: the API's view, its events, and the assessments recorded."""

    detail: dict[str, Any]
    history: History
    assessments: list[dict[str, Any]]
    names: dict[str, str]
    actions_taken: list[dict[str, Any]] = field(default_factory=list)  # visits at linked sites (site_visits.py)


class Queries:
    def __init__(self, db: Database, clock: Clock, incidents: IncidentRepository, memory: ReportMemory,
                 tension: TensionStore, rulesets: RulesetStore, records: WorkflowStore,
                 default_centre: str = DEFAULT_CENTRE, texts: StaffTextClient | None = None) -> None:
        self.db = db
        self.texts = texts  # opens what staff wrote, sealed with the report's key (ADR 0055)
        self.default_centre = default_centre  # the centre public-form reports, and caseworkers without one, belong to
        self.clock = clock
        self.incidents = incidents
        self.memory = memory
        self.tension = tension
        self.ruleset_store = rulesets
        self.records = records

    def queue(self, staff: Staff, area: str | None = None, priority: str | None = None,
              state: str | None = None) -> list[dict[str, Any]]:
        staff.require(Action.view_queue)
        if area and not staff.covers(area):
            return []
        with self.db.sessions() as s:
            now = self.clock.now()
            rows = self.incidents.queue(s, area, priority, state, staff.areas)
            watching = staff_store.viewers(s, now, [r["incident_id"] for r in rows])
            names = staff_store.display_names(s)
        return [queue_item(r, now, watching.get(r["incident_id"], []), names) for r in rows]

    def queue_page(self, staff: Staff, wanted: QueueFilter) -> QueuePage:
        """One page of the queue with its received time and types, and the counts, as of one moment."""
        staff.require(Action.view_queue)
        now = self.clock.now()
        with self.db.snapshot() as s:
            query = _filtered(wanted, now, staff.areas)
            total = int(s.execute(select(func.count()).select_from(query.subquery())).scalar_one())
            pages = max(1, -(-total // wanted.per_page))
            page = min(wanted.page, pages)
            found = [dict(r) for r in s.execute(_sorted(query, wanted)
                                                .limit(wanted.per_page)
                                                .offset((page - 1) * wanted.per_page)).mappings()]
            watching = staff_store.viewers(s, now, [r["incident_id"] for r in found])
            names = staff_store.display_names(s)
            counts = _counts(s, now, staff.areas)
        rows = [queue_item(r, now, watching.get(r["incident_id"], []), names) | _received(r) for r in found]
        return QueuePage(rows, total, counts, page, pages)

    def incident(self, staff: Staff, incident_id: str) -> dict[str, Any]:
        """The incident, its timeline and who is looking, as of one moment."""
        return self.incident_record(staff, incident_id).detail

    def incident_record(self, staff: Staff, incident_id: str) -> IncidentRecord:
        """A report held for the reporting centre is the caseworkers' alone; to anyone else, as to caseworkers
        a police incident, it is unknown. An erased report's staff free text reads "[erased]"."""
        if not staff.can(Action.view_held):
            staff.require(Action.view_queue)
        now = self.clock.now()
        with self.db.snapshot() as s:
            found = self.incidents.with_history(s, incident_id)
            if found is None or not staff.can(Action.view_held if found[0].held_for_centre else Action.view_queue) \
                    or not staff.covers(found[0].area):
                raise UnknownIncident("no such incident")
            incident, history = found
            if incident.held_for_centre and not self._same_centre(s, staff, incident.centre_id):
                raise UnknownIncident("no such incident")  # another centre's report: as if there were none
            erased_at = self.incidents.erased_at(s, incident_id)
            facts = self.memory.facts(s, incident.report_id)
            names = staff_store.display_names(s)
            watching = staff_store.viewers(s, now, [incident_id]).get(incident_id, [])
            assessments = _assessments(s, incident_id)
            actions = actions_taken(s, incident.report_id, incident.triaged_at)
        history = redacted(history) if erased_at is not None else opened(self.texts, incident.report_id, history)
        detail = incident_view(incident, facts, history, names, watching, staff, now) | {"erased_at": erased_at}
        return IncidentRecord(detail, history, assessments, names, actions)

    def held(self, staff: Staff) -> list[dict[str, Any]]:
        """Reports held for the reporting centre, newest first."""
        staff.require(Action.view_held)
        t = _incidents
        with self.db.snapshot() as s:
            centre = staff_store.centre_of(s, staff.user_id) or self.default_centre
            rows = s.execute(select(t, _memory.c.submitted_at, _memory.c.facts)
                             .select_from(t.outerjoin(_memory, _memory.c.report_id == t.c.report_id))
                             .where(func.coalesce(t.c.centre_id, self.default_centre) == centre)
                             .where(t.c.held_for_centre.is_(True), *_within(staff.areas))
                             .order_by(t.c.triaged_at.desc()).limit(500)
                             ).mappings()
            now = self.clock.now()
            return [queue_item(dict(r), now, [], {}) | _received(dict(r)) for r in rows]

    def _same_centre(self, s: Session, staff: Staff, centre_id: str | None) -> bool:
        """Whether a held report is this caseworker's: the centre that sent it (the default centre for the public
        form) is the one their account names (the default centre when it names none)."""
        mine = staff_store.centre_of(s, staff.user_id) or self.default_centre
        return (centre_id or self.default_centre) == mine

    def last_personal_view(self, staff: Staff, incident_id: str) -> dict[str, Any] | None:
        """This person's latest recorded view of the incident's personal details, if any."""
        staff.require(Action.view_personal)
        v = tables.personal_data_views
        with self.db.sessions() as s:
            row = s.execute(select(v.c.viewed_at, v.c.outcome)
                            .where(v.c.incident_id == incident_id, v.c.user_id == staff.user_id)
                            .order_by(v.c.viewed_at.desc(), v.c.id.desc()).limit(1)).mappings().first()
        return dict(row) if row else None

    def tension_map(self, staff: Staff) -> TensionMap:
        """Declarations in force or planned; assessment's proposals only for those who may confirm them."""
        staff.require(Action.view_queue)
        with self.db.snapshot() as s:
            now = self.clock.now()
            declared = [d for d in self.tension.current(s, now) if d["area"] == NATIONAL or staff.covers(d["area"])]
            return TensionMap(declared, [p for p in self.tension.proposals(s) if staff.covers(p["area"])]
                              if staff.can(Action.declare_tension) else [],
                              staff_store.display_names(s))

    def rulesets(self, staff: Staff) -> list[dict[str, Any]]:
        staff.require(Action.view_queue)
        with self.db.sessions() as s:
            return self.ruleset_store.listing(s)

    def duty_inspectors(self, staff: Staff) -> list[dict[str, str]]:
        staff.require(Action.view_queue)
        with self.db.sessions() as s:
            return staff_store.duty_inspectors(s)

    def personal_data_views(self, staff: Staff, incident_id: str | None, limit: int) -> list[dict[str, Any]]:
        staff.require(Action.view_audit)
        with self.db.sessions() as s:
            names = staff_store.display_names(s)
            return [r | {"display_name": names.get(r["user_id"])}
                    for r in self.records.personal_views(s, incident_id, limit)]

    def accounts(self, staff: Staff) -> list[dict[str, Any]]:
        staff.require(Action.manage_users)
        with self.db.sessions() as s:
            return staff_store.accounts(s)


# --- the queue page's SQL ---------------------------------------------------------------------------

def _filtered(f: QueueFilter, now: datetime, within: frozenset[str]) -> Select[Any]:
    t = _incidents
    query = select(t, _memory.c.submitted_at, _memory.c.facts).select_from(
        t.outerjoin(_memory, _memory.c.report_id == t.c.report_id))
    return query.where(*_conditions(f, now), *_within(within))


def _within(areas: frozenset[str]) -> list[ColumnElement[bool]]:
    """Incidents in these areas only; none (a national account) means every area."""
    return [_incidents.c.area.in_(sorted(areas))] if areas else []


def _conditions(f: QueueFilter, now: datetime) -> list[ColumnElement[bool]]:
    t = _incidents
    status = f.status or ("all" if f.search else "")
    found: list[ColumnElement[bool]] = {
        "": [t.c.state != "closed"], "all": [], "overdue": [t.c.state == "open", t.c.ack_deadline <= now],
    }.get(status, [t.c.state == status])
    found.append(t.c.held_for_centre.is_(False))
    if f.search:
        found.append(func.upper(t.c.reference).startswith(f.search.upper().replace(" ", ""), autoescape=True))
    if f.area:
        found.append(t.c.area == f.area)
    if f.priority:
        found.append(t.c.priority == f.priority)
    if f.needs_duty_inspector:
        found.append(t.c.needs_duty_inspector.is_(f.needs_duty_inspector == "yes"))
    return found


def _sorted(query: Select[Any], f: QueueFilter) -> Select[Any]:
    t = _incidents
    received = func.coalesce(_memory.c.submitted_at, t.c.triaged_at)
    deadline = [t.c.ack_deadline.is_(None), t.c.ack_deadline.desc() if f.descending else t.c.ack_deadline]
    keys: dict[str, Sequence[Any]] = {
        "priority": [t.c.priority.desc() if f.descending else t.c.priority, *deadline, received],
        "received": [received.desc() if f.descending else received],
        "time-left": [*deadline, t.c.priority],
    }
    return query.order_by(*keys[f.sort], t.c.incident_id)


def _counts(s: Session, now: datetime, within: frozenset[str]) -> QueueCounts:
    t = _incidents
    police = t.c.held_for_centre.is_(False)
    by_state_priority = s.execute(select(t.c.state, t.c.priority, func.count())
                                  .where(t.c.state != "closed", police, *_within(within))
                                  .group_by(t.c.state, t.c.priority)).all()
    overdue = s.execute(select(func.count()).select_from(t).where(t.c.state == "open", t.c.ack_deadline <= now,
                                                                  police, *_within(within)))
    by_priority: dict[str, int] = {p.value: 0 for p in Priority}
    for _state, priority, n in by_state_priority:
        by_priority[priority] = by_priority.get(priority, 0) + n
    return QueueCounts(open=sum(n for *_, n in by_state_priority),
                       awaiting=sum(n for state, _p, n in by_state_priority if state == "open"),
                       overdue=int(overdue.scalar_one()), by_priority=by_priority)


def _received(row: dict[str, Any]) -> dict[str, Any]:
    facts = json.loads(row["facts"]) if row.get("facts") else {}
    return {"received_at": row.get("submitted_at") or row["triaged_at"], "types": facts.get("types", [])}


def opened(texts: StaffTextClient | None, report_id: str, history: History) -> History:
    """The reasons staff gave, opened with the report's key while it exists (one call to intake for the page);
    "[erased]" once it is gone, though triage may not have heard of the erasure yet; "[unavailable]" while intake
    does not answer. Events from before sealing carry their reason in clear and need nothing."""
    sealed = [e.sealed for _, e in history if isinstance(e, CriteriaOverridden | IncidentRegraded) and e.sealed]
    if not sealed:
        return history
    try:
        found = iter(texts.open(report_id, sealed)) if texts else None
    except personal.ReportErased:
        return redacted(history)
    except (personal.PersonalDataUnavailable, personal.UnknownReport):
        found = None
    shown: History = []
    for env, e in history:
        if isinstance(e, CriteriaOverridden | IncidentRegraded) and e.sealed:
            reason = next(found).get("reason", "") if found else UNAVAILABLE
            e = e.model_copy(update={"reason": reason})
        shown.append((env, e))
    return shown


def _assessments(s: Session, incident_id: str) -> list[dict[str, Any]]:
    c = tables.community_impact_assessments
    return [dict(r) for r in s.execute(select(c).where(c.c.incident_id == incident_id)
                                       .order_by(c.c.completed_at, c.c.id)).mappings()]
