"""Waking a dispatcher or the timer task when a transaction that gave it work commits, and only that one."""

from __future__ import annotations

from sqlalchemy.orm import Session

WAKE = "notify_wake"
TIMERS = "timers"


def wake_after_commit(s: Session, name: str) -> None:
    """`name`: a dispatcher's channel, or TIMERS."""
    s.info.setdefault(WAKE, set()).add(name)


def woken(s: Session) -> set[str]:
    """What the committed transaction asked to wake (and forget it)."""
    names: set[str] = s.info.pop(WAKE, set())
    return names
