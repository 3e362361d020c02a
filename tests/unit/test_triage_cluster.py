"""The `cluster` rule against a place's or district's own normal (#14): a force the size of the Met with tens of
reports a day does not make every report critical; a place with a sudden spike does.

The rule's arithmetic with an in-memory twin of the report memory, then the real memory on an SQLite file.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import insert

from services.triage import tables
from services.triage.main import Triage, build
from services.triage.memory import Remembered
from services.triage.rules import (
    DEFAULT_RULESET,
    RULESETS,
    HistoryKind,
    RulesetInvalid,
    Subject,
    default_ruleset,
    load_ruleset,
    load_ruleset_file,
)
from services.triage.settings import TriageSettings
from shared.clock import MovableClock
from shared.events.reports import IncidentFacts, ReportSubmitted
from shared.migrate import upgrade
from shared.settings import VigilSettings

NOW = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)  # a Friday evening
MET = "E23000001"
RULES = default_ruleset()
OLD_RULES = load_ruleset_file(RULESETS / "default-2026.11.1.yaml")


def facts(**overrides: Any) -> IncidentFacts:
    base: dict[str, Any] = {"occurred_at": NOW - timedelta(hours=1), "types": ["verbal_abuse"],
                            "targeted_characteristics": ["race"], "location": {"area": MET, "place_type": "street"}}
    return IncidentFacts.model_validate(base | overrides)


def baseline(counts: dict[HistoryKind, tuple[int, list[int]]]) -> Any:
    """An in-memory twin: other reports in the window now, and the same window in each earlier week."""
    return lambda kind, _window, weeks: counts.get(kind, (0, [0] * weeks))


def codes(counts: dict[HistoryKind, tuple[int, list[int]]]) -> list[str]:
    return RULES.decide(Subject(facts=facts(), baseline=baseline(counts))).codes


def test_the_packaged_default_is_the_newest_version_and_the_old_one_is_kept() -> None:
    assert DEFAULT_RULESET.name == "default-2026.12.1.yaml" and RULES.version == "2026.12.1"
    assert OLD_RULES.version == "2026.11.1"
    assert RULES.document["rules"][6]["when"]["spike"] == ["same_place", "same_district"]


@pytest.mark.parametrize(("kind", "now", "history", "fires"), [
    (HistoryKind.same_place, 4, [0, 0, 0, 0], True),  # five at a place that had none: P(X>=5 | 0.5) ~ 0.0002
    (HistoryKind.same_place, 3, [0, 0, 0, 0], False),  # four: P ~ 0.002, not enough
    (HistoryKind.same_district, 9, [5, 4, 6, 5], False),  # ten where five is normal: a busy district's Friday
    (HistoryKind.same_district, 19, [5, 4, 6, 5], True),  # twenty where five is normal
    (HistoryKind.same_area, 60, [50, 55, 48, 52], False),  # the whole force is never the measure
    (HistoryKind.same_area, 200, [50, 55, 48, 52], False),
])
def test_a_cluster_is_a_spike_against_the_places_own_normal(kind: HistoryKind, now: int, history: list[int],
                                                           fires: bool) -> None:
    assert ("cluster" in codes({kind: (now, history)})) is fires


def test_a_cluster_says_where_and_against_what() -> None:
    d = RULES.decide(Subject(facts=facts(), baseline=baseline({HistoryKind.same_district: (7, [1, 0, 1, 0])})))
    [m] = d.matched
    assert m.code == "cluster" and d.priority.value == "P2"
    assert "8 reports in the same postcode district within 24 hours either side" in m.explanation
    assert "against 0.5 expected from the same days of the previous 4 weeks" in m.explanation


@pytest.mark.parametrize(("change", "message"), [
    ({"spike": []}, "should be non-empty"),
    ({"spike": ["same_street"]}, "is not one of"),
    ({"alpha": 0}, "less than or equal to 0"),
    ({"min_ratio": 0.5}, "less than the minimum"),
])
def test_the_spike_condition_is_checked_by_the_schema(change: dict[str, Any], message: str) -> None:
    doc = yaml.safe_load(DEFAULT_RULESET.read_text())
    doc["rules"][6]["when"] |= change
    with pytest.raises(RulesetInvalid) as caught:
        load_ruleset(yaml.safe_dump(doc))
    assert caught.value.errors[0]["path"] == "rules[6].when"


# --- the real report memory --------------------------------------------------------------------------------

@pytest.fixture
def triage(tmp_path: Path) -> Iterator[Triage]:
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    upgrade("triage", url)
    t = build(VigilSettings(), TriageSettings(database_url=url), MovableClock(NOW))
    yield t
    t.db.dispose()


def report(n: int, at: datetime, district: str, place: str | None = None) -> ReportSubmitted:
    return ReportSubmitted.model_validate({
        "report_id": f"r-{n}", "reference": f"VGL-{n}", "submitted_at": at, "channel": "web",
        "reporter": {"role": "victim", "anonymous": True}, "consent": {},
        "incident": {"occurred_at": at - timedelta(hours=1), "types": ["verbal_abuse"],
                     "targeted_characteristics": ["race"], "location": {"area": MET, "place_type": "street"}},
        "grading": {"source": "2", "intelligence": "A", "handling": "C"},
        "fingerprints": {"place": place}, "postcode_district": district, "source_burst": f"s-{n}"})


def met_history(triage: Triage, days: int = 35, per_day: int = 40, districts: int = 30) -> int:
    """Five weeks of a Met-sized force: forty reports a day, spread over thirty postcode districts."""
    rows = []
    for n in range(1, days * per_day + 1):
        day, i = divmod(n - 1, per_day)
        r = Remembered.of(report(n, NOW - timedelta(days=days - day, minutes=i * 36), f"d-{n % districts}"))
        rows.append({"report_id": r.report_id, "area": r.area, "submitted_at": r.submitted_at,
                     "facts": r.facts.model_dump_json(), "district": r.district, "source_fp": r.source_fp})
    with triage.db.transaction() as s:
        s.execute(insert(tables.report_memory), rows)
    return len(rows)


def triage_all(triage: Triage, reports: list[ReportSubmitted]) -> list[list[str]]:
    with triage.db.transaction() as s:
        for r in reports:
            triage.decisions.triage(s, r)
    return [[m.code for m in triage.workflow.get(r.report_id).matched] for r in reports]


def test_a_met_sized_day_has_no_cluster_where_the_old_rule_made_nearly_every_report_critical(triage: Triage) -> None:
    n = met_history(triage)
    today = [report(n + i, NOW - timedelta(minutes=i * 36), f"d-{i % 30}") for i in range(1, 41)]
    assert [c for c in triage_all(triage, today) if "cluster" in c] == []
    with triage.db.transaction() as s:
        old = [OLD_RULES.decide(Subject(facts=r.incident, history=triage.decisions.memory.counter(
            s, Remembered.of(r)))).codes for r in today]
    assert sum("cluster" in c for c in old) == 40, "three in a force area within 24 hours: every one of them"


def test_a_sudden_spike_at_one_place_is_a_cluster_from_the_fifth_report(triage: Triage) -> None:
    n = met_history(triage)
    mosque = [report(n + i, NOW - timedelta(hours=5 - i), "d-7", place="p-mosque") for i in range(1, 7)]
    matched = triage_all(triage, mosque)
    assert ["cluster" in c for c in matched] == [False, False, False, False, True, True]
    [evidence] = [m.explanation for m in triage.workflow.get(mosque[4].report_id).matched if m.code == "cluster"]
    assert "5 reports at the same place within 24 hours either side" in evidence


def test_a_district_far_above_its_normal_is_a_cluster(triage: Triage) -> None:
    n = met_history(triage, days=29)
    surge = [report(n + i, NOW - timedelta(minutes=10 * i), "d-3") for i in range(1, 13)]
    matched = triage_all(triage, surge)
    first = next(i for i, c in enumerate(matched) if "cluster" in c)
    assert 5 <= first + 1 <= 12, f"a surge of twelve against about three is found within it (at {first + 1})"
    assert all("cluster" in c for c in matched[first:])
