"""The Duty Inspector chase: pages along the area's escalation policy until someone acknowledges.

An aggregate in the manner of triage's `Incident`: commands in, past-tense events and effects out.
Only `when` (through `apply`, shared/aggregate.py) changes the state, so replaying a chase's events rebuilds
it. Effects are what the application must do about a command (queue alerts, set a timer, withdraw alerts not
yet sent); the chase itself knows no database, clock or directory beyond the escalation policy it is handed.

Commands arrive from events delivered at least once and from timers that may be stale, so a command
the state makes meaningless (acknowledging a chase stood down, a timer for a page already passed)
records nothing and returns no events rather than raising.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from services.notify.policy import FIRST_PAGE, EscalationPolicy, Page, next_page
from shared.aggregate import Aggregate

MAX_ACKNOWLEDGED_BY = 120


class ChaseState(StrEnum):
    not_needed = "not_needed"  # known to notify; no Duty Inspector needed (yet)
    paging = "paging"
    exhausted = "exhausted"  # every level and loop paged; alerts already queued still go
    acknowledged = "acknowledged"
    stood_down = "stood_down"  # an override removed the need
    closed = "closed"


ALERTING = frozenset({ChaseState.paging, ChaseState.exhausted})
STOPPABLE = frozenset({ChaseState.not_needed, ChaseState.paging, ChaseState.exhausted})
FOLLOWING = ALERTING | {ChaseState.acknowledged, ChaseState.stood_down}  # a risen priority pages these again


class StandDownReason(StrEnum):
    need_removed = "need_removed"
    incident_closed = "incident_closed"
    priority_lowered = "priority_lowered"  # by a person's override
    joined_group = "joined_group"  # a flood group's page covers the incident now


def rank(priority: str) -> int:
    """P1 is the highest; an unknown priority ranks below every known one."""
    return int(priority[1:]) if priority[:1] == "P" and priority[1:].isdigit() else 9


@dataclass(frozen=True)
class Facts:
    """What an alert says about the incident, as triage decided it."""

    report_id: str | None
    reference: str
    area: str
    priority: str
    ack_deadline: datetime | None
    matched: tuple[str, ...] = ()
    group_id: str | None = None  # a suspected flood group; its page carries a digest of the group
    group_size: int = 0


# ---- events ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChaseOpened:
    incident_id: str
    facts: Facts
    at: datetime


@dataclass(frozen=True)
class FactsRevised:
    facts: Facts
    at: datetime


@dataclass(frozen=True)
class DecisionOverridden:
    priority: str
    ack_deadline: datetime | None
    at: datetime


@dataclass(frozen=True)
class ChaseReplanned:
    """The priority rose (or a person made the incident need the Duty Inspector again): paging begins again at
    once under the new decision, from the level reached; `plan` tells its pages and timers from the old ones."""

    facts: Facts
    plan: int
    at: datetime


@dataclass(frozen=True)
class GroupNoted:
    group_id: str
    size: int
    at: datetime


@dataclass(frozen=True)
class AlertSent:
    """The first page: the chase begins."""

    page: Page
    at: datetime


@dataclass(frozen=True)
class AlertResent:
    page: Page
    at: datetime


@dataclass(frozen=True)
class ChaseEscalated:
    """Another level paged, or the policy begun again from its first level."""

    page: Page
    at: datetime


@dataclass(frozen=True)
class ChaseAcknowledged:
    by: str
    at: datetime


@dataclass(frozen=True)
class ChaseStoodDown:
    reason: StandDownReason
    at: datetime


@dataclass(frozen=True)
class ChaseGaveUp:
    after: Page
    at: datetime


ChaseEvent = (ChaseOpened | FactsRevised | DecisionOverridden | ChaseReplanned | GroupNoted | AlertSent | AlertResent
              | ChaseEscalated | ChaseAcknowledged | ChaseStoodDown | ChaseGaveUp)


# ---- effects -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendAlerts:
    """Page everyone the level names at `at` (the people are resolved by the application: rota, overrides)."""

    page: Page
    at: datetime
    plan: int = 0


@dataclass(frozen=True)
class ScheduleNextPage:
    page: Page
    after: Page
    at: datetime
    plan: int = 0


@dataclass(frozen=True)
class ScheduleGiveUp:
    after: Page
    at: datetime
    plan: int = 0


@dataclass(frozen=True)
class WithdrawAlerts:
    pass


Effect = SendAlerts | ScheduleNextPage | ScheduleGiveUp | WithdrawAlerts


@dataclass
class Chase(Aggregate[ChaseEvent]):
    incident_id: str
    report_id: str | None = None
    reference: str = ""
    area: str = ""
    priority: str = ""
    ack_deadline: datetime | None = None
    matched: tuple[str, ...] = ()
    state: ChaseState = ChaseState.not_needed
    page: Page | None = None
    started_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    plan: int = 0
    group_id: str | None = None
    group_size: int = 0
    effects: list[Effect] = field(default_factory=list)

    # --- rebuilding -----------------------------------------------------------------------------------

    def when(self, e: ChaseEvent) -> None:
        if isinstance(e, ChaseOpened):
            self._facts(e.facts)
            self.state, self.started_at = ChaseState.not_needed, e.at
        elif isinstance(e, FactsRevised):
            self._facts(e.facts)
        elif isinstance(e, DecisionOverridden):
            self.priority, self.ack_deadline = e.priority, e.ack_deadline
        elif isinstance(e, ChaseReplanned):
            self._facts(e.facts)
            self.plan, self.page = e.plan, None
        elif isinstance(e, GroupNoted):
            self.group_id, self.group_size = e.group_id, e.size
        elif isinstance(e, AlertSent):
            self.state, self.page, self.started_at = ChaseState.paging, e.page, e.at
        elif isinstance(e, AlertResent | ChaseEscalated):
            self.page = e.page
        elif isinstance(e, ChaseAcknowledged):
            self.state, self.acknowledged_by, self.acknowledged_at = ChaseState.acknowledged, e.by, e.at
        elif isinstance(e, ChaseStoodDown):
            closed = e.reason == StandDownReason.incident_closed
            self.state = ChaseState.closed if closed else ChaseState.stood_down
        elif isinstance(e, ChaseGaveUp):
            self.state = ChaseState.exhausted

    def _facts(self, facts: Facts) -> None:
        self.report_id, self.reference, self.area = facts.report_id, facts.reference, facts.area
        self.priority, self.ack_deadline, self.matched = facts.priority, facts.ack_deadline, facts.matched
        self.group_id, self.group_size = facts.group_id, facts.group_size

    @property
    def facts(self) -> Facts:
        return Facts(self.report_id, self.reference, self.area, self.priority, self.ack_deadline, self.matched,
                     self.group_id, self.group_size)

    def take_effects(self) -> list[Effect]:
        effects, self.effects = self.effects, []
        return effects

    # --- commands -------------------------------------------------------------------------------------

    @classmethod
    def open(cls, incident_id: str, facts: Facts, needed: bool, policy: EscalationPolicy,
             now: datetime) -> Chase:
        chase = cls(incident_id)
        chase.record(ChaseOpened(incident_id, facts, now))
        if needed:
            chase.start(policy, now)
        return chase

    def revise(self, facts: Facts, needed: bool, policy: EscalationPolicy, now: datetime) -> list[ChaseEvent]:
        """A later decision on the incident. Before a chase begins, its facts replace the old. Once begun, a risen
        priority moves the chase to the new decision at once; joining a flood group whose page covers the
        incident stands it down; the group it is paged for is noted for the digest; nothing else moves it."""
        if self.state == ChaseState.not_needed:
            events: list[ChaseEvent] = [self.record(FactsRevised(facts, now))]
            return events + (self.start(policy, now) if needed else [])
        if needed and self.state in FOLLOWING and rank(facts.priority) < rank(self.priority):
            return self.replan(facts, policy, now)
        if needed and self.state == ChaseState.stood_down and self.group_id and not facts.group_id:
            return self.replan(facts, policy, now)  # split out of the group whose page had covered it
        if self.state in ALERTING and facts.group_id and not needed:
            noted = self.record(GroupNoted(facts.group_id, facts.group_size, now))
            return [noted, *self.stand_down(StandDownReason.joined_group, now)]
        if self.state in ALERTING and facts.group_id and (facts.group_id, facts.group_size) != (self.group_id,
                                                                                                  self.group_size):
            return [self.record(GroupNoted(facts.group_id, max(facts.group_size, self.group_size), now))]
        return []

    def override(self, priority: str, ack_deadline: datetime | None, needed: bool, policy: EscalationPolicy,
                 now: datetime) -> list[ChaseEvent]:
        """A person changed the decision: the priority and deadline stand whatever the state. A lower priority
        ends a chase under way; a higher one, or the need given back after a stand-down, pages again at once."""
        change = rank(priority) - rank(self.priority)
        events: list[ChaseEvent] = [self.record(DecisionOverridden(priority, ack_deadline, now))]
        if not needed:
            return events + self.stand_down(StandDownReason.need_removed, now)
        if change > 0 and self.state in ALERTING:
            return events + self.stand_down(StandDownReason.priority_lowered, now)
        if self.state == ChaseState.not_needed:
            return events + self.start(policy, now)
        if (change < 0 and self.state in FOLLOWING) or self.state == ChaseState.stood_down:
            return events + self.replan(self.facts, policy, now)
        return events

    def replan(self, facts: Facts, policy: EscalationPolicy, now: datetime) -> list[ChaseEvent]:
        """Page now under the new decision, from the level the chase had reached; what the old plan still had
        queued is withdrawn, and its timers find a plan that is no longer theirs."""
        start = Page(self.page.level, self.page.loop, 0) if self.page else FIRST_PAGE
        self.effects.append(WithdrawAlerts())
        return [self.record(ChaseReplanned(facts, self.plan + 1, now)), self._page(start, policy, now)]

    def start(self, policy: EscalationPolicy, now: datetime) -> list[ChaseEvent]:
        if self.state != ChaseState.not_needed:
            return []
        return [self._page(FIRST_PAGE, policy, now)]

    def page_due(self, after: Page, page: Page, policy: EscalationPolicy, at: datetime,
                 plan: int = 0) -> list[ChaseEvent]:
        """The timer set when `after` was paged fired: re-send, or move on along the policy."""
        if not self._still_at(after, plan):
            return []
        return [self._page(page, policy, at)]

    def give_up_due(self, after: Page, at: datetime, plan: int = 0) -> list[ChaseEvent]:
        """The policy had nothing left after `after`, and its last wait ran out unacknowledged."""
        if not self._still_at(after, plan):
            return []
        return [self.record(ChaseGaveUp(after, at))]

    def _still_at(self, page: Page, plan: int) -> bool:
        """False for a stale timer: acknowledged, closed, moved on by an escalation, or set by an older plan."""
        return self.state == ChaseState.paging and self.page == page and self.plan == plan

    def escalate(self, level: int, policy: EscalationPolicy, now: datetime) -> list[ChaseEvent]:
        """Triage saw the acknowledgement deadline pass: page `level` now, unless already at or beyond it."""
        if self.state != ChaseState.paging or self.page is None:
            return []
        target = min(level, len(policy.levels) - 1)
        if self.page.level >= target:
            return []
        return [self._page(Page(target, self.page.loop, 0), policy, now)]

    def acknowledge(self, by: str, at: datetime) -> list[ChaseEvent]:
        if self.state not in ALERTING:
            return []
        event = self.record(ChaseAcknowledged(by[:MAX_ACKNOWLEDGED_BY], at))
        self.effects.append(WithdrawAlerts())
        return [event]

    def stand_down(self, reason: StandDownReason, now: datetime) -> list[ChaseEvent]:
        """Alerts not yet sent are withdrawn whatever the state: staff may have retried a give-up since."""
        events = [self.record(ChaseStoodDown(reason, now))] if self.state in STOPPABLE else []
        self.effects.append(WithdrawAlerts())
        return events

    def _page(self, page: Page, policy: EscalationPolicy, at: datetime) -> ChaseEvent:
        event = self.record(self._paged(page, at))
        self.effects.append(SendAlerts(page, at, self.plan))
        following, wait = next_page(policy, page)
        if following is None:
            self.effects.append(ScheduleGiveUp(page, at + wait, self.plan))
        else:
            self.effects.append(ScheduleNextPage(following, page, at + wait, self.plan))
        return event

    def _paged(self, page: Page, at: datetime) -> ChaseEvent:
        if self.state == ChaseState.not_needed or self.page is None:
            return AlertSent(page, at)
        if (page.level, page.loop) == (self.page.level, self.page.loop):
            return AlertResent(page, at)
        return ChaseEscalated(page, at)
