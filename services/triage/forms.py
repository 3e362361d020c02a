"""The staff pages' forms, parsed into the same body models as the JSON API, with refusals in plain English.

A form sends every field as text: an empty optional field means "not given", an absent required one
is empty, and fields the model does not know (the CSRF token, the operation) are left out. Times are
typed in UK time (a `datetime-local` input has no zone) and read as Europe/London, stored as UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar, get_args

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from services.triage.schemas import Assign, Close, Declare, Override, RecordCia, Regrade
from shared.web.filters import from_london_input

B = TypeVar("B", bound=BaseModel)

# Where a form's sentence says more than "give the ...": the same words the use case says to a blank reason.
REQUIRED = {
    (Override, "reason"): "give a reason for the override",
    (Regrade, "reason"): "give a reason for the regrade",
    (Declare, "reason"): "give the reason for heightened tension",
    (Close, "outcome"): "choose an outcome",
    (Assign, "duty_inspector"): "choose a Duty Inspector",
    (Override, "priority"): "choose a priority",
    (Override, "needs_duty_inspector"): "say whether the incident needs the Duty Inspector",
    (RecordCia, "community_tension"): "choose the level of community tension",
    (RecordCia, "risk_of_disorder"): "choose the risk of disorder",
}
LABELS = {"due_at": "due time", "next_review_at": "next review time", "starts_at": "start time",
          "ends_at": "end time"}


class FormInvalid(ValueError):
    """A form that does not fit its body; the message is a sentence for the person who sent it."""

    def __init__(self, message: str, field_name: str = "") -> None:
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class SubmittedForm:
    fields: dict[str, str]

    def get(self, name: str) -> str:
        return self.fields.get(name, "")

    def parse(self, model: type[B]) -> B:
        values = {name: _value(name, f.annotation, self.get(name)) for name, f in model.model_fields.items()
                  if f.is_required() or self.get(name)}
        try:
            return model.model_validate(values)
        except ValidationError as e:
            error = e.errors()[0]
            raise FormInvalid(_sentence(model, error), str(error["loc"][0]) if error["loc"] else "") from None


async def submitted_form(request: Request) -> SubmittedForm:
    return SubmittedForm({k: str(v) for k, v in (await request.form()).items()})


FormDep = Annotated[SubmittedForm, Depends(submitted_form)]


def _value(name: str, annotation: Any, text: str) -> Any:
    """A time typed in UK time becomes UTC here; everything else is left for the model to validate."""
    if not text or not _is_time(annotation):
        return text
    try:
        return from_london_input(text)
    except ValueError:
        raise FormInvalid(f"enter the {LABELS.get(name, name)} as a date and time", name) from None


def _is_time(annotation: Any) -> bool:
    return annotation is datetime or any(_is_time(a) for a in get_args(annotation))


def _sentence(model: type[BaseModel], error: ErrorDetails) -> str:
    name = str(error["loc"][0]) if error["loc"] else ""
    label, kind, ctx = LABELS.get(name, name.replace("_", " ")), error["type"], error.get("ctx", {})
    if kind in ("missing", "string_too_short"):
        return REQUIRED.get((model, name), f"give the {label}")
    if kind == "string_too_long":
        return f"keep the {label} under {ctx.get('max_length')} characters"
    if kind == "enum":
        if not error["input"]:
            return REQUIRED.get((model, name), f"choose the {label}")
        kind_name = getattr(model.model_fields[name].annotation, "__name__", label)
        return f"{error['input']!r} is not a valid {kind_name}"
    if kind.startswith("datetime"):
        return f"enter the {label} as a date and time"
    return f"{label}: {error['msg']}"
