"""The reporter's status follows triage's event classes; a failed group commit is retried report by report."""

from __future__ import annotations

from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.intake import tables
from services.intake.domain import Status
from services.intake.status import StatusFollower, status_meant
from services.intake.writer import PendingReport, answer, one_by_one
from shared.clock import MovableClock
from shared.db import Database
from shared.events.base import Envelope, Event
from shared.events.incidents import HeightenedTensionDeclared, IncidentAcknowledged, IncidentClosed
from shared.events.reports import ReportWithdrawn
from shared.migrate import upgrade

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def envelope(event: Event, key: str) -> Envelope:
    return Envelope(id=f"e-{key}-{event.TYPE}", type=event.TYPE, source="/vigil/triage", subject=key, time=NOW,
                    sequence=1, key=key, topic=event.TOPIC, data=event.model_dump(mode="json"))


def acknowledged(report_id: str) -> Envelope:
    return envelope(IncidentAcknowledged(incident_id=report_id, acknowledged_by="di-1", acknowledged_at=NOW),
                    report_id)


def test_the_status_an_event_means_is_found_by_its_class() -> None:
    tension = HeightenedTensionDeclared(tension_id="t-1", area="E23000001", reason="vigil", starts_at=NOW,
                                        declared_by="di-1", declared_at=NOW)
    assert status_meant(acknowledged("r-1")) == Status.with_the_police
    assert status_meant(envelope(tension, "E23000001")) is None
    assert status_meant(envelope(ReportWithdrawn(report_id="r-1", withdrawn_at=NOW), "r-1")) is None
    unknown = acknowledged("r-1").model_copy(update={"type": "vigil.incident.acknowledged.v9"})
    assert status_meant(unknown) is None, "a type intake has no class for is skipped"


@pytest.fixture
def db(tmp_path: Path) -> Database:
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    upgrade("intake", url)
    return Database(url)


def stored_status(db: Database, report_id: str) -> str:
    with db.sessions() as s:
        status: str = s.execute(tables.reports.select().where(tables.reports.c.report_id == report_id)
                                ).mappings().one()["status"]
    return status


def test_the_status_follows_events_keyed_by_the_report_and_never_goes_back(db: Database) -> None:
    with db.transaction() as s:
        s.execute(tables.reports.insert().values(report_id="r-1", reference="ABCDEFGHJK", token_hash="0" * 64,
                                                 status="received", area="E23000001", created_at=NOW,
                                                 updated_at=NOW))
    follow = StatusFollower(MovableClock(NOW))
    closed = envelope(IncidentClosed(incident_id="r-1", outcome="no further action", closed_at=NOW), "r-1")
    for env, expected in [(acknowledged("r-1"), "with_the_police"), (closed, "closed"),
                          (acknowledged("r-1"), "closed"), (acknowledged("no-such-report"), "closed")]:
        with db.transaction() as s:
            follow(s, env)
        assert stored_status(db, "r-1") == expected


def batch_of(size: int) -> list[tuple[PendingReport, Future[None]]]:
    pending: Any = None  # the helpers never look at the report itself
    return [(pending, Future()) for _ in range(size)]


def test_a_failed_batch_is_tried_again_one_report_at_a_time() -> None:
    batch = batch_of(3)
    assert one_by_one(batch, RuntimeError("clash")) == [[item] for item in batch]
    assert not any(done.done() for _, done in batch), "nobody is answered until their own try"


def test_a_report_that_fails_alone_gets_the_error_and_a_committed_batch_gets_its_answers() -> None:
    [alone] = batch_of(1)
    clash = RuntimeError("clash")
    assert one_by_one([alone], clash) == []
    assert alone[1].exception() is clash
    batch = batch_of(2)
    batch[0][1].cancel()  # the caller gave up: answering it must not stop the others' answers
    answer(batch)
    assert batch[1][1].result() is None
