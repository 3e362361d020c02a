"""The area-level community impact assessment's aggregate (services/triage/area_cia.py): record, review, close,
an action marked done, and what it refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.triage.access import NotPermitted
from services.triage.area_cia import AreaCia
from services.triage.incident import AlreadyDone, InvalidCommand, Level, UnknownIncident
from shared.events.area_cias import (
    AreaCiaAction,
    AreaCiaActionDone,
    AreaCiaClosed,
    AreaCiaRecorded,
    AreaCiaReviewed,
)

NOW = datetime(2026, 12, 9, 10, 0, tzinfo=UTC)
DUE = NOW + timedelta(hours=6)


def recorded(*actions: AreaCiaAction) -> AreaCia:
    cia = AreaCia("cia-1")
    cia.open("E23000001", Level.substantial, Level.moderate, NOW + timedelta(days=1), list(actions), "u-sup", NOW)
    return cia


def action(action_id: str = "a-1", owner: str = "pc.jones") -> AreaCiaAction:
    return AreaCiaAction(action_id=action_id, owner=owner, due_at=DUE)


def test_recording_gives_one_event_with_the_levels_and_the_actions_and_no_free_text() -> None:
    cia = recorded(action("a-1"), action("a-2", "sgt.khan"))
    [event] = cia.pending
    assert isinstance(event, AreaCiaRecorded)
    assert (event.area, event.community_tension, event.risk_of_disorder) == ("E23000001", "substantial", "moderate")
    assert [(a.action_id, a.owner, a.due_at) for a in event.actions] == [("a-1", "pc.jones", DUE),
                                                                         ("a-2", "sgt.khan", DUE)]
    assert set(event.model_dump()) >= {"recorded_by", "recorded_at"}
    assert not {"notes", "description", "reason"} & set(event.model_dump())
    assert [a.action_id for a in cia.open_actions()] == ["a-1", "a-2"] and cia.version == 1


def test_a_review_changes_the_levels_counts_from_one_and_adds_actions() -> None:
    cia = recorded(action("a-1"))
    event = cia.review(Level.severe, Level.substantial, None, [action("a-2")], "u-di", NOW + timedelta(hours=2))
    assert isinstance(event, AreaCiaReviewed) and event.review == 1
    second = cia.review(Level.moderate, Level.low, None, [], "u-di", NOW + timedelta(hours=3))
    assert isinstance(second, AreaCiaReviewed) and second.review == 2
    assert (cia.latest.community_tension, cia.latest.risk_of_disorder) == ("moderate", "low")
    assert [a.n for a in cia.assessments] == [0, 1, 2]
    assert cia.actions["a-2"].added_by_review == 1


def test_the_owner_marks_an_action_done_once() -> None:
    cia = recorded(action("a-1"), action("a-2"))
    done = cia.mark_done("a-1", "pc.jones", "u-jones", False, NOW + timedelta(hours=7))
    assert isinstance(done, AreaCiaActionDone) and (done.owner, done.done_by) == ("pc.jones", "u-jones")
    assert [a.action_id for a in cia.open_actions()] == ["a-2"]
    with pytest.raises(AlreadyDone, match="already marked done"):
        cia.mark_done("a-1", "pc.jones", "u-jones", False, NOW + timedelta(hours=8))


def test_someone_else_may_not_mark_it_done_but_a_supervisor_may() -> None:
    cia = recorded(action("a-1"))
    with pytest.raises(NotPermitted, match="owner or a supervisor"):
        cia.mark_done("a-1", "pc.smith", "u-smith", False, NOW)
    assert cia.mark_done("a-1", "sgt.boss", "u-boss", True, NOW).done_by == "u-boss"  # type: ignore[attr-defined]


def test_an_unknown_action_is_unknown() -> None:
    with pytest.raises(UnknownIncident):
        recorded(action("a-1")).mark_done("a-9", "pc.jones", "u-jones", True, NOW)


def test_closing_needs_a_reason_and_then_refuses_reviews_actions_and_a_second_close() -> None:
    cia = recorded(action("a-1"))
    with pytest.raises(InvalidCommand) as refused:
        cia.close("", "u-sup", NOW)
    assert refused.value.field == "reason"
    with pytest.raises(InvalidCommand, match="under 500"):
        cia.close("x" * 501, "u-sup", NOW)
    assert isinstance(cia.close("tension eased after the march", "u-sup", NOW + timedelta(days=2)), AreaCiaClosed)
    assert cia.closed and cia.version == 2
    for refused_command in (lambda: cia.review(Level.low, Level.low, None, [], "u-di", NOW + timedelta(days=3)),
                            lambda: cia.mark_done("a-1", "pc.jones", "u-jones", False, NOW + timedelta(days=3)),
                            lambda: cia.close("again", "u-sup", NOW + timedelta(days=3))):
        with pytest.raises(AlreadyDone, match="was closed"):
            refused_command()


def test_a_next_review_in_the_past_is_refused() -> None:
    with pytest.raises(InvalidCommand) as refused:
        AreaCia("cia-2").open("E23000001", Level.low, Level.low, NOW - timedelta(minutes=1), [], "u-sup", NOW)
    assert refused.value.field == "next_review_at"
    cia = recorded()
    with pytest.raises(InvalidCommand):
        cia.review(Level.low, Level.low, NOW, [], "u-sup", NOW)


def test_it_cannot_be_recorded_twice() -> None:
    with pytest.raises(AlreadyDone):
        recorded().open("E23000001", Level.low, Level.low, None, [], "u-sup", NOW)


def test_replaying_the_events_gives_the_same_assessment() -> None:
    cia = recorded(action("a-1"), action("a-2"))
    cia.review(Level.severe, Level.severe, None, [action("a-3", "sgt.khan")], "u-di", NOW + timedelta(hours=1))
    cia.mark_done("a-2", "pc.jones", "u-jones", False, NOW + timedelta(hours=2))
    cia.close("handed to the partnership board", "u-sup", NOW + timedelta(hours=3))
    again = AreaCia.replay("cia-1", list(cia.pending))
    assert again.version == cia.version == 4
    assert again.closed_at == NOW + timedelta(hours=3)
    assert [(a.action_id, a.done_at is None) for a in again.actions.values()] == [("a-1", True), ("a-2", False),
                                                                                  ("a-3", True)]
    assert again.latest.community_tension == "severe"
