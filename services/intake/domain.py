"""The public report contract (v1) and the rules intake applies to it.

Plain Python over pydantic: no web framework, database or Kafka here. Field-level rules
live on the models; rules that span fields or need reference data (the area registry,
the clock) live in `check_report`, so every problem can name the exact field to fix.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from shared.areas import AreaRegistry
from shared.clock import utc
from shared.events.base import Event
from shared.events.incidents import (
    CriteriaOverridden,
    DutyInspectorAssigned,
    IncidentAcknowledged,
    IncidentClosed,
    IncidentEscalated,
    IncidentRegraded,
    IncidentTriaged,
)
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
LanguageTag = Annotated[str, Field(pattern=r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$", max_length=35,
                                   description="BCP 47 language tag, e.g. en, ar, tr, ur, cy")]
FUTURE_TOLERANCE = timedelta(minutes=5)
OLDEST = timedelta(days=366 * 10)


def N_(message: str) -> str:
    """The gettext marker: the public form translates these warnings."""
    return message


CONTACT_DISCARDED = N_("contact details were discarded because contact consent was not given")
NAME_DISCARDED = N_("the name was discarded because the report is anonymous")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReporterIn(_In):
    role: ReporterRole = Field(description="victim, witness, third_party (on someone's behalf) or organisation")
    anonymous: bool = Field(False, description="true: the reporter's name is not kept")
    name: ShortText | None = Field(None, description="personal data; discarded when anonymous")
    email: EmailStr | None = Field(None, max_length=254, description="personal data; kept only with contact consent")
    phone: Annotated[str, Field(pattern=r"^\+?[0-9 ()-]{6,20}$")] | None = Field(
        None, description="personal data; kept only with contact consent")
    preferred_language: LanguageTag = "en"
    organisation: ShortText | None = Field(None, description="required when role is organisation")


class LocationIn(_In):
    area: Annotated[str, Field(min_length=3, max_length=20)] | None = Field(
        None, description="police force area (ONS code, e.g. E23000001) or a district code; "
                          "may be left out when the postcode's district is known")
    postcode: Annotated[str, Field(max_length=10)] | None = Field(None, description="full postcode or district")
    place_type: PlaceType
    place_name: ShortText | None = Field(None, description="personal data, e.g. the name of a mosque or shop")


class OnlineIn(_In):
    platform: ShortText = Field(description="e.g. X, Facebook, TikTok, a game or a website")
    url: Annotated[str, Field(max_length=2000)] | None = Field(None, description="personal data")


class IncidentIn(_In):
    occurred_at: datetime = Field(description="ISO 8601 with a time zone; not in the future")
    occurred_at_is_approximate: bool = False
    ongoing: bool = Field(False, description="happening now, or the threat continues")
    types: list[IncidentType] = Field(min_length=1, max_length=11, description="one or more, each once")
    targeted_characteristics: list[Strand] = Field(min_length=1, max_length=6,
                                                   description="perceived motivation; one or more, each once")
    religion_targeted: Religion | None = Field(None, description="only with 'religion' among the characteristics")
    location: LocationIn
    online: OnlineIn | None = Field(None, description="required when place_type is online")
    injuries: Injuries = Injuries.none
    weapon: bool = False
    vulnerabilities: list[Vulnerability] = Field(default_factory=list, max_length=4)
    repeat: bool = Field(False, description="it happened before to this person or place")
    description: Annotated[str, Field(max_length=10000)] = Field("", description="free text; personal data")

    @field_validator("types", "targeted_characteristics", "vulnerabilities")
    @classmethod
    def _no_repeats(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("each value may appear once")
        return v


class ReportIn(_In):
    """What `POST /v1/reports` and the public form accept."""

    reporter: ReporterIn
    consent: Consent = Consent()
    incident: IncidentIn
    external_reference: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        None, description="a reporting centre's own reference (API key required); kept and echoed")


class UpdateIn(_In):
    """Follow-up information from the reporter: new text and changed facts."""

    information: Annotated[str, Field(min_length=1, max_length=10000)] = Field(
        description="what the reporter wants to add; personal data")
    ongoing: bool | None = None
    injuries: Injuries | None = None
    weapon: bool | None = None
    repeat: bool | None = None


class Status(StrEnum):
    """What a reporter may see of their report's progress, nothing internal."""

    received = "received"
    triaged = "triaged"
    with_the_police = "with_the_police"
    closed = "closed"
    withdrawn = "withdrawn"  # by the reporter: last, so no later triage event moves it back


STATUS_ORDER = {s: i for i, s in enumerate(Status)}


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str
    code: str = "invalid"


