"""Rendering a ledger row into a message at send time.

The ledger holds a recipient reference (person:<id>, staff:<username>, reporter:<report id>, partner:<id>) and
a template with non-personal context. Contact details are looked up only now: staff from their accounts at triage or
the directory, reporters from intake's internal API (used and dropped, never stored).
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from services.notify.channels import Message, PermanentFailure
from services.notify.dispatch import Cancel
from services.notify.ledger import DUTY_INSPECTOR_ALERT
from services.notify.messages import Templates
from services.notify.policy import Directory
from services.notify.staff_directory import NotPageable, StaffDirectory
from shared.events.reports import ReadPurpose
from shared.personal import PersonalDataClient, ReportErased, UnknownReport

STAFF = "staff"  # recipient "staff:<username>": a staff account at triage, in the directory or not


class Answers(Protocol):
    """How an alert can be answered from the message itself (services.notify.links)."""

    def email_links(self, delivery_key: str, person_id: str, incident_id: str) -> dict[str, str]: ...

    def sms_code(self, person_id: str, incident_id: str) -> str: ...


class MessageRenderer:
    """Makes a ledger row into the message to send, in the recipient's language, looking up the address now."""

    def __init__(self, directory: Directory, templates: Templates, personal: PersonalDataClient | None,
                 answers: Answers | None = None, contacts: StaffDirectory | None = None) -> None:
        self.directory = directory
        self.contacts = contacts or StaffDirectory(directory)
        self.templates = templates
        self.personal = personal
        self.answers = answers

    def __call__(self, row: dict[str, Any]) -> Message:
        payload: dict[str, Any] = json.loads(str(row["payload"]))
        kind, _, ref = str(row["recipient"]).partition(":")
        key = str(row["idempotency_key"])
        if kind == "partner":
            return self._webhook(key, ref, payload)
        if kind == "person":
            return self._to_person(key, str(row["channel"]), ref, self._answerable(row, ref, payload))
        if kind == "reporter":
            return self._to_reporter(key, ref, payload)
        if kind == STAFF:
            return self._to_account(key, str(row["channel"]), ref, payload)
        raise PermanentFailure(f"unknown recipient kind {kind!r}")

    def _webhook(self, key: str, partner_id: str, payload: dict[str, Any]) -> Message:
        subscription = self.directory.partners.get(partner_id)
        if subscription is None:
            raise Cancel("the partner's subscription was removed")
        return Message(key, "webhook", subscription.url, payload=payload["body"], secret=subscription.secret)

    def _answerable(self, row: dict[str, Any], person_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """An alert carries its answers: signed links by email, a reply code by SMS, made for this person now."""
        incident_id, channel = row.get("incident_id"), row["channel"]
        if self.answers is None or payload.get("template") != DUTY_INSPECTOR_ALERT or not incident_id:
            return payload
        if channel == "email":
            extra: dict[str, Any] = self.answers.email_links(str(row["idempotency_key"]), person_id, str(incident_id))
        elif channel == "sms":
            extra = {"reply_code": self.answers.sms_code(person_id, str(incident_id))}
        else:
            return payload
        return {**payload, "context": {**payload["context"], **extra}}

    def _to_person(self, key: str, channel: str, person_id: str, payload: dict[str, Any]) -> Message:
        if person_id not in self.directory.people:
            raise Cancel("the person left the directory")
        try:
            person = self.contacts.contact(person_id)  # TriageUnavailable: a failure, tried again later
        except NotPageable as e:
            raise Cancel(e.reason) from e
        rendered = self.templates.render(payload["template"], person.language, payload["context"])
        if channel == "sms":
            if not person.phone:
                raise PermanentFailure("no phone number in the directory")
            return Message(key, "sms", person.phone, rendered.subject, rendered.sms, language=rendered.language)
        address = person.email or ""
        if channel == "email" and not address:
            raise PermanentFailure("no email address in the directory")
        return Message(key, channel, address, rendered.subject, rendered.text, rendered.html, rendered.language)

    def _to_account(self, key: str, channel: str, username: str, payload: dict[str, Any]) -> Message:
        """A staff account by username (a site lead, a neighbourhood officer), whether or not the directory lists
        it: reached at the account's email or phone, looked up now; a channel it has no address for is skipped."""
        try:
            person = self.contacts.contact(username)  # TriageUnavailable: a failure, tried again later
        except NotPageable as e:
            raise Cancel(e.reason.replace("not paged", "not sent")) from e
        rendered = self.templates.render(payload["template"], person.language, payload["context"])
        if channel == "sms":
            if not person.phone:
                raise Cancel("the staff account has no phone number")
            return Message(key, "sms", person.phone, rendered.subject, rendered.sms, language=rendered.language)
        if channel == "email" and not person.email:
            raise Cancel("the staff account has no email address")
        return Message(key, channel, person.email or username, rendered.subject, rendered.text, rendered.html,
                       rendered.language)

    def _to_reporter(self, key: str, report_id: str, payload: dict[str, Any]) -> Message:
        if self.personal is None:
            raise RuntimeError("no personal-data client configured")
        try:
            contact = self.personal.get(report_id, ReadPurpose.reporter_message)
        except ReportErased as e:
            raise Cancel("the report was erased") from e
        except UnknownReport as e:
            raise PermanentFailure("intake does not know this report") from e
        rendered = self.templates.render(payload["template"], payload.get("language"), payload["context"])
        if contact.get("email"):
            return Message(key, "email", str(contact["email"]), rendered.subject, rendered.text, rendered.html,
                           rendered.language)
        if contact.get("phone"):
            return Message(key, "sms", str(contact["phone"]), rendered.subject, rendered.sms,
                           language=rendered.language)
        raise Cancel("the reporter left no way to contact them")

