"""The retention schedule on a moved clock: each category erased when due, through the one erasure path, once;
a hold stops it until released; a withdrawn report goes after its grace period unless held.

These run on an SQLite file (the embedded default), with the service built as in production.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from services.intake import tables
from services.intake.application import SubmitReport
from services.intake.domain import ReportIn
from services.intake.main import Intake, build
from services.intake.retention import Category, RetentionSchedule
from services.intake.settings import IntakeSettings
from services.intake.status import StatusFollower
from shared.clock import MovableClock
from shared.events.base import Envelope
from shared.events.incidents import IncidentTriaged, Priority
from shared.events.reports import ErasureBasis, HoldKind, ReportErased
from shared.migrate import upgrade
from shared.settings import VigilSettings
from tests.factories import report_body
from tests.support.waiting import eventually

DAY = timedelta(days=1)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(datetime.now(UTC))


@pytest.fixture
def intake(tmp_path: Path, clock: MovableClock) -> Intake:
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    upgrade("intake", url)
    return build(VigilSettings(environment="test"), IntakeSettings(database_url=url), clock)


def submit(intake: Intake) -> tuple[str, str, str]:
    """(report id, reference, follow-up token) of a fresh report."""
    receipt = intake.app.submit(SubmitReport(report=ReportIn.model_validate(report_body())))
    return receipt.report_id, receipt.reference, receipt.follow_up_token


def triaged(intake: Intake, report_id: str, hate_crime: bool) -> None:
    """Triage's decision arriving on vigil.incidents.v1, as the status follower sees it."""
    now = intake.clock.now()
    event = IncidentTriaged(incident_id=report_id, report_id=report_id, reference="R", area="E23000001",
                            triaged_at=now, matched=[], critical=False, needs_duty_inspector=False,
                            priority=Priority.P3 if hate_crime else Priority.P4, ack_deadline=None,
                            ruleset_version="test", hate_crime=hate_crime)
    env = Envelope(id=f"e-{report_id}", type=event.TYPE, source="/vigil/triage", subject=report_id, time=now,
                   sequence=1, key=report_id, topic=event.TOPIC, data=event.model_dump(mode="json"))
    with intake.db.transaction() as s:
        StatusFollower(intake.clock)(s, env)


def erasures(intake: Intake, report_id: str) -> list[ReportErased]:
    with intake.db.sessions() as s:
        events = [env.event() for env in intake.store.load(s, report_id)]
    return [e for e in events if isinstance(e, ReportErased)]


def key_row(intake: Intake, report_id: str) -> Any:
    with intake.db.sessions() as s:
        return s.execute(select(tables.report_keys).where(tables.report_keys.c.report_id == report_id)).first()


def test_the_schedule_comes_from_settings_with_six_years_ninety_days_and_thirty_days_by_default() -> None:
    default = RetentionSchedule.of(IntakeSettings())
    assert (default.hate_crime, default.nchi, default.withdrawn) == (2190 * DAY, 90 * DAY, 30 * DAY)
    schedule = RetentionSchedule.of(IntakeSettings(retention_nchi_days=10, retention_hate_crime_days=400))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert schedule.erase_at(start, False, None) == start + 10 * DAY
    assert schedule.erase_at(start, True, None) == schedule.erase_at(start, None, None) == start + 400 * DAY
    assert schedule.erase_at(start, True, start + DAY) == start + DAY, "a withdrawal's date, as the reporter was told"
    assert [schedule.category(None, False), schedule.category(False, False), schedule.category(False, True)] == [
        Category.hate_crime, Category.nchi, Category.withdrawn]


def test_a_report_triage_has_not_classified_is_kept_as_a_hate_crime_then_erased_once(
        intake: Intake, clock: MovableClock) -> None:
    report_id, _, _ = submit(intake)
    clock.advance(2189 * DAY)
    assert intake.retention.sweep() == 0
    clock.advance(2 * DAY)
    assert intake.retention.sweep() == 1
    assert intake.retention.sweep() == 0, "an erased report is never erased again"
    assert key_row(intake, report_id) is None
    [erased] = erasures(intake, report_id)
    assert (erased.requested_by, erased.basis) == ("retention schedule", ErasureBasis.retention)
    assert erased.reason == "retention schedule: a hate crime, 2190 days after it was reported"


