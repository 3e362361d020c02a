"""Honest risk from the first day: too little history says so; a force's own records seed the normal."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.assessment.cli import import_history_command
from services.assessment.history import daily_totals, parse_history
from services.assessment.main import build, create_app
from services.assessment.projection import IncidentFacts
from services.assessment.scoring import History, assess
from services.assessment.settings import AssessmentSettings
from services.assessment.store import DbStore
from shared.areas import default_registry
from shared.clock import MovableClock
from shared.migrate import upgrade
from tests.unit.test_assessment_pages import BROWSER, MET, FakeTriage, client, shown, vigil
from tests.unit.test_assessment_scoring import AREA, AS_OF, facts

FIRST_DAY = [facts(n, AS_OF - timedelta(hours=n + 1)) for n in range(3)]


def history_csv(area: str, last: date, days: int = 42, per_day: int = 2) -> str:
    rows = [f"{area},{(last - timedelta(days=d)).isoformat()},{per_day}" for d in range(days)]
    return "area,date,count\n" + "\n".join(rows) + "\n"


def seeded_by_file(text: str, today: date) -> History:
    parsed = parse_history(text, default_registry(), today)
    assert parsed.errors == []
    return History(min(r.submitted_at for r in FIRST_DAY), daily_totals(parsed.rows).get(AREA, {}))


def test_three_reports_in_a_new_deployment_are_insufficient_history_not_critical() -> None:
    picture = assess(AREA, FIRST_DAY, [], [], AS_OF)
    assert picture.level == "low"
    assert picture.history.sufficient is False and picture.history.baseline_days == 0
    assert picture.reasons[0].startswith("insufficient history: 0 of the 21 days")
    assert picture.document()["history"]["sufficient"] is False


def test_one_grave_assault_in_a_fresh_area_is_not_severe() -> None:
    assault = facts(1, AS_OF - timedelta(hours=1), ("physical_assault",), "place_of_worship", injuries="serious",
                    weapon=True)
    assert assess(AREA, [assault], [], [], AS_OF).level == "low"


def test_after_importing_history_the_same_three_reports_are_low() -> None:
    picture = assess(AREA, FIRST_DAY, [], [], AS_OF,
                     history=seeded_by_file(history_csv(AREA, AS_OF.date() - timedelta(days=1)), AS_OF.date()))
    assert picture.history.sufficient is True and picture.history.seeded_reports == 56
    assert picture.level == "low"
    assert "times the area's normal" in picture.reasons[0]
    assert picture.counts["28d"]["total"] == 3      # seeds count toward the normal, never the recent counts


def test_a_surge_against_imported_history_still_rises() -> None:
    surge = [facts(100 + n, AS_OF - timedelta(minutes=30 * n), ("threat",)) for n in range(20)]
    picture = assess(AREA, surge, [], [], AS_OF,
                     history=History(surge[-1].submitted_at, daily_totals(parse_history(
                         history_csv(AREA, AS_OF.date() - timedelta(days=1), per_day=1), default_registry(),
                         AS_OF.date()).rows)[AREA]))
    assert picture.spike.spike and picture.level in ("severe", "critical")


def test_open_critical_incidents_and_declared_tension_still_count_without_history() -> None:
    incidents = [IncidentFacts(f"i{n}", f"r{n}", AREA, "P2", True, "open", AS_OF, AS_OF, ("violence",))
                 for n in range(3)]
    assert assess(AREA, FIRST_DAY, incidents, [], AS_OF).level == "substantial"


def test_imported_days_after_vigils_records_begin_are_ignored() -> None:
    seeds = {AS_OF.date() - timedelta(days=10): 50}
    history = History(AS_OF - timedelta(days=20), seeds)
    assert history.usable == {}


def test_a_file_with_bad_rows_names_each_and_imports_nothing() -> None:
    text = ("area,date,count,strand\nE23000001,2026-05-01,3,\nE99999999,2026-05-01,1,\nE23000001,01/05/2026,1,\n"
            "E23000001,2026-05-02,-1,\nE23000001,2026-05-03,2,colour\nE23000001,2026-05-01,3,\n"
            "E23000001,2027-01-01,3,\n")
    parsed = parse_history(text, default_registry(), date(2026, 6, 10))
    assert [e.split(":")[0] for e in parsed.errors] == ["line 3", "line 4", "line 5", "line 6", "line 7", "line 8"]
    assert "E99999999" in parsed.errors[0] and "YYYY-MM-DD" in parsed.errors[1]
    assert "same area, date and strand as line 2" in parsed.errors[4] and "future" in parsed.errors[5]
    assert parse_history("area,day\nE23000001,2026-05-01\n", default_registry(), date(2026, 6, 10)).errors == [
        "line 1: the columns date, count are missing (expected area,date,count and optionally strand)"]


def test_a_day_counts_its_all_strands_row_or_else_the_sum_of_its_strands() -> None:
    text = ("area,date,count,strand\nE23000001,2026-05-01,3,race\nE23000001,2026-05-01,4,religion\n"
            "E23000001,2026-05-02,9,\nE23000001,2026-05-02,2,race\n")
    rows = parse_history(text, default_registry(), date(2026, 6, 10)).rows
    assert daily_totals(rows) == {MET: {date(2026, 5, 1): 7, date(2026, 5, 2): 9}}


def _import(path: Path) -> int:
    return import_history_command(argparse.Namespace(file=path))


def test_cold_start_then_import_history_over_the_api_and_the_pages(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'assessment.db'}"
    monkeypatch.setenv("ASSESSMENT_DATABASE_URL", url)
    upgrade("assessment", url)
    now = datetime.now(UTC)
    core = build(vigil(), AssessmentSettings(database_url=url), clock=MovableClock(now))
    with core.db.transaction() as s:
        for n in range(3):
            at = now - timedelta(hours=n + 1)
            DbStore(s).put_report(facts(n, at, area=MET, types=("physical_assault",), weapon=True))
    app = create_app(core, with_worker=False)
    app.state.staff_access = FakeTriage(vigil(), "assessment")

    def met() -> dict[str, Any]:
        answer = TestClient(app).get(f"/v1/areas/{MET}", headers={"Authorization": "Bearer ana"})
        assert answer.status_code == 200
        return answer.json()

    before = met()
    assert before["level"] == "low" and before["history"]["sufficient"] is False
    page = shown(client(app, "ana").get(f"/areas/{MET}", headers=BROWSER).text)
    assert "Insufficient history" in page and "Critical" not in page
    listed = TestClient(app).get("/v1/areas", headers={"Authorization": "Bearer ana"}).json()
    assert next(a for a in listed["areas"] if a["area"] == MET)["history"]["sufficient"] is False

    bad = tmp_path / "bad.csv"
    bad.write_text(history_csv(MET, now.date() - timedelta(days=1)) + "E23000001,yesterday,2\n", encoding="utf-8")
    assert _import(bad) == 1
    assert met()["history"]["seeded_reports"] == 0

    good = tmp_path / "met.csv"
    good.write_text(history_csv(MET, now.date() - timedelta(days=1), per_day=30), encoding="utf-8")
    assert _import(good) == 0
    after = met()
    assert _import(good) == 0
    assert met()["history"] == after["history"]
    assert after["level"] == "low" and after["history"]["sufficient"] is True
    assert "Insufficient history" not in shown(client(app, "ana").get(f"/areas/{MET}", headers=BROWSER).text)
    core.db.dispose()
