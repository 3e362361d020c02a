"""The rhythm of chasing an area assessment's open action (services/notify/area_cia/chase.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.notify.area_cia.chase import next_beat

DUE = datetime(2026, 12, 9, 12, 0, tzinfo=UTC)
EVERY = timedelta(hours=6)


def test_the_next_chase_is_the_next_beat_after_now_counted_from_the_due_time() -> None:
    assert next_beat(DUE, DUE, EVERY) == DUE + EVERY
    assert next_beat(DUE, DUE + timedelta(minutes=1), EVERY) == DUE + EVERY
    assert next_beat(DUE, DUE + EVERY, EVERY) == DUE + 2 * EVERY


def test_a_run_late_by_days_chases_once_at_the_next_beat_not_for_every_one_missed() -> None:
    late = DUE + timedelta(days=2, hours=1)
    assert next_beat(DUE, late, EVERY) == DUE + 9 * EVERY
    assert DUE + 8 * EVERY <= late < next_beat(DUE, late, EVERY)
