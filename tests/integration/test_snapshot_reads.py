"""A page built from several queries is built from one moment of the database (ADR 0047).

PostgreSQL's READ COMMITTED gives each statement its own snapshot. These tests commit a report from
another connection *between* two statements of one read, deterministically (an engine hook fires
just before the second statement), and check the read still saw one state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from services.assessment import tables
from services.assessment.main import build, create_app
from services.assessment.settings import AssessmentSettings
from shared.clock import SystemClock
from shared.db import Database
from shared.migrate import upgrade
from shared.settings import VigilSettings
from tests.unit.test_assessment_pages import FakeTriage

AREA = "E23000005"   # Greater Manchester


def _report(n: int) -> dict[str, Any]:
    at = SystemClock().now() - timedelta(hours=2)
    return {"report_id": f"r-{n}", "reference": f"REF{n:07d}", "area": AREA, "district": None, "occurred_at": at,
            "submitted_at": at, "updated_at": at, "sequence": 1, "types": "assault", "strands": "religion",
            "religion": "muslim", "place_type": "street", "place_fp": None, "injuries": "none", "weapon": False,
            "ongoing": False, "vulnerable": False, "repeat": False, "grading": "2AC", "channel": "web",
            "role": "victim", "withdrawn": False}


class CommitBefore:
    """Commits a new report from another connection once, just before the first statement matching `marker`."""

    def __init__(self, db: Database, url: str, marker: str) -> None:
        self.db, self.other, self.marker, self.fired, self.made = db, Database(url), marker, 0, 0
        event.listen(db.engine, "before_cursor_execute", self._before)

    def _before(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.marker in statement and not self.fired:
            self.fired, self.made = 1, self.made + 1
            with self.other.transaction() as s:
                s.execute(tables.reports.insert().values(**_report(1000 + self.made)))

    def close(self) -> None:
        event.remove(self.db.engine, "before_cursor_execute", self._before)
        self.other.dispose()


@pytest.fixture
def url(new_database: Callable[[str], str]) -> str:
    url = new_database("assessment")
    upgrade("assessment", url)
    db = Database(url)
    with db.transaction() as s:
        s.execute(tables.reports.insert().values(**_report(1)))
    db.dispose()
    return url


@pytest.fixture
def db(url: str) -> Iterator[Database]:
    db = Database(url)
    yield db
    db.dispose()


def _count(s: Any) -> int:
    return int(s.execute(select(func.count()).select_from(tables.reports)).scalar_one())


def test_a_snapshot_session_keeps_one_state_where_a_plain_session_moves_on(db: Database, url: str) -> None:
    racer = CommitBefore(db, url, "count(*)")
    try:
        with db.snapshot() as s:
            s.execute(select(tables.reports.c.report_id)).all()   # the snapshot is taken here
            assert _count(s) == 1, "a report committed after the read began is not seen"
        assert racer.fired == 1
        racer.fired = 0
        with db.sessions() as s:
            s.execute(select(tables.reports.c.report_id)).all()
            assert _count(s) == 3, "READ COMMITTED: the second statement sees the new commit"
    finally:
        racer.close()


def test_an_areas_totals_and_its_picture_come_from_one_moment(url: str) -> None:
    vigil = VigilSettings(environment="test", kafka_bootstrap="127.0.0.1:1", topic_prefix="unused.")
    assessment = build(vigil, AssessmentSettings(database_url=url))
    headers = {"Authorization": "Bearer ana"}  # a national analyst, signed in (FakeTriage answers for the token)
    app = create_app(assessment, with_worker=False)
    app.state.staff_access = FakeTriage(vigil, "assessment")
    racer = CommitBefore(assessment.db, url, "count(*)")   # the all-time totals, read after the picture
    try:
        with TestClient(app) as client:
            first = client.get(f"/v1/areas/{AREA}", headers=headers).json()
            assert racer.fired == 1
            assert first["reports"] == first["counts"]["24h"]["total"] == 1
            again = client.get(f"/v1/areas/{AREA}", headers=headers).json()
            assert again["reports"] == again["counts"]["24h"]["total"] == 2
    finally:
        racer.close()
        assessment.db.dispose()
