"""Recording a visit from the morning message's signed link, without signing in (docs/notify.md, "Patrols and
visits").

Each task in an officer's morning message carries a link made at send time for that officer and that task, with
an id deterministic in both (a retried send makes the same link). Opening it shows a form (when, who went, what
was seen) and records nothing; sending the form asks assessment's internal route to record the visit for the
officer, with notify's credential and the link's id, in the transaction that marks the link used (link_pages.py,
recording_links.py: shared with the routine reminders' links). Assessment records once per link id too, so a link
used twice records one visit. The officer's words go to assessment, which seals them, and nowhere else.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from services.notify.channels import Message
from services.notify.pages.forms import FieldError, FormInvalid
from services.notify.recording_links import AssessmentClient, Recorded, RecordingLinks, RecordingView
from services.notify.staff import uk_time
from services.notify.staff_directory import StaffDirectory
from services.notify.tasking.morning import MORNING, KeptTask, Tasks
from shared.clock import Clock
from shared.db import Database
from shared.signedlinks import LinkClaims, SignedLinks, UsedLinks
from shared.web.filters import from_london_input

PURPOSE = "site_visit"
NAMESPACE = "notify.tasking"  # a pager's or a routine's link is worth nothing here, and the other way round
PATH = "v"
MAX_NOTES, MAX_WHO = 2000, 200


@dataclass(frozen=True)
class VisitForm:
    visited_at: datetime | None
    visited_by: str | None
    notes: str | None

    def body(self, claims: LinkClaims) -> dict[str, Any]:
        """Assessment's internal body: for the officer the link was made for, once per link."""
        return {"visited_at": self.visited_at.isoformat() if self.visited_at else None,
                "visited_by": self.visited_by, "notes": self.notes, "recorded_by": claims.recipient[:120],
                "link_id": claims.link_id}


def read_form(fields: Mapping[str, str]) -> VisitForm:
    errors: list[FieldError] = []
    when = None
    given = fields.get("visited_at", "").strip()
    if given:
        try:
            when = from_london_input(given)
        except ValueError:
            errors.append(FieldError("visited_at", "Enter when you visited, as a date and time"))
    who = fields.get("visited_by", "").strip()
    if len(who) > MAX_WHO:
        errors.append(FieldError("visited_by", f"Names must be {MAX_WHO} characters or fewer"))
    notes = fields.get("notes", "").strip()
    if len(notes) > MAX_NOTES:
        errors.append(FieldError("notes", f"What you saw or heard must be {MAX_NOTES} characters or fewer"))
    if errors:
        raise FormInvalid(errors)
    return VisitForm(when, who or None, notes or None)


class VisitView(RecordingView[KeptTask]):
    """What the link's pages show: the task, and whose link it is."""

    @property
    def task(self) -> KeptTask:
        return self.subject


class VisitLinks(RecordingLinks[KeptTask, VisitForm]):
    purpose, path, kind = PURPOSE, PATH, "site-visit-link"
    view_type = VisitView

    def __init__(self, db: Database, clock: Clock, links: SignedLinks, used: UsedLinks, assessment: AssessmentClient,
                 contacts: StaffDirectory, base_url: str, site_pages_url: str, tasks: Tasks | None = None) -> None:
        super().__init__(db, clock, links, used, assessment, contacts, base_url, site_pages_url)
        self.tasks = tasks or Tasks()

    def link(self, recipient: str, task_id: str) -> tuple[str, datetime]:
        url, claims = self.issue(recipient, task_id)
        return url, claims.expires_at

    def renderer(self, fallback: Callable[[dict[str, Any]], Message]) -> Callable[[dict[str, Any]], Message]:
        """The dispatchers' renderer: a morning message gains its officer's visit links, made now."""
        def render(row: dict[str, Any]) -> Message:
            if row["purpose"] != MORNING:
                return fallback(row)
            recipient = str(row["recipient"]).partition(":")[2]
            payload = json.loads(str(row["payload"]))
            made = {t["task_id"]: self.link(recipient, str(t["task_id"])) for t in payload["context"]["tasks"]}
            expires = min((at for _, at in made.values()), default=None)
            context = {**payload["context"], "visit_links": {k: url for k, (url, _) in made.items()},
                       "links_expire": uk_time(expires) if expires else ""}
            return fallback({**row, "payload": json.dumps({**payload, "context": context})})

        return render

    def _subject(self, s: Session, subject_id: str) -> KeptTask | None:
        return self.tasks.get(s, subject_id)

    def _send(self, view: RecordingView[KeptTask], form: VisitForm, claims: LinkClaims) -> Recorded:
        return self.assessment.visit(view.subject.site_id, form.body(claims))
