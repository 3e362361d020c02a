"""What a fold reads of an event, whichever topic it came from and whichever fold reads it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.clock import utc


@dataclass(frozen=True)
class Fact:
    """What the fold needs of an event: its stored type, key, aggregate version, time and data."""

    type: str
    key: str
    sequence: int
    time: datetime
    data: dict[str, Any]


def when(value: Any) -> datetime:
    return utc(value if isinstance(value, datetime) else datetime.fromisoformat(str(value)))


def maybe_when(value: Any) -> datetime | None:
    return None if value in (None, "") else when(value)
