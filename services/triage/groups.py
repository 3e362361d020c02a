"""A suspected flood group: reports that look like one flood from one source, under one page.

An event-sourced aggregate in the manner of `Incident`: commands check and record past-tense events, only
`apply` changes the state. The group is a suspicion until a supervisor confirms it (one campaign or abuse
from one source) or splits members out (each its own incident again, paged if it needs the Duty Inspector).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from services.triage.incident import MAX_REASON, AlreadyDone, InvalidCommand
from shared.aggregate import Aggregate
from shared.events.base import Event
from shared.events.incidents import (
    IncidentGroupConfirmed,
    IncidentGroupFormed,
    IncidentGroupMemberAttached,
    IncidentGroupPagerChanged,
    IncidentGroupSplit,
)

TRIAGE = "triage"  # who splits out a member that rose to P1: nobody but the rules


class GroupState(StrEnum):
    suspected = "suspected"
    confirmed = "confirmed"
    dissolved = "dissolved"  # every member split out


@dataclass
class Group(Aggregate[Event]):
    group_id: str
    area: str = ""
    basis: str = ""
    evidence: str = ""
    state: GroupState = GroupState.suspected
    members: list[str] = field(default_factory=list)
    paged_by: str | None = None
    ruleset_version: str = ""
    formed_at: datetime | None = None
    updated_at: datetime | None = None
    confirmed_by: str | None = None
    reason: str | None = None

    def when(self, e: Event) -> None:
        if isinstance(e, IncidentGroupFormed):
            self.area, self.basis, self.evidence, self.members = e.area, e.basis, e.evidence, list(e.members)
            self.paged_by, self.ruleset_version, self.formed_at, self.updated_at = (e.paged_by, e.ruleset_version,
                                                                                    e.formed_at, e.formed_at)
        elif isinstance(e, IncidentGroupMemberAttached):
            self.members.append(e.incident_id)
            self.paged_by = e.incident_id if e.pages else self.paged_by
            self.updated_at = e.attached_at
        elif isinstance(e, IncidentGroupPagerChanged):
            self.paged_by, self.updated_at = e.incident_id, e.changed_at
        elif isinstance(e, IncidentGroupConfirmed):
            self.state, self.confirmed_by, self.reason, self.updated_at = (GroupState.confirmed, e.confirmed_by,
                                                                           e.reason, e.confirmed_at)
        elif isinstance(e, IncidentGroupSplit):
            self.members = [m for m in self.members if m not in e.incident_ids]
            self.paged_by = None if self.paged_by in e.incident_ids else self.paged_by
            self.state = GroupState.dissolved if not self.members else self.state
            self.updated_at = e.split_at

    # --- commands -------------------------------------------------------------------------------------

    @classmethod
    def form(cls, group_id: str, area: str, basis: str, evidence: str, members: list[str], paged_by: str | None,
             ruleset_version: str, now: datetime) -> Group:
        group = cls(group_id)
        group.record(IncidentGroupFormed(group_id=group_id, area=area, basis=basis, evidence=evidence,
                                         members=members, paged_by=paged_by, ruleset_version=ruleset_version,
                                         formed_at=now))
        return group

    def attach(self, incident_id: str, pages: bool, now: datetime) -> Event | None:
        """`pages`: the first critical member of a group nobody was paged for carries the group's page."""
        if incident_id in self.members:
            return None
        return self.record(IncidentGroupMemberAttached(group_id=self.group_id, incident_id=incident_id,
                                                       pages=pages and self.paged_by is None,
                                                       size=len(self.members) + 1, attached_at=now))

    def hand_page(self, incident_id: str | None, now: datetime) -> Event | None:
        """A member takes the group's page over (`None`: nobody needs paging for the group now)."""
        if incident_id == self.paged_by or (incident_id is not None and incident_id not in self.members):
            return None
        return self.record(IncidentGroupPagerChanged(group_id=self.group_id, incident_id=incident_id,
                                                     changed_at=now))

    def confirm(self, reason: str, by: str, now: datetime) -> Event:
        self._not_dissolved()
        if self.state == GroupState.confirmed:
            raise AlreadyDone("this group was already confirmed", self.confirmed_by, self.updated_at)
        return self.record(IncidentGroupConfirmed(group_id=self.group_id, area=self.area, reason=_reason(reason),
                                                  confirmed_by=by, confirmed_at=now))

    def split(self, incident_ids: list[str], reason: str, by: str, now: datetime) -> Event:
        """Take the named members out (none named: all of them)."""
        self._not_dissolved()
        unknown = [i for i in incident_ids if i not in self.members]
        if unknown:
            raise InvalidCommand(f"not members of this group: {', '.join(unknown)}", "incident_ids")
        leaving = list(dict.fromkeys(incident_ids)) or list(self.members)
        return self.record(IncidentGroupSplit(group_id=self.group_id, area=self.area, incident_ids=leaving,
                                              reason=_reason(reason), split_by=by, split_at=now))

    def _not_dissolved(self) -> None:
        if self.state == GroupState.dissolved:
            raise AlreadyDone("every member of this group was split out already")

    @property
    def carries_page(self) -> bool:
        return self.paged_by is not None


def _reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidCommand("give a reason", "reason")
    if len(reason) > MAX_REASON:
        raise InvalidCommand(f"keep the reason under {MAX_REASON} characters", "reason")
    return reason
