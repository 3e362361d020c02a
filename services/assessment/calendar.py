"""When risk rises: faith calendars, Friday prayers and anniversaries, as a factor with its reasons.

Dates are computed, never typed in: Islamic dates through ``hijridate`` (Umm al-Qura), Jewish
dates and Easter through ``convertdate``, Diwali from the Kartika new moon (Meeus' lunation
series, below), Vaisakhi from the Nanakshahi solar date. Only anniversaries of attacks are
configured, because they are Gregorian dates by nature. Where several periods overlap the
factor is the largest weight, not the product, so a coincidence cannot run away with the score;
every matching reason is still shown.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from convertdate import hebrew, holidays
from hijridate import Gregorian, Hijri

LONDON = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class Anniversary:
    """`faiths` are the faiths whose sites the anniversary concerns most (a site's plan and likelihood read
    them); empty means every faith's."""

    name: str
    month: int
    day: int
    weight: float = 1.2
    faiths: tuple[str, ...] = ()


@dataclass(frozen=True)
class CalendarEvent:
    name: str
    faith: str
    start: date
    end: date          # inclusive
    weight: float
    faiths: tuple[str, ...] = ()   # anniversaries: the faiths they concern (empty: all)

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class CalendarFactor:
    factor: float
    reasons: tuple[str, ...]


DEFAULT_ANNIVERSARIES: tuple[Anniversary, ...] = (
    Anniversary("anniversary of the Christchurch mosque attacks", 3, 15, faiths=("muslim",)),
    Anniversary("anniversary of the Manchester Arena attack", 5, 22),
    Anniversary("anniversary of the Finsbury Park mosque attack", 6, 19, faiths=("muslim",)),
    Anniversary("anniversary of the 7 October 2023 attacks", 10, 7, faiths=("jewish",)),
)

FRIDAY_PRAYERS = (time(12, 0), time(15, 0))
FRIDAY_WEIGHT = 1.2


def _hijri_day(year: int, month: int, day: int) -> date:
    g = Hijri(year, month, day).to_gregorian()
    return date(g.year, g.month, g.day)


def _islamic(gregorian_year: int) -> Iterator[CalendarEvent]:
    """Each Hijri year that overlaps the Gregorian year, so festivals near 1 January are not missed."""
    first = Gregorian(gregorian_year, 1, 1).to_hijri().year
    for hy in (first, first + 1):
        ramadan = _hijri_day(hy, 9, 1)
        fitr = _hijri_day(hy, 10, 1)
        yield CalendarEvent("Ramadan", "muslim", ramadan, fitr - timedelta(days=1), 1.3)
        yield CalendarEvent("Eid al-Fitr", "muslim", fitr, fitr + timedelta(days=2), 1.4)
        adha = _hijri_day(hy, 12, 10)
        yield CalendarEvent("Eid al-Adha", "muslim", adha, adha + timedelta(days=3), 1.4)
        muharram = _hijri_day(hy, 1, 1)
        yield CalendarEvent("Muharram (Islamic New Year to Ashura)", "muslim", muharram,
                            muharram + timedelta(days=9), 1.2)


