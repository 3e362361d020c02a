"""The public report contract (v1) and the rules intake applies to it.

Plain Python over pydantic: no web framework, database or Kafka here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from shared.clock import utc
from shared.events.reports import (
    Consent,
    Grading,
    IncidentType,
    Injuries,
    PlaceType,
    Religion,
    ReporterRole,
    Strand,
    Vulnerability,
)

ShortText = Annotated[str, Field(min_length=1, max_length=200)]
LanguageTag = Annotated[str, Field(pattern=r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$", max_length=35)]
FUTURE_TOLERANCE = timedelta(minutes=5)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReporterIn(_In):
    role: ReporterRole
    anonymous: bool = False
    name: ShortText | None = None
    email: EmailStr | None = Field(None, max_length=254)
    phone: Annotated[str, Field(pattern=r"^\+?[0-9 ()-]{6,20}$")] | None = None
    preferred_language: LanguageTag = "en"
    organisation: ShortText | None = None


class LocationIn(_In):
    area: Annotated[str, Field(min_length=3, max_length=20)] | None = None
    postcode: Annotated[str, Field(max_length=10)] | None = None
    place_type: PlaceType
    place_name: ShortText | None = None


class OnlineIn(_In):
    platform: ShortText
    url: Annotated[str, Field(max_length=2000)] | None = None


class IncidentIn(_In):
    occurred_at: datetime
    occurred_at_is_approximate: bool = False
    ongoing: bool = False
    types: list[IncidentType] = Field(min_length=1, max_length=11)
    targeted_characteristics: list[Strand] = Field(min_length=1, max_length=6)
    religion_targeted: Religion | None = None
    location: LocationIn
    online: OnlineIn | None = None
    injuries: Injuries = Injuries.none
    weapon: bool = False
    vulnerabilities: list[Vulnerability] = Field(default_factory=list, max_length=4)
    repeat: bool = False
    description: Annotated[str, Field(max_length=10000)] = ""

    @field_validator("types", "targeted_characteristics", "vulnerabilities")
    @classmethod
    def _no_repeats(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("each value may appear once")
        return v

    @model_validator(mode="after")
    def _cross_field(self) -> IncidentIn:
        if self.location.place_type == PlaceType.online and self.online is None:
            raise ValueError("online details (platform) are required when place_type is online")
        if self.religion_targeted is not None and Strand.religion not in self.targeted_characteristics:
            raise ValueError("religion_targeted needs 'religion' among targeted_characteristics")
        return self


class ReportIn(_In):
    """What `POST /v1/reports` and the public form accept."""

    reporter: ReporterIn
    consent: Consent = Consent()
    incident: IncidentIn


class ReportRejected(ValueError):
    """A report that is well-formed but not acceptable; `field` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def check_not_in_future(occurred_at: datetime, now: datetime) -> None:
    if utc(occurred_at) > now + FUTURE_TOLERANCE:
        raise ReportRejected("incident.occurred_at", "the incident time is in the future")


def contact_warnings(report: ReportIn) -> tuple[ReportIn, list[str]]:
    """Contact details without contact consent are discarded, and the reporter is told."""
    r = report.reporter
    if report.consent.contact or not (r.email or r.phone):
        return report, []
    cleaned = report.model_copy(update={"reporter": r.model_copy(update={"email": None, "phone": None})})
    return cleaned, ["contact details were discarded because contact consent was not given"]


def default_grading(role: ReporterRole, consent: Consent, trusted_centre: bool) -> Grading:
    """Intake's default 3x5x2 grading from the channel and the reporter's role (DESIGN.md)."""
    intelligence = "A" if role in (ReporterRole.victim, ReporterRole.witness) else "C"
    source = "1" if trusted_centre else "2"
    handling = "P" if consent.share_with_partners else "C"
    return Grading(source=source, intelligence=intelligence, handling=handling)


def personal_fields(report: ReportIn) -> dict[str, str]:
    """The fields that must never travel in plain text."""
    inc, rep = report.incident, report.reporter
    values = {
        "name": rep.name, "email": rep.email, "phone": rep.phone,
        "postcode": inc.location.postcode, "place_name": inc.location.place_name,
        "url": inc.online.url if inc.online else None, "description": inc.description or None,
    }
    return {k: v for k, v in values.items() if v}
