"""The spike test on constructed series: a surge is found within the day, a weekly rhythm is not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.assessment.scoring import WINDOWS, window_history
from services.assessment.spike import poisson_upper_tail, spike_test

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday


def _weekly_rhythm(weeks: int) -> list[datetime]:
    """Two reports a weekday, six on Fridays (after prayers), four on Saturdays, spread through each day."""
    per_day = {0: 2, 1: 2, 2: 2, 3: 2, 4: 6, 5: 4, 6: 2}
    times = []
    for d in range(weeks * 7):
        day = START + timedelta(days=d)
        n = per_day[day.weekday()]
        times += [day + timedelta(hours=(h + 0.5) * 24 / n) for h in range(n)]
    return times


def _spike_at(times: list[datetime], when: datetime) -> bool:
    ordered = sorted(t for t in times if t <= when)
    observed = sum(1 for t in ordered if when - WINDOWS["24h"] < t <= when)
    return spike_test(observed, window_history(ordered, when, WINDOWS["24h"])).spike


def test_poisson_tail_matches_known_values() -> None:
    assert abs(poisson_upper_tail(1, 2.0) - (1 - 2.718281828 ** -2)) < 1e-9
    assert abs(poisson_upper_tail(5, 1.0) - (1 - 2.718281828459045 ** -1 * (1 + 1 + 1 / 2 + 1 / 6 + 1 / 24))) < 1e-12
    assert poisson_upper_tail(0, 3.0) == 1.0
    assert 0 < poisson_upper_tail(400, 5.0) < 1e-300 or poisson_upper_tail(400, 5.0) == 0.0


def test_normal_weekly_rhythm_is_never_a_spike() -> None:
    times = _weekly_rhythm(10)
    hours = [START + timedelta(weeks=4, hours=h) for h in range(0, 6 * 7 * 24)]
    assert not any(_spike_at(times, h) for h in hours)


def test_christchurch_like_surge_is_detected_within_the_day() -> None:
    # 12 a week before; from the trigger, 95 a week (one report every ~106 minutes -> every 13)
    base = [START + timedelta(hours=14 * i) for i in range(int(5 * 7 * 24 / 14))]
    trigger = START + timedelta(weeks=5, hours=10)
    surge = [trigger + timedelta(minutes=106 * i / 8) for i in range(95)]
    times = sorted([t for t in base if t < trigger] + surge)
    before = [trigger - timedelta(hours=h) for h in range(1, 24 * 7)]
    assert not any(_spike_at(times, h) for h in before)
    first = next(h for h in range(1, 25) if _spike_at(times, trigger + timedelta(hours=h)))
    assert first <= 24


def test_a_few_reports_in_a_quiet_area_are_not_a_spike() -> None:
    assert not spike_test(3, [0, 0, 0, 0]).spike
    assert spike_test(6, [0, 0, 0, 0]).spike
    assert not spike_test(9, [6, 5, 7, 6]).spike
