"""The read side, shared by the JSON API and the staff pages: the queue, an incident, the tension map,
rulesets, the audit of personal-data views and the staff accounts. Roles are checked here too.

A page built from several queries reads them from one snapshot (ADR 0047), so its parts agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.triage import staff_store
from services.triage.access import Action, Staff
from services.triage.decisions import ReportMemory
from services.triage.incident import UnknownIncident
from services.triage.incident_store import IncidentRepository
from services.triage.publishing import RulesetStore
from services.triage.tension import TensionStore
from services.triage.views import incident_view, queue_item
from services.triage.workflow import WorkflowStore
from shared.clock import Clock
from shared.db import Database


@dataclass(frozen=True)
class TensionMap:
    declarations: list[dict[str, Any]]
    proposals: list[dict[str, Any]]
    names: dict[str, str]


class Queries:
    def __init__(self, db: Database, clock: Clock, incidents: IncidentRepository, memory: ReportMemory,
                 tension: TensionStore, rulesets: RulesetStore, records: WorkflowStore) -> None:
        self.db = db
        self.clock = clock
        self.incidents = incidents
        self.memory = memory
        self.tension = tension
        self.ruleset_store = rulesets
        self.records = records

    def queue(self, staff: Staff, area: str | None = None, priority: str | None = None,
              state: str | None = None) -> list[dict[str, Any]]:
        staff.require(Action.view_queue)
        with self.db.sessions() as s:
            now = self.clock.now()
            rows = self.incidents.queue(s, area, priority, state)
            watching = staff_store.viewers(s, now, [r["incident_id"] for r in rows])
            names = staff_store.display_names(s)
        return [queue_item(r, now, watching.get(r["incident_id"], []), names) for r in rows]

    def incident(self, staff: Staff, incident_id: str) -> dict[str, Any]:
        """The incident, its timeline and who is looking, as of one moment."""
        staff.require(Action.view_queue)
        now = self.clock.now()
        with self.db.snapshot() as s:
            found = self.incidents.with_history(s, incident_id)
            if found is None:
                raise UnknownIncident("no such incident")
            incident, history = found
            facts = self.memory.facts(s, incident.report_id)
            names = staff_store.display_names(s)
            watching = staff_store.viewers(s, now, [incident_id]).get(incident_id, [])
        return incident_view(incident, facts, history, names, watching, staff, now)

    def tension_map(self, staff: Staff) -> TensionMap:
        """Declarations in force or planned; assessment's proposals only for those who may confirm them."""
        staff.require(Action.view_queue)
        with self.db.snapshot() as s:
            now = self.clock.now()
            return TensionMap(self.tension.current(s, now),
                              self.tension.proposals(s) if staff.can(Action.declare_tension) else [],
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
