"""Events on `vigil.notifications.v1`, written by notify. Keyed by notification id."""

from __future__ import annotations

from datetime import datetime

from shared.events.base import Event, event_type

TOPIC = "vigil.notifications.v1"


@event_type("vigil.notification.dispatched.v1", TOPIC)
class NotificationDispatched(Event):
    notification_id: str
    idempotency_key: str
    incident_id: str | None
    purpose: str
    channel: str
    recipient_role: str
    dispatched_at: datetime
    attempt: int = 1


@event_type("vigil.notification.delivery_failed.v1", TOPIC)
class NotificationDeliveryFailed(Event):
    notification_id: str
    idempotency_key: str
    incident_id: str | None
    purpose: str
    channel: str
    failed_at: datetime
    attempt: int
    error: str


@event_type("vigil.notification.gave_up.v1", TOPIC)
class NotificationGaveUp(Event):
    notification_id: str
    idempotency_key: str
    incident_id: str | None
    purpose: str
    channel: str
    gave_up_at: datetime
    attempts: int
    last_error: str


@event_type("vigil.notification.cancelled.v1", TOPIC)
class NotificationCancelled(Event):
    """Withdrawn before it was sent: the chase was acknowledged, or the reporter's data was erased."""

    notification_id: str
    idempotency_key: str
    incident_id: str | None
    purpose: str
    channel: str
    cancelled_at: datetime
    reason: str | None = None


@event_type("vigil.notification.escalation_exhausted.v1", TOPIC)
class EscalationExhausted(Event):
    """Every level of the area's escalation policy was paged, with its loops, and nobody acknowledged."""

    incident_id: str
    area: str
    priority: str
    pages: int
    exhausted_at: datetime
