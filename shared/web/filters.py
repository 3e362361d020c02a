"""What every page shows the same way: times in Europe/London, codes as words, numbers isolated in RTL text.

Staff read times in the zone they live in, with the zone named so nobody converts British Summer Time in
their head; one format everywhere ("14:05 GMT, Sun 6 Dec 2026"). Inputs are in local time too:
`london_input` fills a `datetime-local` input and `from_london_input` reads one back as UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import Enum
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

LONDON = ZoneInfo("Europe/London")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
ACRONYMS = frozenset({"api", "cia", "csv", "gps", "id", "pdf", "sms", "uk", "url"})

# A run of ASCII letters and digits holding at least one digit, and further such runs joined to it by
# one space, hyphen, full stop, slash or colon: "0808 168 9111", "+44 20 7946 0000", "E23000001",
# "2026-11-20", "21:30", a report reference. Digits are weak in the bidirectional algorithm, so in
# right-to-left text "0808 168 9111" would otherwise be shown as "9111 168 0808".
_CHUNK = r"[A-Za-z0-9]*[0-9][A-Za-z0-9]*"
NUMBERISH = re.compile(rf"(?<![A-Za-z0-9])\+?{_CHUNK}(?:[ ./:-]{_CHUNK})*(?![A-Za-z0-9])")
_TAG_OR_ENTITY = re.compile(r"(<[^>]*>|&#?[A-Za-z0-9]+;)")


def _aware(value: datetime | str) -> datetime:
    """A naive value is taken to be UTC, as Vigil stores every time (shared.clock)."""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def london_time(value: datetime | str | None) -> str:
    """"14:05 GMT, Sun 6 Dec 2026", or "BST" in summer; empty for no time."""
    if value is None or value == "":
        return ""
    when = _aware(value).astimezone(LONDON)
    day, month = DAYS[when.weekday()], MONTHS[when.month - 1]  # English whatever the process's locale
    return f"{when:%H:%M} {when.tzname()}, {day} {when.day} {month} {when.year}"


def london_input(value: datetime | str | None) -> str:
    """The value of a `datetime-local` input showing `value` in London time: "2026-12-06T14:05"."""
    if value is None or value == "":
        return ""
    return _aware(value).astimezone(LONDON).strftime("%Y-%m-%dT%H:%M")


def from_london_input(text: str) -> datetime:
    """A `datetime-local` input's value, read as London time, in UTC.

    In the October hour that happens twice the earlier (BST) one is meant; a time in the March hour that
    never happens is read with GMT's offset, which lands it an hour later on the clock.
    """
    naive = datetime.fromisoformat(text)
    if naive.tzinfo is not None:
        raise ValueError("a local time input carries no zone")
    return naive.replace(tzinfo=LONDON).astimezone(UTC)


def humanise(value: object) -> str:
    """A code as a label: "duty_inspector" -> "Duty inspector", "cia_requested" -> "CIA requested"."""
    if value is None:
        return ""
    code = value.value if isinstance(value, Enum) else value
    words = [w for w in re.split(r"[_\-.\s]+", str(code)) if w]
    words = [w.upper() if w.lower() in ACRONYMS else w.lower() for w in words]
    if not words:
        return ""
    first = words[0]
    return " ".join([first if first.isupper() else first.capitalize(), *words[1:]])


def _isolate(text: str) -> str:
    return NUMBERISH.sub(lambda m: f'<bdi dir="ltr">{m.group(0)}</bdi>', text)


def bidi_isolate(value: object) -> Markup:
    """Each number or reference in `value` wrapped in <bdi dir="ltr">, so it reads left to right in RTL text.

    Plain text is escaped first; markup is changed only between its tags and character references.
    """
    if value is None:
        return Markup("")
    source = str(value if isinstance(value, Markup) else escape(str(value)))
    parts = _TAG_OR_ENTITY.split(source)
    wrapped = "".join(p if i % 2 else _isolate(p) for i, p in enumerate(parts))
    return Markup(wrapped)  # noqa: S704 -- escaped or already safe; only a fixed tag is added between tags
