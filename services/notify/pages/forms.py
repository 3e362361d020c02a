"""The pages' forms, read into the JSON API's body models, with every problem said in plain English at once.

Times are typed in London time (a `datetime-local` input) and read back as UTC before the model sees them,
so the model's checks (a zone, the end after the start) are the API's own.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from pydantic import ValidationError

from services.notify.ledger import MAX_REASON
from services.notify.schemas import OverrideIn, StaffNote
from shared.areas import AreaRegistry
from shared.staffaccess import Caller
from shared.web.filters import from_london_input


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class FormInvalid(ValueError):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class NewOverride:
    area: str
    body: OverrideIn


@dataclass(frozen=True)
class SubmittedForm:
    fields: dict[str, str]

    def get(self, name: str) -> str:
        return self.fields.get(name, "").strip()

    def csrf_matches(self, caller: Caller) -> bool:
        given = self.get("csrf_token")
        return bool(given and caller.csrf_token) and hmac.compare_digest(given.encode(), caller.csrf_token.encode())

    def note(self) -> StaffNote:
        reason = self.get("reason")
        if len(reason) > MAX_REASON:
            raise FormInvalid([FieldError("reason", f"The reason must be {MAX_REASON} characters or fewer")])
        return StaffNote(reason=reason or None)

    def new_override(self, areas: AreaRegistry, people: set[str], now: datetime) -> NewOverride:
        errors: list[FieldError] = []
        area, person = self.get("area"), self.get("person_id")
        if area not in areas:
            errors.append(FieldError("area", "Select the area"))
        if person not in people:
            errors.append(FieldError("person_id", "Select who will be on call"))
        starts = self._time("starts_at", "when the override starts", errors)
        ends = self._time("ends_at", "when the override ends", errors)
        if ends and starts and ends <= starts:
            errors.append(FieldError("ends_at", "The end must be after the start"))
        elif ends and ends <= now:
            errors.append(FieldError("ends_at", "The end must be in the future"))
        reason = self.get("reason")
        if not reason:
            errors.append(FieldError("reason", "Enter why someone else is on call"))
        elif len(reason) > MAX_REASON:
            errors.append(FieldError("reason", f"The reason must be {MAX_REASON} characters or fewer"))
        if errors or starts is None or ends is None:
            raise FormInvalid(errors)
        try:
            body = OverrideIn(person_id=person, starts_at=starts, ends_at=ends, reason=reason)
        except ValidationError as e:
            raise FormInvalid([FieldError(".".join(map(str, err["loc"])) or "ends_at", err["msg"])
                               for err in e.errors()]) from None
        return NewOverride(area, body)

    def _time(self, name: str, what: str, errors: list[FieldError]) -> datetime | None:
        text = self.get(name)
        if not text:
            errors.append(FieldError(name, f"Enter {what}"))
            return None
        try:
            return from_london_input(text)
        except ValueError:
            errors.append(FieldError(name, f"Enter {what} as a real date and time"))
            return None


async def submitted_form(request: Request) -> SubmittedForm:
    return SubmittedForm({k: str(v) for k, v in (await request.form()).items()})


FormDep = Annotated[SubmittedForm, Depends(submitted_form)]
