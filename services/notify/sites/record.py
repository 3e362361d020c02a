"""Recording a routine from the reminder's signed link, without signing in (docs/notify.md, "Places of worship").

The link is made when the reminder is sent, for that lead and that reminder, with an id deterministic in both:
the email's link and the SMS's are the same link, and a retried send makes it again. Opening it shows a form
(done, or issues found with a kind and the lead's own words) and nothing happens until it is sent. Notify does
not keep the record: assessment does, so the form's POST asks assessment's internal route to record it for the
lead, with notify's own credential and the link's id, in the transaction that marks the link used. The mark is
kept only when assessment recorded it, and assessment records once per link id too, so a link used twice, or
a form sent twice, records once (recording_links.py, shared with the visit links). The lead's words go to
assessment (which seals them) and nowhere else.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from services.notify.channels import Message, fit_sms
from services.notify.pages.forms import FieldError
from services.notify.pages.forms import FormInvalid as FormInvalid
from services.notify.recording_links import AssessmentClient as AssessmentClient
from services.notify.recording_links import AssessmentUnavailable as AssessmentUnavailable
from services.notify.recording_links import Outcome as Outcome
from services.notify.recording_links import Recorded as Recorded
from services.notify.recording_links import RecordingLinks, RecordingView
from services.notify.recording_links import Refused as Refused
from services.notify.rendering import STAFF
from services.notify.sites.reminders import DUE, Reminder, Reminders
from services.notify.staff import uk_time
from services.notify.staff_directory import StaffDirectory
from shared.clock import Clock
from shared.db import Database
from shared.events.sites import IssueCategory, RoutineOutcome
from shared.signedlinks import LinkClaims, SignedLinks, UsedLinks

PURPOSE = "site_routine"
NAMESPACE = "notify.sites"  # a pager link is worth nothing here, and the other way round
PATH = "s"
SMS_FORMS = ("short", "no_link")  # what site_routine_due.sms.txt says when the whole would not fit
MAX_NOTES = 2000
CATEGORY_WORDS = {IssueCategory.cctv: "CCTV", IssueCategory.fencing_or_gates: "Fencing or gates",
                  IssueCategory.doors_or_windows: "Doors or windows", IssueCategory.damage_or_graffiti:
                  "Damage or graffiti", IssueCategory.procedure: "A procedure (evacuation, lockdown, ...)"}


def category_word(category: IssueCategory) -> str:
    return CATEGORY_WORDS.get(category) or category.value.replace("_", " ").capitalize()


# ---- the form (pure) --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RecordForm:
    outcome: RoutineOutcome
    category: IssueCategory | None = None
    notes: str | None = None

    def body(self, routine: str, claims: LinkClaims) -> dict[str, Any]:
        """Assessment's internal record body: for the lead the link was made for, once per link."""
        return {"routine": routine, "outcome": self.outcome.value,
                "category": self.category.value if self.category else None, "notes": self.notes,
                "recorded_by": claims.recipient, "link_id": claims.link_id}


def read_form(fields: Mapping[str, str]) -> RecordForm:
    """The form as sent: every problem at once, in plain words, for the field it belongs to."""
    errors: list[FieldError] = []
    outcome = next((o for o in RoutineOutcome if o.value == fields.get("outcome", "").strip()), None)
    if outcome is None:
        errors.append(FieldError("outcome", "Say whether it was all in order or you found issues"))
    given = fields.get("category", "").strip()
    category = next((c for c in IssueCategory if c.value == given), None)
    if outcome is RoutineOutcome.issues_found and category is None:
        errors.append(FieldError("category", "Choose the kind of issue you found"))
    notes = fields.get("notes", "").strip()
    if len(notes) > MAX_NOTES:
        errors.append(FieldError("notes", f"What you saw or did must be {MAX_NOTES} characters or fewer"))
    if errors or outcome is None:
        raise FormInvalid(errors)
    return RecordForm(outcome, category if outcome is RoutineOutcome.issues_found else None, notes or None)


# ---- the links and what they do ---------------------------------------------------------------------------

class LinkView(RecordingView[Reminder]):
    """What the link's pages show: the reminder, and whose link it is."""

    @property
    def reminder(self) -> Reminder:
        return self.subject


class SiteRecordLinks(RecordingLinks[Reminder, RecordForm]):
    purpose, path, kind = PURPOSE, PATH, "site-routine-link"
    view_type = LinkView

    def __init__(self, db: Database, clock: Clock, links: SignedLinks, used: UsedLinks, assessment: AssessmentClient,
                 contacts: StaffDirectory, base_url: str, site_pages_url: str, sms_parts: int = 3,
                 reminders: Reminders | None = None) -> None:
        super().__init__(db, clock, links, used, assessment, contacts, base_url, site_pages_url)
        self.reminders = reminders or Reminders()
        self.sms_parts = sms_parts

    # ---- at send time -----------------------------------------------------------------------------------

    def link(self, username: str, reminder: str) -> dict[str, str]:
        url, claims = self.issue(username, reminder)
        return {"link": url, "link_expires": uk_time(claims.expires_at)}

    def renderer(self, fallback: Callable[[dict[str, Any]], Message]) -> Callable[[dict[str, Any]], Message]:
        """The dispatchers' renderer: a reminder to a lead gains its link, made now; the rest as before. An SMS
        that would be cut short (a long site name, or one outside GSM-7 that makes every part 67 characters) is
        said shorter, and without the link if even that would cut it: a cut link is worse than none."""
        def render(row: dict[str, Any]) -> Message:
            kind, _, username = str(row["recipient"]).partition(":")
            if row["purpose"] != DUE or kind != STAFF:
                return fallback(row)
            payload = json.loads(str(row["payload"]))
            context = {**payload["context"], **self.link(username, str(payload["context"]["reminder_id"]))}
            message = fallback({**row, "payload": json.dumps({**payload, "context": context})})
            for form in SMS_FORMS:
                if row["channel"] != "sms" or not fit_sms(message.text, self.sms_parts).truncated:
                    break
                shorter = {**payload, "context": {**context, "sms_form": form}}
                message = fallback({**row, "payload": json.dumps(shorter)})
            return message

        return render

    # ---- what a link is for, and where its form goes ---------------------------------------------------

    def _subject(self, s: Session, subject_id: str) -> Reminder | None:
        return self.reminders.get(s, subject_id)

    def _send(self, view: RecordingView[Reminder], form: RecordForm, claims: LinkClaims) -> Recorded:
        return self.assessment.record(view.subject.site_id, form.body(view.subject.routine, claims))
