"""Cold start over PostgreSQL and the real command: insufficient history, then a force's records imported."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from services.assessment import tables
from services.assessment.main import build, create_app
from services.assessment.rebuild import live_digest
from services.assessment.settings import AssessmentSettings
from services.assessment.store import DbStore
from shared.clock import MovableClock
from shared.migrate import upgrade
from shared.settings import VigilSettings
from tests.unit.test_assessment_history import history_csv
from tests.unit.test_assessment_pages import MET, FakeTriage
from tests.unit.test_assessment_scoring import facts

ROOT = Path(__file__).resolve().parents[2]


def _import(url: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "services.cli", "assessment", "import-history", str(path)],
                          cwd=ROOT, env={**os.environ, "ASSESSMENT_DATABASE_URL": url}, capture_output=True,
                          text=True, timeout=120)


def test_a_new_deployment_says_insufficient_history_until_a_forces_records_are_imported(
        new_database: Callable[[str], str], tmp_path: Path) -> None:
    url = new_database("assessment")
    upgrade("assessment", url)
    now = datetime.now(UTC)
    vigil = VigilSettings(environment="test", kafka_bootstrap="127.0.0.1:1", topic_prefix="unused.")
    core = build(vigil, AssessmentSettings(database_url=url), clock=MovableClock(now))
    with core.db.transaction() as s:
        for n in range(3):
            DbStore(s).put_report(facts(n, now - timedelta(hours=n + 1), area=MET, types=("physical_assault",),
                                        weapon=True))
    app = create_app(core, with_worker=False)
    app.state.staff_access = FakeTriage(vigil, "assessment")

    def met() -> dict[str, Any]:
        answer = TestClient(app).get(f"/v1/areas/{MET}", headers={"Authorization": "Bearer ana"})
        assert answer.status_code == 200
        return answer.json()

    try:
        cold = met()
        assert cold["level"] == "low" and cold["history"]["sufficient"] is False
        digest = live_digest(core.db, core.registry)

        bad = tmp_path / "bad.csv"
        bad.write_text(history_csv(MET, now.date() - timedelta(days=1)) + "E99999999,2026-01-01,2\n",
                       encoding="utf-8")
        refused = _import(url, bad)
        assert refused.returncode == 1 and "line 44: area 'E99999999'" in refused.stderr
        assert "nothing imported" in refused.stderr

        good = tmp_path / "met.csv"
        good.write_text(history_csv(MET, now.date() - timedelta(days=1), per_day=30), encoding="utf-8")
        for _ in range(2):
            done = _import(url, good)
            assert done.returncode == 0, done.stderr
            with core.db.snapshot() as s:
                assert s.execute(select(func.count()).select_from(tables.area_history)).scalar() == 42

        seeded = met()
        assert seeded["level"] == "low" and seeded["history"]["sufficient"] is True
        assert seeded["counts"]["24h"]["total"] == 3
        assert live_digest(core.db, core.registry) == digest   # imported history is not the fold's
    finally:
        core.db.dispose()
