"""What to page, from what the checks found: each problem once when it has lasted, and its recovery once.

Pure: no network, no clock of its own, so every transition is unit-tested.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Finding:
    """One check's verdict in one round. `key` names the problem ("notify: consumers"); `detail` says what is seen."""

    key: str
    wrong: bool
    detail: str = ""


@dataclass(frozen=True)
class Page:
    key: str
    recovered: bool
    detail: str
    since: datetime  # when the check first went wrong

    @property
    def headline(self) -> str:
        return f"{'RECOVERED' if self.recovered else 'PROBLEM'} {self.key}"


class Alarms:
    """Open problems. A check that has been wrong for `grace` opens its problem, paged once; the first round
    it is right again closes it, with a recovery page. A check not made this round (its service did not
    answer, say) keeps its state: not knowing is not recovering."""

    def __init__(self, grace: timedelta) -> None:
        self.grace = grace
        self.wrong_since: dict[str, datetime] = {}
        self.open: dict[str, datetime] = {}

    def observe(self, findings: Iterable[Finding], now: datetime) -> list[Page]:
        return [page for finding in findings if (page := self._one(finding, now)) is not None]

    def _one(self, finding: Finding, now: datetime) -> Page | None:
        if not finding.wrong:
            self.wrong_since.pop(finding.key, None)
            since = self.open.pop(finding.key, None)
            return Page(finding.key, True, finding.detail, since) if since is not None else None
        since = self.wrong_since.setdefault(finding.key, now)
        if finding.key in self.open or now - since < self.grace:
            return None
        self.open[finding.key] = since
        return Page(finding.key, False, finding.detail, since)


class Restarts:
    """A service's restarts, told by its processes' start times (process_start_time_seconds): a process that
    started after the service was last seen up is a new one. Several HTTP workers of one service all started
    before it was first seen, so answering in turn they count as none."""

    def __init__(self, window: float) -> None:
        self.window = window
        self.last_seen: float | None = None
        self.starts: deque[float] = deque()

    def seen(self, started: float, now: float) -> int:
        """How many restarts in the window, given a process that started at `started` answers at `now`."""
        if self.last_seen is not None and started > self.last_seen:
            self.starts.append(started)
        self.last_seen = now
        while self.starts and self.starts[0] < now - self.window:
            self.starts.popleft()
        return len(self.starts)
