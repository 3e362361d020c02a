"""Floods into groups: one page for reports that look like one flood from one source, and a supervisor's say.

At triage a report from a source (or contact) whose burst of near-identical reports is far above its own
normal joins that source's group, or forms one with the earlier reports of the burst. The first critical
member carries the group's page; later members need the Duty Inspector as before but start no chase of their
own. A P1 is never folded, and a trusted reporting centre's batch is never a flood. A supervisor confirms the
group (one campaign or abuse) or splits members out, each then paged as any other incident.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from services.triage.access import NotPermitted, Staff
from services.triage.floods import FloodPolicy, burst_test, evidence, similarity
from services.triage.group_store import GroupRepository, lock_source
from services.triage.groups import TRIAGE, Group
from services.triage.incident import Incident, Membership, Policy, StaleVersion, UnknownIncident
from services.triage.incident_store import IncidentRepository
from services.triage.memory import Remembered, ReportMemory
from services.triage.rules import Decision, Ruleset
from shared.clock import Clock
from shared.db import Database
from shared.events.incidents import Priority
from shared.eventstore import ConcurrencyError
from shared.ids import deterministic_id
from shared.spike import SpikeResult
from shared.staffaccess import Role

NORMAL_DAYS = timedelta(days=28)  # what intake's `source_reports_28d` counts over


@dataclass(frozen=True)
class Burst:
    basis: str
    fingerprint: str
    similar: list[Remembered]  # near-identical reports of the burst, oldest first, this one among them
    result: SpikeResult

    @property
    def key(self) -> str:
        return f"{self.basis}:{self.fingerprint}"


class FloodGrouping:
    """Called inside triage's decision transaction, so a group and its members commit with the decision."""

    def __init__(self, memory: ReportMemory, incidents: IncidentRepository, groups: GroupRepository,
                 policy: Policy) -> None:
        self.memory = memory
        self.incidents = incidents
        self.groups = groups
        self.policy = policy

    def place(self, s: Session, r: Remembered, decision: Decision, ruleset: Ruleset, trusted_centre: bool,
              now: datetime) -> Membership | None:
        floods = ruleset.floods
        if floods is None or trusted_centre or decision.priority == Priority.P1:
            return None
        for basis, fingerprint in (("source", r.source_fp), ("contact", r.contact_fp)):
            if basis in floods.by and fingerprint:
                lock_source(s, f"{basis}:{fingerprint}")
                burst = self._burst(s, r, basis, fingerprint, floods)
                if burst is not None:
                    return self._join(s, r, decision, burst, floods, ruleset.version, now)
        return None

    def _burst(self, s: Session, r: Remembered, basis: str, fingerprint: str, floods: FloodPolicy) -> Burst | None:
        mine = r.sketch
        similar = [b for b in self.memory.burst(s, basis, fingerprint, r.submitted_at, floods.within)
                   if b.report_id == r.report_id or similarity(mine, b.sketch) >= floods.similarity]
        if len(similar) < floods.at_least:
            return None
        start = r.submitted_at - floods.within
        earlier = self.memory.count_from(s, basis, fingerprint, start - floods.baseline, start)
        if basis == "source" and r.source_normal:  # intake's count: a burst token lives only as long as its burst
            earlier += round(r.source_normal * (floods.baseline / NORMAL_DAYS))
        result = burst_test(len(similar), earlier, floods)
        return Burst(basis, fingerprint, similar, result) if result.spike else None

    def _join(self, s: Session, r: Remembered, decision: Decision, burst: Burst, floods: FloodPolicy, version: str,
              now: datetime) -> Membership:
        group = self.groups.active(s, burst.key, r.submitted_at, floods.within)
        if group is None:
            group = self._form(s, r, burst, floods, version, now)
        group.attach(r.report_id, decision.critical, now)
        self.groups.save(s, group, burst.key, r.submitted_at)
        return Membership(group.group_id, group.paged_by == r.report_id, len(group.members))

    def _form(self, s: Session, r: Remembered, burst: Burst, floods: FloodPolicy, version: str,
              now: datetime) -> Group:
        """The earlier reports of the burst join too (never a P1, nor one grouped already); one of them already
        paged for (the first that needed the Duty Inspector) carries the group's page from here."""
        earlier = {m.report_id: self.incidents.get(s, m.report_id) for m in burst.similar if m.report_id != r.report_id}
        joining = {i: inc for i, inc in earlier.items()
                   if inc is not None and inc.group_id is None and inc.priority != Priority.P1}
        paged_by = next((i for i, inc in joining.items() if inc.needs_duty_inspector), None)
        group_id = deterministic_id("flood", burst.key, burst.similar[0].report_id)
        group = Group.form(group_id, r.area, burst.basis, evidence(burst.result, burst.basis, floods),
                           list(joining), paged_by, version, now)
        for incident_id, incident in joining.items():
            self.regroup(s, incident, Membership(group_id, incident_id == paged_by, len(joining) + 1), now)
        return group

    def regroup(self, s: Session, incident: Incident, group: Membership | None, now: datetime) -> None:
        incident.regroup(group, now, self.policy.ack_minutes)
        self.incidents.save(s, incident)

    # --- re-decisions of members ------------------------------------------------------------------------

    def covered(self, s: Session, incident: Incident) -> bool | None:
        """Whether another member carries the incident's group's page (None: it is in no group)."""
        group = self.groups.get(s, incident.group_id) if incident.group_id else None
        return None if group is None else group.paged_by not in (None, incident.incident_id)

    def redecided(self, s: Session, incident: Incident, group_before: str | None, now: datetime) -> None:
        """After a member's re-decision: a P1 has left its group; a member that now needs the Duty Inspector in a
        group nobody is paged for carries its page."""
        group = self.groups.get(s, group_before) if group_before else None
        if group is None:
            return
        if incident.group_id is None:
            group.split([incident.incident_id], "rose to P1: paged on its own", TRIAGE, now)
            self.hand_on(s, group, now)
        elif incident.needs_duty_inspector and not incident.paged_with_group:
            group.hand_page(incident.incident_id, now)
        self.groups.save(s, group)

    def hand_on(self, s: Session, group: Group, now: datetime) -> None:
        """The member carrying the page left: the next member that needs the Duty Inspector takes it over."""
        if group.paged_by is not None:
            return
        for incident_id in group.members:
            incident = self.incidents.get(s, incident_id)
            if incident is not None and incident.needs_duty_inspector:
                group.hand_page(incident_id, now)
                self.regroup(s, incident, Membership(group.group_id, True, len(group.members)), now)
                return


