"""The staff pages' forms, parsed into the same body models as the JSON API, with refusals in plain English.

A form sends every field as text: an empty optional field means "not given", an absent required one
is empty, and fields the model does not know (the CSRF token, the operation) are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from services.triage.schemas import Declare, Override, Regrade

B = TypeVar("B", bound=BaseModel)

# Where a form's sentence says more than "give the ...": the same words the use case says to a blank reason.
REQUIRED = {
    (Override, "reason"): "give a reason for the override",
    (Regrade, "reason"): "give a reason for the regrade",
    (Declare, "reason"): "give the reason for heightened tension",
}


class FormInvalid(ValueError):
    """A form that does not fit its body; the message is a sentence for the person who sent it."""


@dataclass(frozen=True)
class SubmittedForm:
    fields: dict[str, str]

    def get(self, name: str) -> str:
        return self.fields.get(name, "")

    def parse(self, model: type[B]) -> B:
        values = {name: self.get(name) for name, f in model.model_fields.items()
                  if f.is_required() or self.get(name)}
        try:
            return model.model_validate(values)
        except ValidationError as e:
            raise FormInvalid(_sentence(model, e.errors()[0])) from None


async def submitted_form(request: Request) -> SubmittedForm:
    return SubmittedForm({k: str(v) for k, v in (await request.form()).items()})


FormDep = Annotated[SubmittedForm, Depends(submitted_form)]


def _sentence(model: type[BaseModel], error: ErrorDetails) -> str:
    name = str(error["loc"][0]) if error["loc"] else ""
    label, kind, ctx = name.replace("_", " "), error["type"], error.get("ctx", {})
    if kind in ("missing", "string_too_short"):
        return REQUIRED.get((model, name), f"give the {label}")
    if kind == "string_too_long":
        return f"keep the {label} under {ctx.get('max_length')} characters"
    if kind == "enum":
        kind_name = getattr(model.model_fields[name].annotation, "__name__", label)
        return f"{error['input']!r} is not a valid {kind_name}"
    if kind.startswith("datetime"):
        return f"invalid isoformat string: {error['input']!r}"
    return f"{label}: {error['msg']}"
