"""Event contracts: one pydantic model per event type, a stable versioned type string each.

Importing this package registers every type, so `decode` can read any of them.
"""

from shared.events import area_cias, areas, incidents, notifications, partner, reports, sites, staff  # noqa: F401  (registers)
from shared.events.base import (
    Envelope,
    Event,
    UnknownEventType,
    decode,
    event_type,
    registry,
    upcaster,
)

__all__ = ["Envelope", "Event", "UnknownEventType", "decode", "event_type", "registry", "upcaster"]
