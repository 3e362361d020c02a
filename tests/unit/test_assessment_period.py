"""The strategic assessment's period: any day a client names gets an answer, never a server error."""

from __future__ import annotations

from datetime import date

import pytest

from services.assessment.queries import EARLIEST, LATEST, period
from shared.problems import Unprocessable

TODAY = date(2026, 12, 6)


@pytest.mark.parametrize(("start", "end", "field"), [
    (None, date(1, 1, 1), "to"),  # the day before its default start does not exist: once a 500
    (None, date(9999, 12, 31), "to"),
    (date(1, 1, 1), None, "from"),
    (date(1924, 12, 31), date(1925, 1, 10), "from"),
    (date(2077, 10, 1), date(2077, 11, 2), "to"),
])
def test_a_day_outside_the_calendars_is_refused_naming_the_field(start: date | None, end: date | None,
                                                                  field: str) -> None:
    with pytest.raises(Unprocessable) as refused:
        period(start, end, TODAY)
    assert [e["field"] for e in refused.value.extra["errors"]] == [field]


def test_the_first_days_the_calendars_know_are_a_period_of_their_own() -> None:
    first, last = period(None, EARLIEST, TODAY)
    assert first.date() < EARLIEST <= last.date()
    assert period(None, LATEST, TODAY)[1].date() == LATEST
