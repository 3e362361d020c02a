"""The rota, escalation policy and directory: plain domain rules, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.notify.assessments.model import AssessmentSchedule
from services.notify.policy import (
    FIRST_PAGE,
    Directory,
    EscalationPolicy,
    Level,
    Page,
    Rota,
    Subscription,
    load_directory,
    next_page,
    parse_page,
)

T0 = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)


def _directory(**overrides: object) -> Directory:
    raw: dict[str, object] = {
        "people": {"a": {"name": "A", "email": "a@x.invalid"}, "b": {"name": "B", "email": "b@x.invalid"},
                   "s": {"name": "S", "email": "s@x.invalid"}, "n": {"name": "N"}, "c": {"name": "C"}},
        "teams": {"nt": ["n"], "cl": ["c", "n"]},
        "policies": {"std": {"levels": [{"targets": ["on_call"], "delay_minutes": 15},
                                        {"targets": ["person:s", "on_call"], "delay_minutes": 10}]}},
        "areas": {"default": {"rota": {"start": T0.isoformat(), "shift_hours": 12, "people": ["a", "b"]},
                              "policy": "std", "neighbourhood_team": "nt", "community_liaison": "cl"}},
    }
    raw.update(overrides)
    return Directory.model_validate(raw)


def test_rota_hands_shifts_round_in_order_and_wraps() -> None:
    rota = Rota(start=T0, shift_hours=12, people=["a", "b", "c"])
    assert [rota.on_call(T0 + timedelta(hours=h)) for h in (0, 11.9, 12, 24, 36, 48)] == ["a", "a", "b", "c", "a", "b"]
    assert rota.on_call(T0 - timedelta(hours=1)) == "c"


def test_an_override_puts_someone_else_on_call() -> None:
    d = _directory()
    assert d.on_call("E23000001", T0) == "a"
    assert d.on_call("E23000001", T0, override="b") == "b"
    assert d.on_call("E23000001", T0, override="nobody") == "a"


def test_resend_every_five_minutes_then_escalate_at_the_level_delay() -> None:
    policy = EscalationPolicy(levels=[Level(targets=["on_call"], delay_minutes=15),
                                      Level(targets=["person:s"], delay_minutes=10)], resend_every_minutes=5)
    steps, page = [], FIRST_PAGE
    while True:
        following, wait = next_page(policy, page)
        steps.append((following.label if following else None, wait))
        if following is None:
            break
        page = following
    m = timedelta(minutes=1)
    assert steps == [("L1.0.1", 5 * m), ("L1.0.2", 5 * m), ("L2.0.0", 5 * m), ("L2.0.1", 5 * m), (None, 5 * m)]


def test_loops_repeat_the_whole_policy_before_it_is_exhausted() -> None:
    policy = EscalationPolicy(levels=[Level(targets=["on_call"], delay_minutes=10)], resend_every_minutes=None,
                              loops=2)
    labels, page = [], FIRST_PAGE
    while (step := next_page(policy, page))[0] is not None:
        page = step[0]
        labels.append(page.label)
        assert step[1] == timedelta(minutes=10)
    assert labels == ["L1.1.0", "L1.2.0"]


def test_page_labels_round_trip() -> None:
    assert parse_page(Page(2, 1, 3).label) == Page(2, 1, 3)


def test_level_people_resolve_on_call_people_and_teams_without_repeats() -> None:
    d = _directory()
    assert d.level_people("E23000001", 0, T0) == ["a"]
    assert d.level_people("E23000001", 1, T0 + timedelta(hours=12)) == ["s", "b"]
    assert d.cia_people("W15000004") == ["n", "c"]


def test_directory_names_every_broken_reference() -> None:
    with pytest.raises(ValidationError) as e:
        _directory(teams={"nt": ["ghost"], "cl": []},
                   policies={"std": {"levels": [{"targets": ["person:ghost", "team:none"]}]}})
    text = str(e.value)
    assert "teams.nt: unknown person ghost" in text
    assert "person:ghost" in text and "team:none" in text


def test_directory_needs_a_default_area() -> None:
    with pytest.raises(ValidationError, match="default"):
        _directory(areas={})


def test_shipped_development_directory_loads() -> None:
    d = load_directory()
    assert d.level_people("E23000001", 0, T0)
    assert len(d.policy_for("E23000001").levels) >= 2


def test_partner_entitlement_by_area_event_type_and_handling_code() -> None:
    sub = Subscription(url="http://x", secret="s", areas=["E23000001"], event_types=["vigil.partner.x.v1"])
    assert sub.entitled("E23000001", "vigil.partner.x.v1", "P")
    assert not sub.entitled("E23000001", "vigil.partner.x.v1", "C")
    assert not sub.entitled("W15000004", "vigil.partner.x.v1", "P")
    assert not sub.entitled("E23000001", "vigil.partner.y.v1", "P")
    assert Subscription(url="http://x", secret="s", handling_c=True).entitled("any", "any", "C")


def test_assessment_reminders_start_an_hour_before_due_and_reviews_follow_completion() -> None:
    sched = AssessmentSchedule(due_after=timedelta(hours=4), remind_every=timedelta(hours=1), max_reminders=3,
                               review_after=timedelta(days=7), max_reviews=2)
    due = sched.due(T0)
    assert due == T0 + timedelta(hours=4)
    assert [sched.reminder_at(due, n) for n in (1, 2, 3, 4)] == [
        T0 + timedelta(hours=3), T0 + timedelta(hours=4), T0 + timedelta(hours=5), None]
    assert [sched.review_at(T0, n) for n in (1, 2, 3)] == [T0 + timedelta(days=7), T0 + timedelta(days=14), None]