def _quiet(fn: Callable[..., Any], *args: int) -> Any:
    """convertdate's Hebrew module calls its own deprecated `month_days`; the warning is its business."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return fn(*args)


def _hebrew_day(year: int, month: int, day: int) -> date:
    return date(*_quiet(hebrew.to_gregorian, year, month, day))


def _jewish(gregorian_year: int) -> Iterator[CalendarEvent]:
    hy = _quiet(hebrew.from_gregorian, gregorian_year, 6, 1)[0]  # the year in which Nisan of this spring falls
    for year in (hy, hy + 1):
        rosh = _hebrew_day(year, 7, 1)
        yield CalendarEvent("Jewish high holy days (Rosh Hashanah to Yom Kippur)", "jewish", rosh,
                            _hebrew_day(year, 7, 10), 1.3)
    passover = date(*_quiet(holidays.passover, gregorian_year))
    yield CalendarEvent("Passover", "jewish", passover, passover + timedelta(days=7), 1.2)
    hanukkah = date(*_quiet(holidays.hanukkah, gregorian_year))
    yield CalendarEvent("Hanukkah", "jewish", hanukkah, hanukkah + timedelta(days=7), 1.1)


def new_moon_near(day: date) -> date:
    """The new moon nearest `day`, from Meeus (Astronomical Algorithms, ch. 49): within hours."""
    k = round((day.year + (day.timetuple().tm_yday - 1) / 365.25 - 2000) * 12.3685)
    t = k / 1236.85
    jde = 2451550.09766 + 29.530588861 * k + 0.00015437 * t * t
    m = math.radians((2.5534 + 29.10535670 * k) % 360)
    mp = math.radians((201.5643 + 385.81693528 * k) % 360)
    f = math.radians((160.7108 + 390.67050284 * k) % 360)
    jde += (-0.40720 * math.sin(mp) + 0.17241 * math.sin(m) + 0.01608 * math.sin(2 * mp)
            + 0.01039 * math.sin(2 * f) + 0.00739 * math.sin(mp - m) - 0.00514 * math.sin(mp + m))
    moment = datetime(2000, 1, 1, 12, tzinfo=UTC) + timedelta(days=jde - 2451545.0)
    return moment.date()


def diwali_new_moon(gregorian_year: int) -> date:
    """Diwali is the Amavasya that ends the lunar month in which the sun enters sidereal Libra (~17 October):
    the first new moon from 18 October (UTC date). The festival is kept on the day before or of it."""
    threshold = date(gregorian_year, 10, 18)
    moon = new_moon_near(date(gregorian_year, 10, 18))
    while moon < threshold:
        moon = new_moon_near(moon + timedelta(days=29.5))
    return moon


def _other_faiths(gregorian_year: int) -> Iterator[CalendarEvent]:
    moon = diwali_new_moon(gregorian_year)  # observed the day before or of the new moon, UK time
    yield CalendarEvent("Diwali", "hindu", moon - timedelta(days=2), moon + timedelta(days=1), 1.2)
    vaisakhi = date(gregorian_year, 4, 14)  # 1 Vaisakh in the solar Nanakshahi calendar
    yield CalendarEvent("Vaisakhi", "sikh", vaisakhi - timedelta(days=1), vaisakhi + timedelta(days=1), 1.2)
    yield CalendarEvent("Christmas", "christian", date(gregorian_year, 12, 24), date(gregorian_year, 12, 26), 1.1)
    easter = date(*_quiet(holidays.easter, gregorian_year))
    yield CalendarEvent("Easter", "christian", easter - timedelta(days=2), easter + timedelta(days=1), 1.1)


def _anniversaries(gregorian_year: int, anniversaries: Iterable[Anniversary]) -> Iterator[CalendarEvent]:
    for a in anniversaries:
        day = date(gregorian_year, a.month, a.day)
        yield CalendarEvent(a.name, "anniversary", day, day, a.weight, a.faiths)


def events_in_year(year: int, anniversaries: Iterable[Anniversary] = DEFAULT_ANNIVERSARIES) -> list[CalendarEvent]:
    return list(_events_in_year(year, tuple(anniversaries)))


@lru_cache(maxsize=64)
def _events_in_year(year: int, anniversaries: tuple[Anniversary, ...]) -> tuple[CalendarEvent, ...]:
    """Cached: every area's picture asks about the same few days."""
    found = [*_islamic(year), *_jewish(year), *_other_faiths(year), *_anniversaries(year, anniversaries)]
    return tuple(sorted(found, key=lambda e: (e.start, e.name)))


def events_between(first: date, last: date,
                   anniversaries: Iterable[Anniversary] = DEFAULT_ANNIVERSARIES) -> list[CalendarEvent]:
    """Every period overlapping [first, last], once each, in date order (the calendar ahead)."""
    seen: dict[tuple[str, date], CalendarEvent] = {}
    for year in range(first.year - 1, last.year + 1):
        for e in events_in_year(year, tuple(anniversaries)):
            if e.start <= last and e.end >= first:
                seen[(e.name, e.start)] = e
    return sorted(seen.values(), key=lambda e: (e.start, e.name))


def concerns(event: CalendarEvent, faith: str) -> bool:
    """Whether a period is one of `faith`'s own, or an anniversary that concerns its sites."""
    if event.faith == "anniversary":
        return not event.faiths or faith in event.faiths
    return event.faith == faith


def faith_events(faith: str, first: date, last: date,
                 anniversaries: Iterable[Anniversary] = DEFAULT_ANNIVERSARIES) -> list[CalendarEvent]:
    """The periods of one faith's calendar overlapping [first, last], with the anniversaries concerning it."""
    return [e for e in events_between(first, last, anniversaries) if concerns(e, faith)]


def in_force(when: datetime, anniversaries: Iterable[Anniversary] = DEFAULT_ANNIVERSARIES
             ) -> tuple[list[CalendarEvent], bool]:
    """The calendar periods covering `when` (a UK day), and whether it is the time of Friday prayers."""
    local = when.astimezone(LONDON)
    day = local.date()
    friday_prayers = local.weekday() == 4 and FRIDAY_PRAYERS[0] <= local.time() < FRIDAY_PRAYERS[1]
    return events_between(day, day, anniversaries), friday_prayers


def calendar_factor(when: datetime, anniversaries: Iterable[Anniversary] = DEFAULT_ANNIVERSARIES) -> CalendarFactor:
    """The multiplier on an area's severity score at `when`, with a reason for every period that applies."""
    matches, friday_prayers = in_force(when, anniversaries)
    weights = [e.weight for e in matches]
    reasons = [f"{e.name} ({e.start.isoformat()} to {e.end.isoformat()}): x{e.weight:g}" for e in matches]
    if friday_prayers:
        weights.append(FRIDAY_WEIGHT)
        reasons.append(f"Friday prayers (12:00 to 15:00 UK time): x{FRIDAY_WEIGHT:g}")
    return CalendarFactor(max(weights, default=1.0), tuple(reasons))
