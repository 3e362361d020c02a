"""Typed event handlers: a consumer dispatches on the event class, never on a type string.

`env.event()` applies upcasters and validates the data into the registered model, so a handler
sees every field as mypy sees it; a renamed field fails loudly instead of defaulting. A table maps
each class a consumer cares about to its handler (as cosmicpython's `EVENT_HANDLERS`); events of
other registered classes are skipped; a type no one registered raises `UnknownEventType`, so the
inbox dead-letters it instead of losing it silently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shared.events.base import Envelope, Event, UnknownEventType, known_type, upcast_type

# A handler takes the unit of work (usually a SQLAlchemy Session), the decoded event and its envelope
# (for the attributes the event does not carry: time, subject, sequence, position).
EventHandler = Callable[[Any, Any, Envelope], None]


class HandlerTable(Mapping[type[Event], EventHandler]):
    """Handlers keyed by event class; `__call__` makes the table itself an inbox handler."""

    def __init__(self, handlers: Mapping[type[Event], EventHandler]) -> None:
        self._handlers = dict(handlers)
        self._by_type = {cls.TYPE: cls for cls in self._handlers}

    def __getitem__(self, cls: type[Event]) -> EventHandler:
        return self._handlers[cls]

    def __iter__(self) -> Any:
        return iter(self._handlers)

    def __len__(self) -> int:
        return len(self._handlers)

    def wants(self, env: Envelope) -> bool:
        """Cheap check on the stored type (upcast types included) before decoding the data."""
        return upcast_type(env.type) in self._by_type

    def __call__(self, unit: Any, env: Envelope) -> None:
        if not self.wants(env):
            if not known_type(env.type):
                raise UnknownEventType(env.type)  # a type nobody registered: dead-lettered, not skipped
            return
        event = env.event()
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(unit, event, env)


def is_event(env: Envelope, cls: type[Event]) -> bool:
    """Whether an envelope holds an event of this class (after upcasting), without decoding it."""
    return upcast_type(env.type) == cls.TYPE
