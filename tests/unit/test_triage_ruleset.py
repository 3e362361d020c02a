"""Ruleset files: what validation refuses, and that a ruleset is data, never code."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from services.triage.rules import DEFAULT_RULESET, RULESETS, RulesetInvalid, Subject, load_ruleset
from shared.events.incidents import Priority
from shared.events.reports import IncidentFacts

OLD_DEFAULT = RULESETS / "default-2026.11.1.yaml"  # kept beside the newer default, for the record


def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(OLD_DEFAULT.read_text())
    return loaded


def errors_of(doc: dict[str, Any] | str) -> list[dict[str, str]]:
    with pytest.raises(RulesetInvalid) as caught:
        load_ruleset(doc if isinstance(doc, str) else yaml.safe_dump(doc))
    return caught.value.errors


def test_the_default_ruleset_is_valid_and_versioned() -> None:
    ruleset = load_ruleset(DEFAULT_RULESET.read_text())
    assert ruleset.version == "2026.12.1" and len(ruleset.sha256) == 64
    assert ruleset.rule_codes == ["violence", "threat_to_life", "place_of_worship", "arson", "repeat_victimisation",
                                  "vulnerable_victim", "cluster", "heightened_tension"]


def test_yaml_that_does_not_parse_is_refused() -> None:
    assert errors_of("rules: [unclosed")[0]["path"] == "(file)"


def test_missing_version_is_named() -> None:
    doc = document()
    del doc["version"]
    assert any("'version' is a required property" in e["message"] for e in errors_of(doc))


def test_an_unknown_fact_is_refused_with_its_place() -> None:
    doc = document()
    doc["rules"][3]["when"] = {"fact": "postcode", "equals": "E1 6AN"}
    [error] = errors_of(doc)
    assert error["path"] == "rules[3].when"


def test_an_unknown_value_of_a_known_fact_is_refused() -> None:
    doc = document()
    doc["rules"][3]["when"] = {"fact": "types", "contains": "arsen"}
    [error] = errors_of(doc)
    assert error["path"] == "rules[3].when" and "'arsen' is not a value of 'types'" in error["message"]


def test_an_operator_that_does_not_fit_the_fact_is_refused() -> None:
    doc = document()
    doc["rules"][3]["when"] = {"fact": "weapon", "contains": "knife"}
    assert "cannot be tested with 'contains'" in errors_of(doc)[0]["message"]


def test_code_in_a_ruleset_is_not_a_condition() -> None:
    doc = document()
    doc["rules"][0]["when"] = {"eval": "__import__('os').system('true')"}
    assert errors_of(doc)[0]["path"] == "rules[0].when"


def test_duplicate_rule_codes_are_refused() -> None:
    doc = document()
    doc["rules"][1]["code"] = "violence"
    assert any("used more than once" in e["message"] for e in errors_of(doc))


def test_priorities_must_end_with_otherwise() -> None:
    doc = document()
    doc["priorities"].pop()
    assert any("must be `otherwise: true`" in e["message"] for e in errors_of(doc))


def test_a_priority_naming_an_unknown_rule_is_refused() -> None:
    doc = document()
    doc["priorities"][0]["when"] = {"matched": "teleportation"}
    assert any("no rule with code 'teleportation'" in e["message"] for e in errors_of(doc))


def test_rules_cannot_depend_on_other_rules_matching() -> None:
    doc = document()
    doc["rules"][0]["when"] = {"matched": "arson"}
    assert any("only be used in priorities" in e["message"] for e in errors_of(doc))


def test_definitions_cannot_refer_to_themselves() -> None:
    doc = document()
    doc["definitions"]["hate_crime"]["when"] = {"any": [{"defined": "hate_crime"}]}
    assert any("refers back to itself" in e["message"] for e in errors_of(doc))


def test_a_history_window_needs_a_size() -> None:
    doc = document()
    doc["rules"][6]["when"] = {"history": "same_area", "within": {}, "at_least": 3}
    assert errors_of(doc)[0]["path"] == "rules[6].when"


def test_a_new_version_can_change_a_rule() -> None:
    doc = document()
    doc["version"] = "2026.12.1"
    doc["rules"][6]["when"]["at_least"] = 2
    ruleset = load_ruleset(yaml.safe_dump(doc))
    subject = Subject(facts=IncidentFacts.model_validate({
        "occurred_at": datetime(2026, 11, 21, tzinfo=UTC), "types": ["verbal_abuse"],
        "targeted_characteristics": ["race"], "location": {"area": "E23000001", "place_type": "street"}}),
        history=lambda kind, window: 1 if kind == "same_area" else 0)
    decision = ruleset.decide(subject)
    assert decision.codes == ["cluster"] and decision.priority == Priority.P2
    assert decision.ruleset_version == "2026.12.1"