def test_a_non_crime_hate_incident_goes_after_ninety_days_and_a_hate_crime_stays(
        intake: Intake, clock: MovableClock) -> None:
    incident, _, _ = submit(intake)
    crime, _, _ = submit(intake)
    triaged(intake, incident, hate_crime=False)
    triaged(intake, crime, hate_crime=True)
    clock.advance(89 * DAY)
    assert intake.retention.sweep() == 0
    clock.advance(2 * DAY)
    assert intake.retention.sweep() == 1
    assert key_row(intake, incident) is None and key_row(intake, crime) is not None
    assert "non-crime hate incident, 90 days" in str(erasures(intake, incident)[0].reason)


def test_a_later_decision_that_it_is_a_hate_crime_keeps_it_longer(intake: Intake, clock: MovableClock) -> None:
    report_id, _, _ = submit(intake)
    triaged(intake, report_id, hate_crime=False)
    triaged(intake, report_id, hate_crime=True)  # re-triaged after the reporter added information
    clock.advance(91 * DAY)
    assert intake.retention.sweep() == 0


@pytest.mark.parametrize("kind", list(HoldKind))
def test_a_hold_stops_the_retention_job_until_it_is_released(intake: Intake, clock: MovableClock,
                                                             kind: HoldKind) -> None:
    report_id, reference, _ = submit(intake)
    triaged(intake, report_id, hate_crime=False)
    hold = intake.protection.place_hold(reference, kind, "an investigation is open", "dana")
    clock.advance(365 * DAY)
    assert intake.retention.sweep() == 0
    assert key_row(intake, report_id) is not None
    intake.protection.release_hold(reference, hold.hold_id, "the investigation closed", "dana")
    assert intake.retention.sweep() == 1
    assert key_row(intake, report_id) is None


def test_a_withdrawn_report_is_erased_after_the_grace_period_on_the_date_the_reporter_was_told(
        intake: Intake, clock: MovableClock) -> None:
    report_id, reference, token = submit(intake)
    withdrawn = intake.withdrawals.withdraw(reference, token, "I have sorted it out")
    assert withdrawn.erase_after == clock.now() + 30 * DAY
    clock.advance(29 * DAY)
    assert intake.retention.sweep() == 0
    clock.advance(2 * DAY)
    assert intake.retention.sweep() == 1
    [erased] = erasures(intake, report_id)
    assert (erased.requested_by, erased.basis) == ("reporter", ErasureBasis.withdrawal)


def test_a_safeguarding_hold_keeps_a_withdrawn_report_until_it_is_released(intake: Intake,
                                                                           clock: MovableClock) -> None:
    report_id, reference, token = submit(intake)
    intake.withdrawals.withdraw(reference, token)
    hold = intake.protection.place_hold(reference, HoldKind.safeguarding, "a real risk of significant harm", "dana")
    clock.advance(40 * DAY)
    assert intake.retention.sweep() == 0
    assert intake.app.status(reference, token).status == "withdrawn"
    intake.protection.release_hold(reference, hold.hold_id, "the risk has passed", "dana")
    assert intake.retention.sweep() == 1
    assert key_row(intake, report_id) is None


def test_the_background_job_erases_what_falls_due_when_the_clock_moves(intake: Intake, clock: MovableClock) -> None:
    intake.retention.interval_seconds = 0.05
    report_id, reference, token = submit(intake)
    intake.withdrawals.withdraw(reference, token)
    stop = threading.Event()
    worker = threading.Thread(target=intake.retention.run, args=(stop,), daemon=True)
    worker.start()
    try:
        clock.advance(31 * DAY)
        eventually(lambda: key_row(intake, report_id) is None, 10, "the withdrawn report to be erased")
    finally:
        stop.set()
        worker.join(5)
    assert len(erasures(intake, report_id)) == 1
