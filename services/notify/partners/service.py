"""Partner agencies get the partner topic's events as Standard Webhooks, filtered by their subscription.

The events are decoded strictly (unknown fields are refused, not passed on): the partner view is an
allowlist, so a field a partner may see is added to its event contract first, never forwarded unseen.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.notify.ledger import queue
from services.notify.policy import Directory
from shared.clock import Clock
from shared.events.base import Envelope
from shared.events.partner import PartnerIncidentErased, PartnerIncidentReported, PartnerIncidentWithdrawn
from shared.ids import deterministic_id

PartnerEvent = PartnerIncidentReported | PartnerIncidentWithdrawn | PartnerIncidentErased
PARTNER_WEBHOOK = "partner_webhook"
WEBHOOK = "webhook"


class PartnerService:
    def __init__(self, directory: Directory, clock: Clock) -> None:
        self.directory = directory
        self.clock = clock

    def on_partner_event(self, s: Session, e: PartnerEvent, env: Envelope) -> None:
        handling = e.grading[-1] if e.grading else None
        body = {"id": env.id, "type": e.TYPE, "time": env.time.isoformat(), "data": e.model_dump(mode="json")}
        for partner_id, subscription in sorted(self.directory.partners.items()):
            if subscription.entitled(e.area, e.TYPE, handling):
                queue(s, self.clock, key=deterministic_id(env.id, f"partner:{partner_id}", PARTNER_WEBHOOK),
                      incident_id=None, purpose=PARTNER_WEBHOOK, channel=WEBHOOK, recipient_role="partner",
                      recipient=f"partner:{partner_id}", payload={"body": body})
