"""Event-sourced aggregates: state folded from a stream's events, and the events a decision records.

An aggregate is rebuilt from its history (`replay`), decides, and records what it decided (`record`): the event
is applied at once, so the next decision sees it, and kept in `pending` until a store appends it. `version`
counts the events applied, so `version - len(pending)` is the stream's version when it was loaded: what a
store's optimistic concurrency compares. Each aggregate says how one event changes it (`when`); the
bookkeeping lives here once (triage's incidents, flood groups and area assessments, notify's chases).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, Self, TypeVar

E = TypeVar("E")


@dataclass
class Aggregate(ABC, Generic[E]):
    version: int = field(default=0, kw_only=True)
    pending: list[E] = field(default_factory=list, kw_only=True)

    @classmethod
    def replay(cls, stream_id: str, events: Iterable[E]) -> Self:
        """The aggregate as its events left it; the first field of every aggregate is its stream's id."""
        aggregate = cls(stream_id)  # type: ignore[call-arg, arg-type]
        for event in events:
            aggregate.apply(event)
        return aggregate

    def record(self, event: E) -> E:
        """A decision: applied now, appended later."""
        self.apply(event)
        self.pending.append(event)
        return event

    def apply(self, event: E) -> None:
        self.version += 1
        self.when(event)

    @abstractmethod
    def when(self, event: E) -> None:
        """How one event changes the aggregate (the version is already counted)."""

    @property
    def loaded_version(self) -> int:
        """The stream's version when the aggregate was loaded, before anything pending."""
        return self.version - len(self.pending)
