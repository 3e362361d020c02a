"""Events on `vigil.notifications.v1`, written by notify. Keyed by notification id (escalation exhausted: by
incident id; rota overrides: by area)."""

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


@event_type("vigil.notification.delivery_retried.v1", TOPIC)
class NotificationDeliveryRetried(Event):
    """A member of staff sent a delivery that gave up once more, from its first attempt (the cause was fixed)."""

    notification_id: str
    idempotency_key: str
    incident_id: str | None
    purpose: str
    channel: str
    retried_by: str
    retried_at: datetime
    reason: str | None = None


@event_type("vigil.notification.delivery_resolved.v1", TOPIC)
class NotificationDeliveryResolved(Event):
    """A member of staff dealt with a give-up another way (the person was phoned); it is not sent again."""

    notification_id: str
    idempotency_key: str
    incident_id: str | None
    purpose: str
    channel: str
    resolved_by: str
    resolved_at: datetime
    reason: str | None = None


@event_type("vigil.notification.rota_override_set.v1", TOPIC)
class RotaOverrideSet(Event):
    """Someone else is on call for an area from `starts_at` until `ends_at` (a swap, sickness). Keyed by area.

    `person_id` is the directory's id for a member of staff, never a contact detail.
    """

    override_id: str
    area: str
    person_id: str
    starts_at: datetime
    ends_at: datetime
    set_by: str
    set_at: datetime
    reason: str | None = None


@event_type("vigil.notification.rota_override_removed.v1", TOPIC)
class RotaOverrideRemoved(Event):
    """A member of staff took an override off before it ended: the area's rota applies again. Keyed by area."""

    override_id: str
    area: str
    person_id: str
    starts_at: datetime
    ends_at: datetime
    removed_by: str
    removed_at: datetime
    reason: str | None = None


@event_type("vigil.notification.referral_sent.v1", TOPIC)
class ReferralSent(Event):
    """A reporter who asked for support was referred to the support organisation the directory names for the
    area; the referral itself (contact details included) went only to that organisation.

    `organisation` is the directory's id for it; nothing here names or reaches the reporter.
    """

    notification_id: str
    idempotency_key: str
    report_id: str
    organisation: str
    area: str
    channel: str
    referred_at: datetime


@event_type("vigil.notification.referral_not_made.v1", TOPIC)
class ReferralNotMade(Event):
    """A reporter asked for support and no referral could be made. Keyed by report id.

    `reason`: `no_contact_consent` (they did not agree to be contacted), `no_contact` (they left no email or
    phone number) or `no_organisation` (the directory names no support organisation for the area).
    """

    report_id: str
    area: str
    reason: str
    decided_at: datetime