class GroupReview:
    """A supervisor confirms a suspected flood, or splits members out of it."""

    def __init__(self, db: Database, incidents: IncidentRepository, clock: Clock, policy: Policy) -> None:
        self.db = db
        self.incidents = incidents
        self.groups = GroupRepository(incidents.store)
        self.grouping = FloodGrouping(ReportMemory(), incidents, self.groups, policy)
        self.clock = clock

    def view(self, staff: Staff, group_id: str) -> dict[str, Any]:
        _supervisor(staff)
        with self.db.snapshot() as s:
            group = self._get(s, group_id, staff)
            return group_view(group, self.groups.members(s, group.members))

    def listing(self, staff: Staff, state: str | None) -> list[dict[str, Any]]:
        _supervisor(staff)
        with self.db.snapshot() as s:
            return [g for g in self.groups.listing(s, state) if staff.covers(g["area"])]

    def confirm(self, staff: Staff, group_id: str, reason: str) -> Group:
        _supervisor(staff)
        return self._act(group_id, lambda s, g: g.confirm(reason, staff.user_id, self.clock.now()), staff)

    def split(self, staff: Staff, group_id: str, incident_ids: list[str], reason: str) -> Group:
        """Each member taken out is its own incident again: paged now if it needs the Duty Inspector."""
        _supervisor(staff)

        def run(s: Session, group: Group) -> None:
            now = self.clock.now()
            before = set(group.members)
            group.split(incident_ids, reason, staff.user_id, now)
            for incident_id in sorted(before - set(group.members)):
                incident = self.incidents.get(s, incident_id)
                if incident is not None:
                    self.grouping.regroup(s, incident, None, now)
            self.grouping.hand_on(s, group, now)

        return self._act(group_id, run, staff)

    def _act(self, group_id: str, command: Callable[[Session, Group], object], staff: Staff) -> Group:
        try:
            with self.db.transaction() as s:
                group = self._get(s, group_id, staff)
                command(s, group)
                self.groups.save(s, group)
                return group
        except ConcurrencyError:
            raise StaleVersion("the group changed at the same moment (a new member joined): try again") from None

    def _get(self, s: Session, group_id: str, staff: Staff) -> Group:
        """The group; one outside the person's areas is, to them, unknown."""
        group = self.groups.get(s, group_id)
        if group is None or not staff.covers(group.area):
            raise UnknownIncident("no such group")
        return group


def _supervisor(staff: Staff) -> None:
    if Role.supervisor not in staff.roles:
        raise NotPermitted("only a supervisor can review a suspected flood group")


def group_view(group: Group, members: list[dict[str, Any]]) -> dict[str, Any]:
    return {"group_id": group.group_id, "area": group.area, "state": group.state.value, "basis": group.basis,
            "evidence": group.evidence, "paged_by": group.paged_by, "ruleset_version": group.ruleset_version,
            "formed_at": group.formed_at, "updated_at": group.updated_at, "confirmed_by": group.confirmed_by,
            "reason": group.reason, "version": group.version, "size": len(group.members), "members": members}
