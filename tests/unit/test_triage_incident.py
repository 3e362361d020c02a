"""The Incident aggregate: the workflow, amendments that re-triage, and who may lower a priority."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.triage.incident import AlreadyDone, Incident, InvalidCommand, Level, Outcome, Report, State
from services.triage.rules import Decision
from shared.events.incidents import (
    CriteriaOverridden,
    IncidentAcknowledged,
    IncidentEscalated,
    IncidentRegraded,
    IncidentTriaged,
    MatchedRule,
    Priority,
)
from shared.events.reports import Grading

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
MINUTES = {Priority.P1: 15, Priority.P2: 60}
REPORT = Report("r-1", "VGL-ABCD-1234", "E23000001", Grading(source="2", intelligence="A", handling="P"))


def decision(priority: Priority, *codes: str) -> Decision:
    return Decision([MatchedRule(code=c, explanation=c) for c in codes], priority, "", True, "2026.11.1")


def critical() -> Incident:
    return Incident.open(REPORT, decision(Priority.P2, "place_of_worship"), NOW, MINUTES)


def replayed(i: Incident) -> Incident:
    return Incident.replay(i.incident_id, list(i.pending))


def test_a_critical_decision_opens_an_incident_with_a_deadline() -> None:
    i = critical()
    [event] = i.pending
    assert isinstance(event, IncidentTriaged)
    assert event.critical and event.needs_duty_inspector and event.priority == Priority.P2
    assert event.ack_deadline == NOW + timedelta(minutes=60) and event.retriage is False
    assert i.version == 1 and i.state == State.open


def test_a_non_critical_decision_has_no_deadline() -> None:
    i = Incident.open(REPORT, decision(Priority.P3), NOW, MINUTES)
    assert i.ack_deadline is None and not i.needs_duty_inspector


def test_only_a_duty_inspector_or_supervisor_acknowledges_a_critical_incident() -> None:
    i = critical()
    with pytest.raises(InvalidCommand):
        i.acknowledge("officer", may_acknowledge_critical=False, now=NOW)
    event = i.acknowledge("inspector", may_acknowledge_critical=True, now=NOW)
    assert isinstance(event, IncidentAcknowledged) and event.acknowledged_by == "inspector"


def test_acknowledging_twice_says_who_got_there_first() -> None:
    i = critical()
    i.acknowledge("first", True, NOW)
    with pytest.raises(AlreadyDone) as caught:
        i.acknowledge("second", True, NOW + timedelta(seconds=1))
    assert caught.value.by == "first" and caught.value.at == NOW


def test_replaying_the_events_gives_the_same_incident() -> None:
    i = critical()
    i.acknowledge("inspector", True, NOW)
    i.assign("inspector", "officer", NOW)
    again = replayed(i)
    assert (again.state, again.acknowledged_by, again.duty_inspector, again.version) == (
        State.acknowledged, "inspector", "inspector", 3)


def test_a_missed_deadline_escalates_once() -> None:
    i = critical()
    assert i.escalate_if_overdue(NOW + timedelta(minutes=59)) is None
    event = i.escalate_if_overdue(NOW + timedelta(minutes=60))
    assert isinstance(event, IncidentEscalated) and event.level == 1 and event.priority == Priority.P2
    assert i.escalate_if_overdue(NOW + timedelta(minutes=90)) is None


def test_an_acknowledged_incident_does_not_escalate() -> None:
    i = critical()
    i.acknowledge("inspector", True, NOW)
    assert i.escalate_if_overdue(NOW + timedelta(hours=2)) is None


def test_an_amendment_can_raise_the_priority_and_asks_for_acknowledgement_again() -> None:
    i = critical()
    i.acknowledge("inspector", True, NOW)
    later = NOW + timedelta(minutes=5)
    event = i.retriage(decision(Priority.P1, "place_of_worship", "arson"), "E23000001", later, MINUTES)
    assert isinstance(event, IncidentTriaged) and event.retriage and event.priority == Priority.P1
    assert event.ack_deadline == later + timedelta(minutes=15)
    assert i.state == State.open and replayed(i).state == State.open


def test_an_amendment_cannot_lower_the_priority() -> None:
    i = critical()
    event = i.retriage(decision(Priority.P3), "E23000001", NOW, MINUTES)
    assert isinstance(event, IncidentTriaged)
    assert event.priority == Priority.P2 and event.needs_duty_inspector and event.computed_priority == Priority.P3


def test_an_amendment_that_changes_nothing_records_nothing() -> None:
    i = critical()
    assert i.retriage(decision(Priority.P2, "place_of_worship"), "E23000001", NOW, MINUTES) is None
    assert i.version == 1


def test_only_an_override_lowers_the_priority_and_it_needs_a_reason() -> None:
    i = critical()
    with pytest.raises(InvalidCommand) as caught:
        i.override(Priority.P3, False, "   ", "inspector", NOW, MINUTES)
    assert caught.value.field == "reason"
    event = i.override(Priority.P3, False, "duplicate of an earlier report", "inspector", NOW, MINUTES)
    assert isinstance(event, CriteriaOverridden)
    assert (event.previous_priority, event.priority, event.needs_duty_inspector) == (Priority.P2, Priority.P3, False)
    assert i.ack_deadline is None


def test_an_override_that_changes_nothing_is_refused() -> None:
    with pytest.raises(InvalidCommand):
        critical().override(Priority.P2, True, "no change", "inspector", NOW, MINUTES)


def test_community_impact_assessment_is_requested_then_recorded() -> None:
    i = critical()
    with pytest.raises(InvalidCommand):
        i.request_cia("inspector", NOW, NOW - timedelta(minutes=1))
    i.request_cia("inspector", NOW, NOW + timedelta(hours=24))
    assert i.cia == "requested" and i.cia_due_at == NOW + timedelta(hours=24)
    i.record_cia("inspector", NOW, Level.substantial, Level.moderate, NOW + timedelta(days=2))
    assert replayed(i).cia == "completed"


def test_a_closed_incident_refuses_further_actions() -> None:
    i = critical()
    i.close(Outcome.crime_recorded, "inspector", NOW)
    with pytest.raises(AlreadyDone):
        i.acknowledge("inspector", True, NOW)
    assert replayed(i).outcome == "crime_recorded"


def test_regrading_needs_a_reason_and_records_the_previous_grading() -> None:
    i = critical()
    new = Grading(source="1", intelligence="B", handling="C")
    with pytest.raises(InvalidCommand):
        i.regrade(new, "", "officer", NOW)
    with pytest.raises(InvalidCommand):
        i.regrade(REPORT.grading or new, "same", "officer", NOW)
    event = i.regrade(new, "corroborated by CCTV", "officer", NOW)
    assert isinstance(event, IncidentRegraded) and event.previous == REPORT.grading and event.grading == new
    assert replayed(i).grading == new


def test_an_override_that_calls_in_the_duty_inspector_starts_the_clock() -> None:
    i = Incident.open(REPORT, decision(Priority.P3), NOW, MINUTES)
    later = NOW + timedelta(minutes=10)
    i.override(Priority.P2, True, "known offender, likely to return", "supervisor", later, MINUTES)
    assert i.needs_duty_inspector and i.ack_deadline == later + timedelta(minutes=60)
    assert i.escalate_if_overdue(later + timedelta(minutes=60)) is not None
