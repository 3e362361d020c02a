"""Partner agencies get the partner topic's events as Standard Webhooks, filtered by their subscription.

The events are decoded strictly (unknown fields are refused, not passed on): the partner view is an
allowlist, so a field a partner may see is added to its event contract first, never forwarded unseen.
Telling a partner to delete what it holds is not optional: an erasure reaches every subscription that could
have received the item, and a regrade to handling code C reaches the ones that may no longer hold it.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.notify.ledger import queue
from services.notify.policy import Directory, Subscription
from shared.clock import Clock
from shared.events.base import Envelope, Event
from shared.events.handlers import EventHandler
from shared.events.partner import (
    PartnerIncidentErased,
    PartnerIncidentReported,
    PartnerIncidentRestricted,
    PartnerIncidentWithdrawn,
)
from shared.ids import deterministic_id

PartnerEvent = PartnerIncidentReported | PartnerIncidentWithdrawn | PartnerIncidentErased | PartnerIncidentRestricted
PARTNER_WEBHOOK = "partner_webhook"
WEBHOOK = "webhook"
ITEMS = PartnerIncidentReported.TYPE  # a subscription that receives these may hold an item


def receives(subscription: Subscription, e: PartnerEvent) -> bool:
    handling = e.grading[-1] if e.grading else None
    if isinstance(e, PartnerIncidentRestricted):
        return subscription.entitled(e.area, ITEMS, None) and not subscription.handling_c
    if isinstance(e, PartnerIncidentErased):
        return subscription.entitled(e.area, e.TYPE, handling) or subscription.entitled(e.area, ITEMS, handling)
    return subscription.entitled(e.area, e.TYPE, handling)


class PartnerService:
    def __init__(self, directory: Directory, clock: Clock) -> None:
        self.directory = directory
        self.clock = clock

    def handlers(self) -> dict[type[Event], EventHandler]:
        return {cls: self.on_partner_event for cls in (PartnerIncidentReported, PartnerIncidentWithdrawn,
                                                        PartnerIncidentErased, PartnerIncidentRestricted)}

    def on_partner_event(self, s: Session, e: PartnerEvent, env: Envelope) -> None:
        body = {"id": env.id, "type": e.TYPE, "time": env.time.isoformat(), "data": e.model_dump(mode="json")}
        for partner_id, subscription in sorted(self.directory.partners.items()):
            if receives(subscription, e):
                queue(s, self.clock, key=deterministic_id(env.id, f"partner:{partner_id}", PARTNER_WEBHOOK),
                      incident_id=None, purpose=PARTNER_WEBHOOK, channel=WEBHOOK, recipient_role="partner",
                      recipient=f"partner:{partner_id}", payload={"body": body})
