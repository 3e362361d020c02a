"""The Duty Inspector chase as a pure aggregate: every transition in memory, no database, clock or broker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.notify.chase.model import (
    AlertResent,
    AlertSent,
    Chase,
    ChaseAcknowledged,
    ChaseEscalated,
    ChaseGaveUp,
    ChaseOpened,
    ChaseReplanned,
    ChaseState,
    ChaseStoodDown,
    DecisionOverridden,
    Facts,
    FactsRevised,
    GroupNoted,
    ScheduleGiveUp,
    ScheduleNextPage,
    SendAlerts,
    StandDownReason,
    WithdrawAlerts,
)
from services.notify.policy import FIRST_PAGE, EscalationPolicy, Level, Page

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
# Level 1 re-sent every 5 minutes until 15; level 2 likewise; no second pass.
POLICY = EscalationPolicy(levels=[Level(targets=["on_call"], delay_minutes=15),
                                  Level(targets=["person:supt"], delay_minutes=15)],
                          resend_every_minutes=5, loops=0)


def facts(priority: str = "P1") -> Facts:
    return Facts(report_id="r1", reference="REF1", area="E23000001", priority=priority,
                 ack_deadline=T0 + 15 * MINUTE, matched=("arson: arson",))


def paging() -> Chase:
    chase = Chase.open("i1", facts(), needed=True, policy=POLICY, now=T0)
    chase.pending.clear()
    chase.take_effects()
    return chase


def not_needed() -> Chase:
    chase = Chase.open("i1", facts("P3"), needed=False, policy=POLICY, now=T0)
    chase.pending.clear()
    return chase


def test_a_chase_that_needs_the_duty_inspector_sends_the_first_alert_and_plans_the_resend() -> None:
    chase = Chase.open("i1", facts(), needed=True, policy=POLICY, now=T0)
    assert [type(e) for e in chase.pending] == [ChaseOpened, AlertSent]
    assert (chase.state, chase.page, chase.started_at) == (ChaseState.paging, FIRST_PAGE, T0)
    assert chase.take_effects() == [SendAlerts(FIRST_PAGE, T0),
                                    ScheduleNextPage(Page(0, 0, 1), FIRST_PAGE, T0 + 5 * MINUTE)]
    assert chase.take_effects() == []


def test_a_chase_not_needed_is_opened_quietly() -> None:
    chase = Chase.open("i1", facts("P3"), needed=False, policy=POLICY, now=T0)
    assert [type(e) for e in chase.pending] == [ChaseOpened]
    assert (chase.state, chase.page, chase.take_effects()) == (ChaseState.not_needed, None, [])


def test_a_later_decision_that_needs_the_duty_inspector_starts_the_chase_with_its_facts() -> None:
    chase = not_needed()
    events = chase.revise(facts("P1"), needed=True, policy=POLICY, now=T0 + MINUTE)
    assert [type(e) for e in events] == [FactsRevised, AlertSent]
    assert (chase.state, chase.priority, chase.started_at) == (ChaseState.paging, "P1", T0 + MINUTE)
    assert isinstance(chase.take_effects()[0], SendAlerts)


def test_a_later_decision_does_not_touch_a_chase_under_way() -> None:
    chase = paging()
    assert chase.revise(facts("P2"), needed=True, policy=POLICY, now=T0 + MINUTE) == []
    assert (chase.priority, chase.take_effects()) == ("P1", [])


def test_the_resend_timer_resends_to_the_same_level() -> None:
    chase = paging()
    [event] = chase.page_due(FIRST_PAGE, Page(0, 0, 1), POLICY, T0 + 5 * MINUTE)
    assert event == AlertResent(Page(0, 0, 1), T0 + 5 * MINUTE)
    assert chase.page == Page(0, 0, 1) and chase.state == ChaseState.paging
    assert chase.take_effects() == [SendAlerts(Page(0, 0, 1), T0 + 5 * MINUTE),
                                    ScheduleNextPage(Page(0, 0, 2), Page(0, 0, 1), T0 + 10 * MINUTE)]


def test_at_the_levels_delay_the_timer_escalates_to_the_next_level() -> None:
    chase = paging()
    chase.page_due(FIRST_PAGE, Page(0, 0, 1), POLICY, T0 + 5 * MINUTE)
    chase.page_due(Page(0, 0, 1), Page(0, 0, 2), POLICY, T0 + 10 * MINUTE)
    [event] = chase.page_due(Page(0, 0, 2), Page(1, 0, 0), POLICY, T0 + 15 * MINUTE)
    assert event == ChaseEscalated(Page(1, 0, 0), T0 + 15 * MINUTE)
    assert chase.page == Page(1, 0, 0)


def test_a_stale_timer_does_nothing() -> None:
    chase = paging()
    chase.escalate(1, POLICY, T0 + MINUTE)
    chase.take_effects()
    assert chase.page_due(FIRST_PAGE, Page(0, 0, 1), POLICY, T0 + 5 * MINUTE) == []
    assert chase.give_up_due(FIRST_PAGE, T0 + 5 * MINUTE) == []
    assert (chase.page, chase.take_effects()) == (Page(1, 0, 0), [])


def test_triages_escalation_jumps_to_the_level_at_once_but_never_back() -> None:
    chase = paging()
    [event] = chase.escalate(1, POLICY, T0 + MINUTE)
    assert event == ChaseEscalated(Page(1, 0, 0), T0 + MINUTE)
    assert chase.take_effects()[0] == SendAlerts(Page(1, 0, 0), T0 + MINUTE)
    assert chase.escalate(1, POLICY, T0 + 2 * MINUTE) == []
    assert chase.escalate(5, POLICY, T0 + 2 * MINUTE) == [], "beyond the last level is the last level"


def test_the_last_page_plans_the_give_up_and_the_give_up_exhausts_the_chase() -> None:
    chase = paging()
    chase.escalate(1, POLICY, T0)
    chase.page_due(Page(1, 0, 0), Page(1, 0, 1), POLICY, T0 + 5 * MINUTE)
    chase.take_effects()
    chase.page_due(Page(1, 0, 1), Page(1, 0, 2), POLICY, T0 + 10 * MINUTE)
    assert chase.take_effects()[1] == ScheduleGiveUp(Page(1, 0, 2), T0 + 15 * MINUTE)
    [event] = chase.give_up_due(Page(1, 0, 2), T0 + 15 * MINUTE)
    assert event == ChaseGaveUp(Page(1, 0, 2), T0 + 15 * MINUTE)
    assert chase.state == ChaseState.exhausted


def test_an_exhausted_chase_can_still_be_acknowledged_but_pages_no_more() -> None:
    chase = paging()
    chase.escalate(1, POLICY, T0)
    chase.page_due(Page(1, 0, 0), Page(1, 0, 1), POLICY, T0 + 5 * MINUTE)
    chase.page_due(Page(1, 0, 1), Page(1, 0, 2), POLICY, T0 + 10 * MINUTE)
    chase.give_up_due(Page(1, 0, 2), T0 + 15 * MINUTE)
    chase.take_effects()
    assert chase.escalate(1, POLICY, T0 + 16 * MINUTE) == []
    assert [type(e) for e in chase.acknowledge("supt", T0 + 20 * MINUTE)] == [ChaseAcknowledged]
    assert chase.state == ChaseState.acknowledged


def test_acknowledgement_stops_the_chase_and_withdraws_alerts_not_yet_sent() -> None:
    chase = paging()
    [event] = chase.acknowledge("di-1" * 40, T0 + 3 * MINUTE)
    assert event == ChaseAcknowledged("di-1" * 30, T0 + 3 * MINUTE), "who acknowledged is kept to 120 characters"
    assert (chase.state, chase.acknowledged_at) == (ChaseState.acknowledged, T0 + 3 * MINUTE)
    assert chase.take_effects() == [WithdrawAlerts()]
    assert chase.page_due(FIRST_PAGE, Page(0, 0, 1), POLICY, T0 + 5 * MINUTE) == []


def test_a_second_acknowledgement_does_nothing() -> None:
    chase = paging()
    chase.acknowledge("di-1", T0 + MINUTE)
    chase.take_effects()
    assert chase.acknowledge("supt", T0 + 2 * MINUTE) == []
    assert (chase.acknowledged_by, chase.take_effects()) == ("di-1", [])


def test_an_override_removing_the_need_stands_the_chase_down() -> None:
    chase = paging()
    events = chase.override("P3", None, needed=False, policy=POLICY, now=T0 + MINUTE)
    assert events == [DecisionOverridden("P3", None, T0 + MINUTE),
                      ChaseStoodDown(StandDownReason.need_removed, T0 + MINUTE)]
    assert (chase.state, chase.priority) == (ChaseState.stood_down, "P3")
    assert chase.take_effects() == [WithdrawAlerts()]


def test_an_override_adding_the_need_starts_a_chase_not_yet_needed() -> None:
    chase = not_needed()
    events = chase.override("P1", T0 + 15 * MINUTE, needed=True, policy=POLICY, now=T0 + MINUTE)
    assert [type(e) for e in events] == [DecisionOverridden, AlertSent]
    assert (chase.state, chase.ack_deadline) == (ChaseState.paging, T0 + 15 * MINUTE)


def test_an_override_after_acknowledgement_changes_the_priority_only() -> None:
    chase = paging()
    chase.acknowledge("di-1", T0 + MINUTE)
    chase.take_effects()
    assert [type(e) for e in chase.override("P2", None, needed=True, policy=POLICY, now=T0 + 2 * MINUTE)] == [
        DecisionOverridden]
    assert (chase.state, chase.priority, chase.take_effects()) == (ChaseState.acknowledged, "P2", [])


def test_closing_the_incident_closes_the_chase() -> None:
    chase = paging()
    [event] = chase.stand_down(StandDownReason.incident_closed, T0 + MINUTE)
    assert event == ChaseStoodDown(StandDownReason.incident_closed, T0 + MINUTE)
    assert chase.state == ChaseState.closed and chase.take_effects() == [WithdrawAlerts()]


def test_a_chase_not_needed_can_be_stood_down() -> None:
    chase = not_needed()
    assert [type(e) for e in chase.stand_down(StandDownReason.need_removed, T0)] == [ChaseStoodDown]
    assert chase.state == ChaseState.stood_down


def test_after_a_stand_down_nothing_moves_the_chase_but_alerts_are_still_withdrawn() -> None:
    chase = paging()
    chase.stand_down(StandDownReason.need_removed, T0 + MINUTE)
    chase.take_effects()
    assert chase.acknowledge("di-1", T0 + 2 * MINUTE) == []
    assert chase.escalate(1, POLICY, T0 + 2 * MINUTE) == []
    assert chase.start(POLICY, T0 + 2 * MINUTE) == []
    assert chase.revise(facts(), needed=True, policy=POLICY, now=T0 + 2 * MINUTE) == []
    assert chase.page_due(FIRST_PAGE, Page(0, 0, 1), POLICY, T0 + 5 * MINUTE) == []
    assert chase.take_effects() == []
    assert chase.stand_down(StandDownReason.incident_closed, T0 + 3 * MINUTE) == [], "stood down stays stood down"
    assert chase.state == ChaseState.stood_down
    assert chase.take_effects() == [WithdrawAlerts()]


def test_an_acknowledged_chase_stays_acknowledged_when_the_incident_closes() -> None:
    chase = paging()
    chase.acknowledge("di-1", T0 + MINUTE)
    assert chase.stand_down(StandDownReason.incident_closed, T0 + 2 * MINUTE) == []
    assert chase.state == ChaseState.acknowledged


def test_a_chase_not_needed_is_not_acknowledged_and_its_timers_do_nothing() -> None:
    chase = not_needed()
    assert chase.acknowledge("di-1", T0) == []
    assert chase.escalate(1, POLICY, T0) == []
    assert chase.give_up_due(FIRST_PAGE, T0) == []
    assert (chase.state, chase.take_effects()) == (ChaseState.not_needed, [])


def test_a_policy_with_loops_begins_again_at_the_first_level() -> None:
    looping = POLICY.model_copy(update={"loops": 1, "resend_every_minutes": None})
    chase = Chase.open("i1", facts(), needed=True, policy=looping, now=T0)
    chase.take_effects()
    chase.page_due(FIRST_PAGE, Page(1, 0, 0), looping, T0 + 15 * MINUTE)
    assert chase.take_effects()[1] == ScheduleNextPage(Page(0, 1, 0), Page(1, 0, 0), T0 + 30 * MINUTE)
    [event] = chase.page_due(Page(1, 0, 0), Page(0, 1, 0), looping, T0 + 30 * MINUTE)
    assert event == ChaseEscalated(Page(0, 1, 0), T0 + 30 * MINUTE)


def test_replaying_the_events_rebuilds_the_chase() -> None:
    chase = Chase.open("i1", facts(), needed=True, policy=POLICY, now=T0)
    chase.page_due(FIRST_PAGE, Page(0, 0, 1), POLICY, T0 + 5 * MINUTE)
    chase.escalate(1, POLICY, T0 + 6 * MINUTE)
    chase.acknowledge("supt", T0 + 7 * MINUTE)
    rebuilt = Chase.replay("i1", list(chase.pending))
    assert rebuilt == Chase(**{**chase.__dict__, "pending": [], "effects": []})


# ---- the chase follows the incident (#14) --------------------------------------------------------------------

def p2_paging() -> Chase:
    chase = Chase.open("i1", facts("P2"), needed=True, policy=POLICY, now=T0)
    chase.pending.clear()
    chase.take_effects()
    return chase


def test_a_retriage_that_raises_the_priority_moves_the_running_chase_to_the_new_decision_at_once() -> None:
    chase = p2_paging()
    chase.page_due(FIRST_PAGE, Page(0, 0, 1), POLICY, T0 + 5 * MINUTE)
    chase.take_effects()
    raised = facts("P1")
    events = chase.revise(raised, needed=True, policy=POLICY, now=T0 + 6 * MINUTE)
    assert events == [ChaseReplanned(raised, 1, T0 + 6 * MINUTE), AlertSent(FIRST_PAGE, T0 + 6 * MINUTE)]
    assert (chase.state, chase.priority, chase.plan, chase.page) == (ChaseState.paging, "P1", 1, FIRST_PAGE)
    assert chase.take_effects() == [WithdrawAlerts(), SendAlerts(FIRST_PAGE, T0 + 6 * MINUTE, plan=1),
                                    ScheduleNextPage(Page(0, 0, 1), FIRST_PAGE, T0 + 11 * MINUTE, plan=1)]


def test_the_old_plans_timers_find_a_plan_that_is_not_theirs() -> None:
    chase = p2_paging()
    chase.revise(facts("P1"), needed=True, policy=POLICY, now=T0 + MINUTE)
    chase.take_effects()
    assert chase.page_due(FIRST_PAGE, Page(0, 0, 1), POLICY, T0 + 5 * MINUTE) == [], "set by plan 0"
    assert chase.give_up_due(FIRST_PAGE, T0 + 5 * MINUTE) == []
    assert [type(e) for e in chase.page_due(FIRST_PAGE, Page(0, 0, 1), POLICY, T0 + 6 * MINUTE, plan=1)] == [
        AlertResent]


def test_a_raise_keeps_the_level_the_chase_had_reached() -> None:
    chase = p2_paging()
    chase.escalate(1, POLICY, T0 + MINUTE)
    chase.take_effects()
    [_, paged] = chase.revise(facts("P1"), needed=True, policy=POLICY, now=T0 + 2 * MINUTE)
    assert paged == AlertSent(Page(1, 0, 0), T0 + 2 * MINUTE)


def test_a_raise_after_acknowledgement_pages_again_for_the_new_acknowledgement() -> None:
    chase = p2_paging()
    chase.acknowledge("di-1", T0 + MINUTE)
    chase.take_effects()
    events = chase.revise(facts("P1"), needed=True, policy=POLICY, now=T0 + 2 * MINUTE)
    assert [type(e) for e in events] == [ChaseReplanned, AlertSent] and chase.state == ChaseState.paging


def test_an_override_that_raises_the_priority_pages_at_once_under_the_new_decision() -> None:
    chase = p2_paging()
    events = chase.override("P1", T0 + 16 * MINUTE, needed=True, policy=POLICY, now=T0 + MINUTE)
    assert [type(e) for e in events] == [DecisionOverridden, ChaseReplanned, AlertSent]
    assert (chase.priority, chase.ack_deadline, chase.plan) == ("P1", T0 + 16 * MINUTE, 1)


def test_an_override_that_lowers_the_priority_ends_the_chase() -> None:
    chase = paging()
    events = chase.override("P2", T0 + 60 * MINUTE, needed=True, policy=POLICY, now=T0 + MINUTE)
    assert events == [DecisionOverridden("P2", T0 + 60 * MINUTE, T0 + MINUTE),
                      ChaseStoodDown(StandDownReason.priority_lowered, T0 + MINUTE)]
    assert chase.state == ChaseState.stood_down and chase.take_effects() == [WithdrawAlerts()]


def test_an_override_that_makes_it_need_the_duty_inspector_again_pages_after_a_stand_down() -> None:
    chase = paging()
    chase.override("P3", None, needed=False, policy=POLICY, now=T0 + MINUTE)
    chase.take_effects()
    events = chase.override("P2", T0 + 62 * MINUTE, needed=True, policy=POLICY, now=T0 + 2 * MINUTE)
    assert [type(e) for e in events] == [DecisionOverridden, ChaseReplanned, AlertSent]
    assert (chase.state, chase.priority, chase.plan) == (ChaseState.paging, "P2", 1)


def test_a_raised_retriage_after_an_override_removed_the_need_pages_again() -> None:
    chase = paging()
    chase.override("P3", None, needed=False, policy=POLICY, now=T0 + MINUTE)
    events = chase.revise(facts("P2"), needed=True, policy=POLICY, now=T0 + 2 * MINUTE)
    assert [type(e) for e in events] == [ChaseReplanned, AlertSent]


def grouped(priority: str = "P2", size: int = 5, group: str | None = "g-1") -> Facts:
    return Facts(report_id="r1", reference="REF1", area="E23000001", priority=priority,
                 ack_deadline=T0 + 60 * MINUTE, matched=("cluster: a cluster",), group_id=group, group_size=size)


def test_a_flood_groups_page_knows_its_group_and_notes_it_growing() -> None:
    chase = Chase.open("i1", grouped(size=2), needed=True, policy=POLICY, now=T0)
    assert (chase.state, chase.group_id, chase.group_size) == (ChaseState.paging, "g-1", 2)
    chase.take_effects()
    assert chase.revise(grouped(size=9), needed=True, policy=POLICY, now=T0 + MINUTE) == [
        GroupNoted("g-1", 9, T0 + MINUTE)]
    assert chase.take_effects() == [], "noting the group pages nobody"


def test_a_member_covered_by_its_groups_page_starts_no_chase() -> None:
    chase = Chase.open("i2", grouped(), needed=False, policy=POLICY, now=T0)
    assert (chase.state, chase.take_effects()) == (ChaseState.not_needed, [])


def test_a_chase_under_way_stands_down_when_a_groups_page_covers_it_and_resumes_when_split_out() -> None:
    chase = p2_paging()
    events = chase.revise(grouped(), needed=False, policy=POLICY, now=T0 + MINUTE)
    assert events == [GroupNoted("g-1", 5, T0 + MINUTE), ChaseStoodDown(StandDownReason.joined_group, T0 + MINUTE)]
    chase.take_effects()
    split = grouped(group=None, size=0)
    assert [type(e) for e in chase.revise(split, needed=True, policy=POLICY, now=T0 + 2 * MINUTE)] == [
        ChaseReplanned, AlertSent]
    assert chase.group_id is None and chase.state == ChaseState.paging


def test_replaying_a_replanned_chase_rebuilds_it() -> None:
    chase = Chase.open("i1", facts("P2"), needed=True, policy=POLICY, now=T0)
    chase.revise(facts("P1"), needed=True, policy=POLICY, now=T0 + MINUTE)
    chase.revise(grouped("P1", 3), needed=True, policy=POLICY, now=T0 + 2 * MINUTE)
    rebuilt = Chase.replay("i1", list(chase.pending))
    assert rebuilt == Chase(**{**chase.__dict__, "pending": [], "effects": []})
