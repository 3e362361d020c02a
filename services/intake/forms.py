"""The public form's fields, how they become a v1 report, and how problems come back to them.

Messages here are gettext message ids (marked with N_ for extraction); templates translate them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from services.intake.domain import ReportIn, ReportRejected, resolve_area, time_problems
from shared.areas import AreaRegistry

LOCAL_TIME = ZoneInfo("Europe/London")


def N_(message: str) -> str:
    """The gettext marker for extraction; templates translate at render time."""
    return message


class FormData(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...
    def getlist(self, key: str) -> list[Any]: ...


class FormProblems(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


BOOLS = ("anonymous", "consent_contact", "consent_share_with_police", "consent_share_with_partners",
         "consent_refer_to_support", "approximate", "ongoing", "weapon", "repeat")
LISTS = ("types", "strands", "vulnerabilities")


class FormValues(BaseModel):
    """What the visitor typed, kept as text so it can be shown back exactly."""

    role: str = ""
    anonymous: bool = False
    name: str = ""
    email: str = ""
    phone: str = ""
    organisation: str = ""
    consent_contact: bool = False
    consent_share_with_police: bool = True
    consent_share_with_partners: bool = False
    consent_refer_to_support: bool = False
    occurred_date: str = ""
    occurred_time: str = ""
    approximate: bool = False
    ongoing: bool = False
    types: list[str] = []
    strands: list[str] = []
    religion: str = ""
    area: str = ""
    postcode: str = ""
    place_type: str = ""
    place_name: str = ""
    online_platform: str = ""
    online_url: str = ""
    injuries: str = "none"
    weapon: bool = False
    repeat: bool = False
    vulnerabilities: list[str] = []
    description: str = ""
    idempotency_key: str = ""

    @classmethod
    def empty(cls) -> FormValues:
        return cls()

    @classmethod
    def from_form(cls, data: FormData) -> FormValues:
        values: dict[str, Any] = {}
        for name, info in cls.model_fields.items():
            if name in BOOLS:
                values[name] = data.get(name) is not None
            elif name in LISTS:
                values[name] = [str(v) for v in data.getlist(name)][:20]
            else:
                raw = data.get(name)
                values[name] = str(raw).strip() if raw is not None else info.default
        return cls(**values)

    def occurred_at(self) -> str | None:
        """The visitor gives UK local date and time; a missing time means midday, approximately."""
        if not self.occurred_date:
            return None
        day = _uk_date(self.occurred_date) or self.occurred_date
        text = f"{day}T{self.occurred_time or '12:00'}"
        try:
            return datetime.fromisoformat(text).replace(tzinfo=LOCAL_TIME).isoformat()
        except ValueError:
            return text

    def to_report(self, lang: str) -> ReportIn:
        online = ({"platform": self.online_platform or None, "url": self.online_url or None}
                  if self.online_platform or self.online_url else None)
        body: dict[str, Any] = {
            "reporter": {"role": self.role or None, "anonymous": self.anonymous, "name": self.name or None,
                         "email": self.email or None, "phone": self.phone or None, "preferred_language": lang,
                         "organisation": self.organisation or None},
            "consent": {"contact": self.consent_contact, "share_with_police": self.consent_share_with_police,
                        "share_with_partners": self.consent_share_with_partners,
                        "refer_to_support": self.consent_refer_to_support},
            "incident": {
                "occurred_at": self.occurred_at(),
                "occurred_at_is_approximate": self.approximate or not self.occurred_time,
                "ongoing": self.ongoing, "types": self.types, "targeted_characteristics": self.strands,
                "religion_targeted": self.religion if self.religion and "religion" in self.strands else None,
                "location": {"area": self.area or None, "postcode": self.postcode or None,
                             "place_type": self.place_type or None, "place_name": self.place_name or None},
                "online": online, "injuries": self.injuries or "none", "weapon": self.weapon,
                "vulnerabilities": self.vulnerabilities, "repeat": self.repeat, "description": self.description,
            },
        }
        return ReportIn.model_validate(_drop_none_where_required(body))


def _uk_date(text: str) -> str | None:
    """Browsers without a date picker send what the visitor typed, often 21/11/2026."""
    parts = text.replace(".", "/").replace("-", "/").split("/")
    if len(parts) == 3 and len(parts[2]) == 4 and all(p.isdigit() for p in parts):
        return f"{parts[2]}-{int(parts[1]):02d}-{int(parts[0]):02d}"
    return None


def _drop_none_where_required(body: dict[str, Any]) -> dict[str, Any]:
    """An unanswered required question should read as 'missing', not 'null is not allowed'."""
    for section, key in (("reporter", "role"), ("incident", "occurred_at"), ("incident", "online")):
        if body[section].get(key) is None:
            body[section].pop(key)
    location = body["incident"]["location"]
    if location["place_type"] is None:
        location.pop("place_type")
    online = body["incident"].get("online")
    if online and online["platform"] is None:
        online.pop("platform")
    return body


# Where each part of the v1 report lives on the form (longest prefix wins).
FIELD_OF = {
    "reporter.role": "role", "reporter.anonymous": "anonymous", "reporter.name": "name",
    "reporter.email": "email", "reporter.phone": "phone", "reporter.organisation": "organisation",
    "consent.contact": "consent_contact", "incident.occurred_at": "occurred_date",
    "incident.types": "types", "incident.targeted_characteristics": "strands",
    "incident.religion_targeted": "religion", "incident.location.area": "area",
    "incident.location.postcode": "postcode", "incident.location.place_type": "place_type",
    "incident.location.place_name": "place_name", "incident.online.url": "online_url",
    "incident.online": "online_platform", "incident.injuries": "injuries",
    "incident.vulnerabilities": "vulnerabilities", "incident.description": "description",
}
FIELD_ORDER = ["form", "role", "name", "email", "phone", "organisation", "consent_contact", "occurred_date",
               "types", "strands", "religion", "area", "postcode", "place_type", "place_name", "online_platform",
               "online_url", "injuries", "vulnerabilities", "description"]
# Where the error summary's link should land for groups of radios or checkboxes.
FIRST_INPUT = {"role": "role-victim", "types": "types-physical_assault", "strands": "strands-race",
               "injuries": "injuries-none", "vulnerabilities": "vulnerabilities-child", "form": "form-problem"}

REQUIRED = {
    "role": N_("Choose who you are"),
    "occurred_date": N_("Enter the date it happened"),
    "types": N_("Choose at least one type of incident"),
    "strands": N_("Choose at least one reason you think it happened"),
    "place_type": N_("Choose where it happened"),
    "area": N_("Choose the area where it happened"),
    "online_platform": N_("Say which website or app"),
    "organisation": N_("Enter the name of the organisation"),
}
BY_CODE = {
    "in_future": N_("The date cannot be in the future"),
    "too_old": N_("The date must be within the last ten years"),
    "unknown_area": N_("Choose an area from the list"),
    "area_unresolved": N_("We could not place this postcode: choose the area from the list"),
    "string_too_long": N_("This answer is too long"),
    "too_long": N_("This answer is too long"),
}
BY_FIELD = {
    "email": N_("Enter an email address like %(example_email)s"),
    "phone": N_("Enter a phone number, like %(example_phone)s"),
    "occurred_date": N_("Enter a real date, for example %(example_date)s"),
}
FORM_MESSAGES = {
    "csrf": N_("Your session expired. Please check your answers and send the form again."),
    "resubmitted": N_("This form was already sent with different answers. Please send it again."),
}
CHECK = N_("Check this answer")


def form_field(path: str) -> str:
    parts = [p for p in path.split(".") if not p.isdigit()]
    while parts:
        candidate = ".".join(parts)
        if candidate in FIELD_OF:
            return FIELD_OF[candidate]
        parts.pop()
    return "form"


def message_for(field: str, code: str) -> str:
    if code in ("missing", "required", "too_short") and field in REQUIRED:
        return REQUIRED[field]
    return BY_CODE.get(code) or BY_FIELD.get(field) or CHECK


def _collect(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for path, code in pairs:
        field = form_field(path)
        errors.setdefault(field, message_for(field, code))
    return errors


def errors_from_validation(e: ValidationError) -> dict[str, str]:
    return _collect((".".join(str(p) for p in err["loc"]), err["type"]) for err in e.errors())


def errors_from_rejection(e: ReportRejected) -> dict[str, str]:
    return _collect((p.field, p.code) for p in e.problems)


def early_problems(values: FormValues, areas: AreaRegistry, now: datetime) -> dict[str, str]:
    """The area and date rules, also when other answers are missing, so the visitor fixes all in one go."""
    found = resolve_area(values.area or None, values.postcode or None, areas)[2]
    occurred = values.occurred_at()
    if occurred:
        with contextlib.suppress(ValueError):
            found += time_problems(datetime.fromisoformat(occurred), now)
    return _collect((p.field, p.code) for p in found)


def error_summary(errors: dict[str, str]) -> list[tuple[str, str]]:
    """(anchor id, message id) in the order the fields appear on the page."""
    ordered = sorted(errors, key=lambda f: FIELD_ORDER.index(f) if f in FIELD_ORDER else len(FIELD_ORDER))
    return [(FIRST_INPUT.get(f, f), FORM_MESSAGES.get(errors[f], errors[f])) for f in ordered]


ROLES = [("victim", N_("It happened to me")), ("witness", N_("I saw it happen")),
         ("third_party", N_("I am reporting for someone else")),
         ("organisation", N_("I am reporting for an organisation"))]
TYPES = [("physical_assault", N_("Physical attack")), ("threat", N_("Threats")),
         ("verbal_abuse", N_("Verbal abuse")), ("harassment", N_("Harassment")),
         ("criminal_damage", N_("Damage to property")), ("arson", N_("Fire-setting (arson)")),
         ("graffiti", N_("Graffiti")), ("online_abuse", N_("Online abuse")),
         ("hate_material", N_("Hate mail, leaflets or stickers")), ("theft", N_("Theft")), ("other", N_("Other"))]
STRANDS = [("race", N_("Race or ethnicity")), ("religion", N_("Religion or belief")),
           ("sexual_orientation", N_("Sexual orientation")), ("disability", N_("Disability")),
           ("transgender_identity", N_("Transgender identity")), ("other", N_("Something else"))]
RELIGIONS = [("muslim", N_("Muslim")), ("jewish", N_("Jewish")), ("sikh", N_("Sikh")), ("hindu", N_("Hindu")),
             ("christian", N_("Christian")), ("other", N_("Another religion or belief"))]
PLACES = [("street", N_("In the street")), ("home", N_("At home")), ("place_of_worship", N_("At a place of worship")),
          ("public_transport", N_("On public transport")), ("education", N_("At school, college or university")),
          ("workplace", N_("At work")), ("shop", N_("In a shop, pub or restaurant")), ("online", N_("Online")),
          ("other", N_("Somewhere else"))]
INJURIES = [("none", N_("No injuries")), ("minor", N_("Minor injuries")), ("serious", N_("Serious injuries"))]
VULNERABILITIES = [("child", N_("A child (under %(child_age)s)")), ("older_person", N_("An older person")),
                   ("disability", N_("A disabled person")),
                   ("mental_health", N_("Someone with a mental health condition"))]


def options(areas: AreaRegistry) -> dict[str, Any]:
    return {"roles": ROLES, "types": TYPES, "strands": STRANDS, "religions": RELIGIONS, "places": PLACES,
            "injuries": INJURIES, "vulnerabilities": VULNERABILITIES,
            "areas": sorted(((a.code, a.name) for a in areas.all()), key=lambda a: a[1])}
