"""Publishing a ruleset: an event, in force for later decisions; earlier decisions keep their version."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from services.triage.main import Triage, build
from services.triage.publishing import RulesetConflict
from services.triage.rules import DEFAULT_RULESET, RULESETS, load_ruleset
from services.triage.settings import TriageSettings
from shared.clock import MovableClock
from shared.events.base import Envelope
from shared.events.reports import ReportSubmitted
from shared.migrate import upgrade
from shared.settings import VigilSettings

START = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


@pytest.fixture
def triage(tmp_path: Path) -> Triage:
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    upgrade("triage", url)
    old_default = str(RULESETS / "default-2026.11.1.yaml")  # what was in force before this test's 2026.12.1
    return build(VigilSettings(), TriageSettings(database_url=url, ruleset_file=old_default), MovableClock(START))


def report(n: int) -> Envelope:
    event = ReportSubmitted.model_validate({
        "report_id": f"r-{n}", "reference": f"VGL-{n}", "submitted_at": START, "channel": "web",
        "reporter": {"role": "victim", "anonymous": True}, "consent": {},
        "incident": {"occurred_at": START, "types": ["verbal_abuse"], "targeted_characteristics": ["race"],
                     "location": {"area": "E23000002", "place_type": "education"}},
        "grading": {"source": "2", "intelligence": "A", "handling": "C"}, "fingerprints": {}})
    return Envelope(id=f"e-{n}", type=event.TYPE, source="/t", subject="s", time=START, sequence=1, key="k",
                    topic=event.TOPIC, data=event.model_dump(mode="json"))


def triage_report(triage: Triage, n: int) -> None:
    with triage.db.transaction() as s:
        triage.decisions.on_report_event(s, report(n))


def stricter() -> str:
    doc = yaml.safe_load(DEFAULT_RULESET.read_text())
    doc["version"] = "2026.12.1"
    doc["rules"].append({"code": "school", "explanation": "abuse at a school",
                         "when": {"fact": "place_type", "equals": "education"}})
    return yaml.safe_dump(doc)


def test_a_new_ruleset_applies_to_later_reports_and_earlier_decisions_keep_theirs(triage: Triage) -> None:
    triage_report(triage, 1)
    assert triage.rulesets.publish(load_ruleset(stricter()), "ada") is True
    triage_report(triage, 2)
    first, second = triage.workflow.get("r-1"), triage.workflow.get("r-2")
    assert (first.ruleset_version, [m.code for m in first.matched]) == ("2026.11.1", [])
    assert (second.ruleset_version, [m.code for m in second.matched]) == ("2026.12.1", ["school"])
    with triage.db.sessions() as s:
        published = [e.data for e in triage.store.load(s, "ruleset")]
    assert [(p["version"], p["published_by"]) for p in published] == [("2026.11.1", "system"), ("2026.12.1", "ada")]


def test_a_version_cannot_be_published_twice_with_other_content(triage: Triage) -> None:
    triage.rulesets.publish(load_ruleset(stricter()), "ada")
    assert triage.rulesets.publish(load_ruleset(stricter()), "ada") is False
    with pytest.raises(RulesetConflict):
        triage.rulesets.publish(load_ruleset(stricter().replace("abuse at a school", "at school")), "ada")
