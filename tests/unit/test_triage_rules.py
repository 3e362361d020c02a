"""The default critical-incident ruleset: every rule, every priority, the window edges."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.triage.rules import (
    RULESETS,
    HistoryKind,
    Subject,
    Tension,
    ack_deadline,
    default_ruleset,
    load_ruleset_file,
)
from shared.events.incidents import Priority
from shared.events.reports import IncidentFacts

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
RULES = default_ruleset()
OLD_RULES = load_ruleset_file(RULESETS / "default-2026.11.1.yaml")  # its `cluster`: three in a force area (#14)


def facts(**overrides: Any) -> IncidentFacts:
    base: dict[str, Any] = {"occurred_at": NOW - timedelta(hours=1), "types": ["verbal_abuse"],
                            "targeted_characteristics": ["religion"],
                            "location": {"area": "E23000001", "place_type": "street"}}
    return IncidentFacts.model_validate(base | overrides)


def decide(history: Callable[[HistoryKind, timedelta], int] | None = None, tension: Tension | None = None,
           rules: Any = RULES, **overrides: Any) -> Any:
    subject = Subject(facts=facts(**overrides), reporter_role="victim", tension=tension,
                      history=history or (lambda _kind, _window: 0))
    return rules.decide(subject)


def memory(reports: dict[HistoryKind, list[timedelta]]) -> Callable[[HistoryKind, timedelta], int]:
    """An in-memory twin of the report memory: other reports at these distances from this one."""
    return lambda kind, window: sum(1 for d in reports.get(kind, []) if abs(d) <= window)


def test_verbal_abuse_in_the_street_is_a_hate_crime_but_not_critical() -> None:
    d = decide()
    assert (d.codes, d.critical, d.priority) == ([], False, Priority.P3)
    assert d.ruleset_version == "2026.12.1"


def test_information_only_is_p4() -> None:
    assert decide(types=["other"]).priority == Priority.P4
    assert decide(types=["other"]).hate_crime is False


@pytest.mark.parametrize(("overrides", "matches"), [
    ({"types": ["physical_assault"], "injuries": "minor"}, True),
    ({"types": ["physical_assault"], "injuries": "serious"}, True),
    ({"types": ["physical_assault"], "injuries": "none"}, False),
    ({"types": ["verbal_abuse"], "weapon": True}, True),
    ({"types": ["threat"], "injuries": "minor"}, False),
])
def test_violence_needs_an_injured_assault_or_a_weapon(overrides: dict[str, Any], matches: bool) -> None:
    assert ("violence" in decide(**overrides).codes) is matches


@pytest.mark.parametrize(("types", "ongoing", "matches"), [
    (["threat"], True, True), (["physical_assault"], True, True), (["arson"], True, True),
    (["threat"], False, False), (["harassment"], True, False),
])
def test_threat_to_life_is_ongoing_with_assault_threat_or_arson(types: list[str], ongoing: bool,
                                                                 matches: bool) -> None:
    d = decide(types=types, ongoing=ongoing)
    assert ("threat_to_life" in d.codes) is matches
    if matches:
        assert d.priority == Priority.P1


@pytest.mark.parametrize(("types", "matches"), [
    (["graffiti"], True), (["hate_material"], True), (["criminal_damage"], True), (["threat"], True),
    (["verbal_abuse"], False), (["online_abuse"], False),
])
def test_place_of_worship_rule_covers_attacks_damage_and_defacement(types: list[str], matches: bool) -> None:
    d = decide(types=types, location={"area": "E23000001", "place_type": "place_of_worship"})
    assert ("place_of_worship" in d.codes) is matches
    assert d.priority == (Priority.P2 if matches else Priority.P3)


def test_graffiti_at_a_mosque_explains_itself() -> None:
    d = decide(types=["graffiti"], location={"area": "E23000001", "place_type": "place_of_worship"})
    [m] = d.matched
    assert m.code == "place_of_worship" and "place of worship" in m.explanation


def test_arson_is_critical_and_p1() -> None:
    d = decide(types=["arson"])
    assert "arson" in d.codes and d.priority == Priority.P1 and d.critical


def test_serious_injury_makes_a_critical_incident_p1() -> None:
    assert decide(types=["physical_assault"], injuries="serious").priority == Priority.P1
    assert decide(types=["physical_assault"], injuries="minor").priority == Priority.P2


def test_reporter_saying_it_happened_before_is_repeat_victimisation() -> None:
    d = decide(repeat=True)
    assert d.codes == ["repeat_victimisation"] and d.priority == Priority.P2


@pytest.mark.parametrize(("kind", "distance", "matches"), [
    (HistoryKind.same_place, timedelta(days=90), True),
    (HistoryKind.same_place, timedelta(days=90, seconds=1), False),
    (HistoryKind.same_contact, timedelta(days=89), True),
    (HistoryKind.same_contact, timedelta(days=91), False),
    (HistoryKind.same_area, timedelta(days=1), False),
])
def test_repeat_victimisation_window_is_ninety_days_inclusive(kind: HistoryKind, distance: timedelta,
                                                              matches: bool) -> None:
    d = decide(history=memory({kind: [-distance]}))
    assert ("repeat_victimisation" in d.codes) is matches


def test_repeat_victimisation_explains_what_was_found() -> None:
    d = decide(history=memory({HistoryKind.same_contact: [-timedelta(days=3)]}))
    [m] = d.matched
    assert "1 report from the same reporter contact within 90 days" in m.explanation


@pytest.mark.parametrize(("earlier", "matches"), [(0, False), (1, False), (2, True), (5, True)])
def test_the_third_report_in_an_area_within_24_hours_is_a_cluster(earlier: int, matches: bool) -> None:
    d = decide(history=memory({HistoryKind.same_area: [-timedelta(hours=h) for h in range(1, earlier + 1)]}),
               rules=OLD_RULES)
    assert ("cluster" in d.codes) is matches
    if matches:
        assert f"{earlier + 1} reports in this area within 24 hours" in d.matched[0].explanation


def test_reports_just_outside_24_hours_do_not_make_a_cluster() -> None:
    d = decide(history=memory({HistoryKind.same_area: [-timedelta(hours=24, seconds=1), -timedelta(hours=30)]}),
               rules=OLD_RULES)
    assert "cluster" not in d.codes
    d = decide(history=memory({HistoryKind.same_area: [-timedelta(hours=24), -timedelta(hours=1)]}), rules=OLD_RULES)
    assert "cluster" in d.codes


@pytest.mark.parametrize(("vulnerabilities", "types", "matches"), [
    (["child"], ["harassment"], True), (["older_person"], ["threat"], True),
    (["mental_health"], ["physical_assault"], True), ([], ["harassment"], False),
    (["disability"], ["verbal_abuse"], False),
])
def test_vulnerable_victim_of_assault_threat_or_harassment(vulnerabilities: list[str], types: list[str],
                                                           matches: bool) -> None:
    assert ("vulnerable_victim" in decide(vulnerabilities=vulnerabilities, types=types).codes) is matches


def test_heightened_tension_makes_every_hate_crime_need_the_duty_inspector() -> None:
    tension = Tension(scope="national", since=NOW - timedelta(days=1))
    d = decide(tension=tension)
    assert d.codes == ["heightened_tension"] and d.critical and d.priority == Priority.P2
    assert "national" in d.matched[0].explanation


def test_heightened_tension_leaves_information_only_reports_alone() -> None:
    d = decide(types=["other"], tension=Tension(scope="area E23000001", since=NOW))
    assert d.codes == [] and d.priority == Priority.P4


def test_matched_rules_keep_the_ruleset_order() -> None:
    d = decide(types=["arson", "threat"], ongoing=True, repeat=True,
               location={"area": "E23000001", "place_type": "place_of_worship"})
    assert d.codes == ["threat_to_life", "place_of_worship", "arson", "repeat_victimisation"]


def test_deadlines_come_from_the_settings_per_priority() -> None:
    minutes = {Priority.P1: 15, Priority.P2: 60}
    assert ack_deadline(Priority.P1, NOW, minutes) == NOW + timedelta(minutes=15)
    assert ack_deadline(Priority.P2, NOW, minutes) == NOW + timedelta(minutes=60)
    assert ack_deadline(Priority.P3, NOW, minutes) is None
