"""Referring a reporter who asked for support to the support organisation the directory names for the area.

Only with consent to be contacted: the referral hands the reporter's contact details to another organisation.
The ledger holds what a referral says about the incident (reference, area, types, language), never who: the
name and the chosen way to reach them are fetched from intake when the referral is sent, put in the message
and dropped (ADR 0032), as for receipts. What a referral carries is `REFERRAL_FIELDS`, nothing else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import babel
from sqlalchemy.orm import Session

from services.notify.channels import Message, PermanentFailure
from services.notify.dispatch import Cancel
from services.notify.ledger import queue
from services.notify.policy import Directory, SupportOrganisation
from shared.areas import AreaRegistry, default_registry
from shared.clock import Clock
from shared.events.notifications import ReferralNotMade, ReferralSent
from shared.events.reports import ReadPurpose, ReportSubmitted
from shared.eventstore import EventStore
from shared.ids import deterministic_id
from shared.personal import PersonalDataClient, ReportErased, UnknownReport

REFERRAL = "support_referral"  # the purpose of its deliveries, and the `type` of its webhook body
ROLE = "support_organisation"
SUPPORT = "support"  # the recipient kind: support:<organisation id>
REFERRAL_FIELDS = ("reference", "area", "area_name", "types", "language", "contact")
CONTACT_FIELDS = ("method", "name", "email", "phone")


class Outcome(StrEnum):
    """What became of a reporter's request for support; the receipt tells them which."""

    made = "made"
    no_contact_consent = "no_contact_consent"
    no_contact = "no_contact"
    no_organisation = "no_organisation"
    channel_off = "channel_off"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    organisation_id: str | None = None
    organisation: SupportOrganisation | None = None

    def for_receipt(self) -> dict[str, str]:
        return {"outcome": self.outcome.value, "organisation": self.organisation.name if self.organisation else ""}


def decide(e: ReportSubmitted, directory: Directory, channels: tuple[str, ...]) -> Decision | None:
    """None when the reporter did not ask to be referred."""
    if not e.consent.refer_to_support:
        return None
    if not e.consent.contact:
        return Decision(Outcome.no_contact_consent)
    if not e.reporter.has_contact:
        return Decision(Outcome.no_contact)
    org_id = directory.support_for(e.incident.location.area, e.incident.location.district)
    if org_id is None:
        return Decision(Outcome.no_organisation)
    org = directory.support[org_id]
    if channel_of(org) not in channels:
        return Decision(Outcome.channel_off, org_id, org)
    return Decision(Outcome.made, org_id, org)


def channel_of(org: SupportOrganisation) -> str:
    return "email" if org.email else "webhook"


def contact_of(personal: dict[str, Any]) -> dict[str, str]:
    """The reporter's chosen way to be reached (email when they gave one, else phone, as for receipts) and the
    name they gave, if any; nothing else of what intake holds."""
    method = "email" if personal.get("email") else "phone" if personal.get("phone") else None
    if method is None:
        raise Cancel("the reporter left no way to contact them")
    contact = {"method": method, method: str(personal[method])}
    if personal.get("name"):
        contact["name"] = str(personal["name"])
    return contact


class Referrals:
    """Queues referrals when a report arrives, and makes each into its message when it is sent."""

    def __init__(self, directory: Directory, personal: PersonalDataClient | None, clock: Clock,
                 channels: tuple[str, ...], areas: AreaRegistry | None = None) -> None:
        self.directory = directory
        self.personal = personal
        self.clock = clock
        self.channels = channels
        self.areas = areas or default_registry()

    def on_submitted(self, s: Session, e: ReportSubmitted, events: EventStore) -> Decision | None:
        """In the consumer's transaction: queue the referral, or record why none can be made."""
        decision = decide(e, self.directory, self.channels)
        if decision is None:
            return None
        area = e.incident.location.area
        if decision.outcome != Outcome.made or decision.organisation is None:
            events.extend(s, f"referral-{e.report_id}", [ReferralNotMade(
                report_id=e.report_id, area=area, reason=decision.outcome.value, decided_at=self.clock.now())],
                key=e.report_id)
            return decision
        recipient = f"{SUPPORT}:{decision.organisation_id}"
        queue(s, self.clock, key=deterministic_id(e.report_id, recipient, REFERRAL), incident_id=None,
              purpose=REFERRAL, channel=channel_of(decision.organisation), recipient_role=ROLE, recipient=recipient,
              report_id=e.report_id,
              payload={"reference": e.reference, "area": area, "types": [t.value for t in e.incident.types],
                       "language": e.reporter.preferred_language or "en"})
        return decision

    def render(self, row: dict[str, Any]) -> Message:
        """At send time: intake first, so an erased report is withdrawn before anything else is read."""
        org_id = str(row["recipient"]).partition(":")[2]
        org = self.directory.support.get(org_id)
        if org is None:
            raise Cancel("the support organisation left the directory")
        contact = contact_of(self._personal(str(row["report_id"])))
        stored: dict[str, Any] = json.loads(str(row["payload"]))
        details = {"reference": stored["reference"], "area": stored["area"],
                   "area_name": self._area_name(stored["area"]), "types": stored["types"],
                   "language": stored["language"], "contact": contact}
        key = str(row["idempotency_key"])
        sent = ReferralSent(notification_id=str(row["notification_id"]), idempotency_key=key,
                            report_id=str(row["report_id"]), organisation=org_id, area=stored["area"],
                            channel=channel_of(org), referred_at=self.clock.now())
        if org.email:
            return Message(key, "email", org.email, subject(details), body(details, org), records=(sent,))
        webhook = {"id": key, "type": REFERRAL, "time": self.clock.now().isoformat(), "data": details}
        return Message(key, "webhook", str(org.url), payload=webhook, secret=org.secret, records=(sent,))

    def _personal(self, report_id: str) -> dict[str, Any]:
        if self.personal is None:
            raise RuntimeError("no personal-data client configured")
        try:
            return self.personal.get(report_id, ReadPurpose.referral)
        except ReportErased as e:
            raise Cancel("the report was erased") from e
        except UnknownReport as e:
            raise PermanentFailure("intake does not know this report") from e

    def _area_name(self, code: str) -> str:
        area = self.areas.get(code)
        return area.name if area else code


def subject(details: dict[str, Any]) -> str:
    return f"Referral for support from Vigil: {details['reference']}"


def body(details: dict[str, Any], org: SupportOrganisation) -> str:
    """Plain text for a support worker: who asked, how to reach them, and only as much of what happened as a
    first call needs (no description, no place, no time)."""
    contact = details["contact"]
    how = f"{contact['method']}: {contact[contact['method']]}"
    lines = [
        f"Someone who reported a hate incident to the police has asked to be referred to {org.name} for support.",
        "",
        f"Reference: {details['reference']}",
        f"Area: {details['area_name']} ({details['area']})",
        f"What happened: {', '.join(t.replace('_', ' ') for t in details['types'])}",
        f"Preferred language: {language_name(details['language'])}",
        f"Name: {contact.get('name') or 'not given'}",
        f"Contact by {how}",
        "",
        "Please contact them in the way they chose. Quote the reference if you speak to the police about it.",
        "This message holds personal data: keep it only as long as your service needs it.",
    ]
    return "\n".join(lines) + "\n"


def language_name(tag: str) -> str:
    """'Arabic (ar)': the tag as given, with its English name where Babel knows it."""
    try:
        name = babel.Locale.parse(tag.replace("-", "_")).get_display_name("en")
    except (ValueError, babel.UnknownLocaleError):
        return tag
    return f"{name} ({tag})" if name else tag
