"""The calendar factor on dates whose festivals are publicly known (the code computes them)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.assessment.calendar import Anniversary, calendar_factor, diwali_new_moon, events_between


def _names(first: date, last: date) -> dict[str, tuple[date, date]]:
    return {e.name: (e.start, e.end) for e in events_between(first, last)}


def test_ramadan_2026_and_2027_start_on_the_umm_al_qura_dates() -> None:
    assert _names(date(2026, 2, 1), date(2026, 3, 1))["Ramadan"] == (date(2026, 2, 18), date(2026, 3, 19))
    assert _names(date(2027, 2, 1), date(2027, 3, 1))["Ramadan"][0] == date(2027, 2, 8)


def test_eid_al_fitr_follows_the_last_day_of_ramadan() -> None:
    found = _names(date(2026, 3, 1), date(2026, 3, 31))
    assert found["Eid al-Fitr"][0] == date(2026, 3, 20)


def test_jewish_high_holy_days_2026_run_from_rosh_hashanah_to_yom_kippur() -> None:
    found = _names(date(2026, 9, 1), date(2026, 9, 30))
    assert found["Jewish high holy days (Rosh Hashanah to Yom Kippur)"] == (date(2026, 9, 12), date(2026, 9, 21))


def test_diwali_follows_the_kartika_new_moon_including_a_leap_month_year() -> None:
    # Diwali: 14 Nov 2020 (after an adhik month), 24 Oct 2022, 12 Nov 2023, 1 Nov 2024, 8 Nov 2026
    assert [diwali_new_moon(y) for y in (2020, 2022, 2023, 2024, 2026)] == [
        date(2020, 11, 15), date(2022, 10, 25), date(2023, 11, 13), date(2024, 11, 1), date(2026, 11, 9)]


def test_friday_prayer_hours_raise_the_factor_and_say_why() -> None:
    friday_noon = calendar_factor(datetime(2026, 7, 3, 12, 30, tzinfo=UTC))  # 13:30 in London (BST)
    friday_evening = calendar_factor(datetime(2026, 7, 3, 19, 0, tzinfo=UTC))
    assert friday_noon.factor == 1.2 and "Friday prayers" in friday_noon.reasons[0]
    assert friday_evening.factor == 1.0 and friday_evening.reasons == ()


def test_overlapping_periods_take_the_largest_weight_and_list_every_reason() -> None:
    during = calendar_factor(datetime(2026, 3, 15, 10, 0, tzinfo=UTC))  # Ramadan and the Christchurch anniversary
    assert during.factor == 1.3
    assert any("Ramadan" in r for r in during.reasons) and any("Christchurch" in r for r in during.reasons)


def test_configured_anniversaries_are_used_instead_of_the_defaults() -> None:
    custom = (Anniversary("local anniversary", 8, 4, 1.5),)
    assert calendar_factor(datetime(2026, 8, 4, 9, 0, tzinfo=UTC), custom).factor == 1.5
    assert calendar_factor(datetime(2026, 3, 15, 9, 0, tzinfo=UTC), custom).reasons == (
        "Ramadan (2026-02-18 to 2026-03-19): x1.3",)
