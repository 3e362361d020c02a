"""The event base class, the type registry and upcasting.

An event's stored type is a stable string (`vigil.report.submitted.v1`), never a Python
path, so classes can move. A v2 of a type registers an upcaster from v1; `decode`
applies upcasters until it reaches a registered type, so old events stay readable.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict

E = TypeVar("E", bound="Event")


class Event(BaseModel):
    """Base of every event's data. Frozen: an event is a fact."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    TYPE: ClassVar[str] = ""
    TOPIC: ClassVar[str] = ""

    def to_json_bytes(self) -> bytes:
        return canonical_json(self.model_dump(mode="json"))


class UnknownEventType(LookupError):
    pass


_registry: dict[str, type[Event]] = {}
_upcasters: dict[str, tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]] = {}


def event_type(type_name: str, topic: str) -> Callable[[type[E]], type[E]]:
    def register(cls: type[E]) -> type[E]:
        if type_name in _registry:
            raise ValueError(f"event type {type_name} registered twice")
        cls.TYPE = type_name
        cls.TOPIC = topic
        _registry[type_name] = cls
        return cls

    return register


def upcaster(from_type: str, to_type: str) -> Callable[[Callable[[dict[str, Any]], dict[str, Any]]],
                                                        Callable[[dict[str, Any]], dict[str, Any]]]:
    def register(fn: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[dict[str, Any]], dict[str, Any]]:
        _upcasters[from_type] = (to_type, fn)
        return fn

    return register


def registry() -> dict[str, type[Event]]:
    return dict(_registry)


def upcast_type(type_name: str) -> str:
    """The type an event of this stored type decodes to once upcast (a v1 that has a v2 reads as the v2)."""
    seen = set()
    while type_name in _upcasters and type_name not in seen:
        seen.add(type_name)
        type_name = _upcasters[type_name][0]
    return type_name


def known_type(type_name: str) -> bool:
    """Whether an event of this stored type can be decoded (registered, or upcast to a registered type)."""
    return upcast_type(type_name) in _registry


def decode(type_name: str, data: dict[str, Any]) -> Event:
    seen = set()
    while type_name in _upcasters and type_name not in seen:
        seen.add(type_name)
        type_name, fn = _upcasters[type_name][0], _upcasters[type_name][1]
        data = fn(data)
    cls = _registry.get(type_name)
    if cls is None:
        raise UnknownEventType(type_name)
    return cls.model_validate(data)


def canonical_json(obj: Any) -> bytes:
    """Compact, key-sorted, UTF-8 JSON: the same value always gives the same bytes (orjson: ~10x the stdlib)."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


class Envelope(BaseModel):
    """An event as it travels: CloudEvents attributes plus the raw JSON data."""

    model_config = ConfigDict(frozen=True)

    id: str
    type: str
    source: str
    subject: str
    time: datetime
    sequence: int
    key: str
    topic: str
    data: dict[str, Any]
    traceparent: str | None = None
    tracestate: str | None = None
    # where it was read from, when it came off Kafka
    partition: int | None = None
    offset: int | None = None

    def event(self) -> Event:
        return decode(self.type, self.data)