class ReportRejected(ValueError):
    """A report that is well-formed but not acceptable; each problem names what to fix."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Checked:
    """A report that passed every rule, with what intake derived from it."""

    report: ReportIn
    area: str
    district: str | None
    warnings: list[str]


def check_report(report: ReportIn, now: datetime, areas: AreaRegistry, from_centre: bool) -> Checked:
    """Every cross-field and reference-data rule at once, so the reporter fixes everything in one go."""
    problems = time_problems(report.incident.occurred_at, now) + _shape_problems(report, from_centre)
    loc = report.incident.location
    area, district, area_problems = resolve_area(loc.area, loc.postcode, areas)
    problems += area_problems
    if problems:
        raise ReportRejected(problems)
    cleaned, warnings = discard_unconsented(report)
    return Checked(cleaned, area or "", district, warnings)


def time_problems(occurred_at: datetime, now: datetime) -> list[FieldProblem]:
    if occurred_at.tzinfo is None:
        return [FieldProblem("incident.occurred_at", "give a time zone (e.g. Z or +01:00)", "timezone_missing")]
    if utc(occurred_at) > now + FUTURE_TOLERANCE:
        return [FieldProblem("incident.occurred_at", "the incident time is in the future", "in_future")]
    if utc(occurred_at) < now - OLDEST:
        return [FieldProblem("incident.occurred_at", "the incident time is more than ten years ago", "too_old")]
    return []


def _shape_problems(report: ReportIn, from_centre: bool) -> list[FieldProblem]:
    inc, rep = report.incident, report.reporter
    problems = []
    if inc.location.place_type == PlaceType.online and inc.online is None:
        problems.append(FieldProblem("incident.online", "say which platform when the place is online", "required"))
    if inc.religion_targeted is not None and Strand.religion not in inc.targeted_characteristics:
        problems.append(FieldProblem("incident.religion_targeted",
                                     "needs 'religion' among targeted_characteristics", "inconsistent"))
    if rep.role == ReporterRole.organisation and not rep.organisation:
        problems.append(FieldProblem("reporter.organisation", "name the organisation reporting", "required"))
    if report.external_reference and not from_centre:
        problems.append(FieldProblem("external_reference", "only reporting centres with an API key may give one",
                                     "not_allowed"))
    return problems


def resolve_area(code: str | None, postcode: str | None,
                 areas: AreaRegistry) -> tuple[str | None, str | None, list[FieldProblem]]:
    """Force area and district from the area code, or from the postcode's district when we know it."""
    if code:
        if not areas.is_valid(code):
            return None, None, [FieldProblem("incident.location.area", f"unknown area code '{code}'",
                                             "unknown_area")]
        area = areas.area_of(code) or code
        return area, (code if code != area else None), []
    if postcode:
        area_code = areas.area_for_postcode(postcode)
        if area_code:
            return area_code, None, []
        return None, None, [FieldProblem("incident.location.area",
                                         "we cannot place this postcode: please choose the area from the list",
                                         "area_unresolved")]
    return None, None, [FieldProblem("incident.location.area", "choose an area (or give a postcode)", "required")]


def discard_unconsented(report: ReportIn) -> tuple[ReportIn, list[str]]:
    """Contact details without contact consent, and a name on an anonymous report, are not kept."""
    r = report.reporter
    update: dict[str, None] = {}
    warnings = []
    if not report.consent.contact and (r.email or r.phone):
        update |= {"email": None, "phone": None}
        warnings.append(CONTACT_DISCARDED)
    if r.anonymous and r.name:
        update["name"] = None
        warnings.append(NAME_DISCARDED)
    if not update:
        return report, []
    return report.model_copy(update={"reporter": r.model_copy(update=update)}), warnings


def default_grading(role: ReporterRole, consent: Consent, trusted_centre: bool) -> Grading:
    """Intake's default 3x5x2 grading from the channel and the reporter's role (DESIGN.md)."""
    intelligence = "A" if role in (ReporterRole.victim, ReporterRole.witness) else "C"
    source = "1" if trusted_centre else "2"
    handling = "P" if consent.share_with_partners else "C"
    return Grading(source=source, intelligence=intelligence, handling=handling)


def source_bucket(centre_id: str | None, address: str | None) -> str | None:
    """Where a report came from as the rate limit sees it: a centre by its key, the public by address, an IPv6
    address by its /64 (one household or phone moves about inside it). Matched inside intake only."""
    if centre_id:
        return f"centre:{centre_id}"
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return None
    if ip.version == 6:
        return f"address:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
    return f"address:{ip}"


def personal_fields(report: ReportIn) -> dict[str, str]:
    """The fields that must never travel in plain text: a small organisation, a platform named in the reporter's
    words or a reporting centre's case reference can point at a person as surely as a name."""
    inc, rep = report.incident, report.reporter
    values = {
        "name": rep.name, "email": rep.email, "phone": rep.phone, "organisation": rep.organisation,
        "postcode": inc.location.postcode, "place_name": inc.location.place_name,
        "online_platform": inc.online.platform if inc.online else None,
        "url": inc.online.url if inc.online else None, "description": inc.description or None,
        "external_reference": report.external_reference,
    }
    return {k: v for k, v in values.items() if v}


REPORTER_STATUS: dict[type[Event], Status] = {
    IncidentTriaged: Status.triaged,
    DutyInspectorAssigned: Status.with_the_police,
    IncidentAcknowledged: Status.with_the_police,
    IncidentEscalated: Status.with_the_police,
    CriteriaOverridden: Status.with_the_police,
    IncidentRegraded: Status.with_the_police,
    IncidentClosed: Status.closed,
}
"""What each of triage's events means to a reporter; the others (tension, assessments) say nothing to them."""


def later_status(current: Status, proposed: Status | None) -> Status:
    """A reporter's status only moves forward."""
    if proposed is None or STATUS_ORDER[proposed] <= STATUS_ORDER[current]:
        return current
    return proposed


def status_after(current: Status, event_type: str) -> Status:
    return later_status(current, incident_status(event_type))


_BY_WHAT = {cls.TYPE.split(".")[2]: status for cls, status in REPORTER_STATUS.items()}


def incident_status(event_type: str) -> Status | None:
    """The status a stored type string means, whatever its version (`vigil.incident.<what>.vN`)."""
    parts = event_type.split(".")
    if len(parts) != 4 or parts[:2] != ["vigil", "incident"]:
        return None
    return _BY_WHAT.get(parts[2])
