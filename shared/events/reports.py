"""Events on `vigil.reports.v1`, written by intake. Keyed by report id.

Personal data (name, email, phone, postcode, place name, URL, description) never
appears here in plain text: it travels in `personal`, sealed with the report's own key.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.events.base import Event, event_type

TOPIC = "vigil.reports.v1"


class ReporterRole(StrEnum):
    victim = "victim"
    witness = "witness"
    third_party = "third_party"
    organisation = "organisation"


class IncidentType(StrEnum):
    physical_assault = "physical_assault"
    threat = "threat"
    verbal_abuse = "verbal_abuse"
    harassment = "harassment"
    criminal_damage = "criminal_damage"
    arson = "arson"
    graffiti = "graffiti"
    online_abuse = "online_abuse"
    hate_material = "hate_material"
    theft = "theft"
    other = "other"


class Strand(StrEnum):
    race = "race"
    religion = "religion"
    sexual_orientation = "sexual_orientation"
    disability = "disability"
    transgender_identity = "transgender_identity"
    other = "other"


class Religion(StrEnum):
    muslim = "muslim"
    jewish = "jewish"
    sikh = "sikh"
    hindu = "hindu"
    christian = "christian"
    other = "other"


class PlaceType(StrEnum):
    place_of_worship = "place_of_worship"
    home = "home"
    street = "street"
    public_transport = "public_transport"
    education = "education"
    workplace = "workplace"
    shop = "shop"
    online = "online"
    other = "other"


class Injuries(StrEnum):
    none = "none"
    minor = "minor"
    serious = "serious"


class Vulnerability(StrEnum):
    child = "child"
    older_person = "older_person"
    disability = "disability"
    mental_health = "mental_health"


class Channel(StrEnum):
    web = "web"
    api = "api"
    centre = "centre"


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Grading(_Part):
    """The UK 3x5x2 grading: source evaluation, intelligence assessment, handling code."""

    source: str = Field(pattern="^[123]$")
    intelligence: str = Field(pattern="^[A-E]$")
    handling: str = Field(pattern="^[PC]$")

    def code(self) -> str:
        return f"{self.source}{self.intelligence}{self.handling}"


class Consent(_Part):
    contact: bool = False
    share_with_police: bool = True
    share_with_partners: bool = False
    refer_to_support: bool = False


class ReporterFacts(_Part):
    role: ReporterRole
    anonymous: bool
    preferred_language: str = "en"
    organisation: str | None = None
    has_contact: bool = False


class LocationFacts(_Part):
    area: str
    district: str | None = None
    place_type: PlaceType


class IncidentFacts(_Part):
    occurred_at: datetime
    occurred_at_is_approximate: bool = False
    ongoing: bool = False
    types: list[IncidentType] = Field(min_length=1)
    targeted_characteristics: list[Strand] = Field(min_length=1)
    religion_targeted: Religion | None = None
    location: LocationFacts
    online_platform: str | None = None
    injuries: Injuries = Injuries.none
    weapon: bool = False
    vulnerabilities: list[Vulnerability] = []
    repeat: bool = False


class Fingerprints(_Part):
    """Keyed hashes (HMAC) that let other services compare without reading anyone's details."""

    contact: str | None = None
    place: str | None = None


class Sealed(_Part):
    """Personal data sealed with the report's data key (AES-256-GCM, report id as associated data)."""

    alg: str = "AES-256-GCM"
    nonce: str
    ciphertext: str


@event_type("vigil.report.submitted.v1", TOPIC)
class ReportSubmitted(Event):
    report_id: str
    reference: str
    submitted_at: datetime
    channel: Channel
    centre_id: str | None = None
    external_reference: str | None = None
    reporter: ReporterFacts
    consent: Consent
    incident: IncidentFacts
    grading: Grading
    fingerprints: Fingerprints
    personal: Sealed | None = None


@event_type("vigil.report.amended.v1", TOPIC)
class ReportAmended(Event):
    """Follow-up information. Changed facts replace the earlier ones; new text is sealed."""

    report_id: str
    amended_at: datetime
    incident: IncidentFacts | None = None
    fingerprints: Fingerprints | None = None
    personal: Sealed | None = None


@event_type("vigil.report.withdrawn.v1", TOPIC)
class ReportWithdrawn(Event):
    report_id: str
    withdrawn_at: datetime
    reason: str | None = None


@event_type("vigil.report.erased.v1", TOPIC)
class ReportErased(Event):
    """The report's data key is destroyed: every sealed copy, anywhere, is now unreadable."""

    report_id: str
    erased_at: datetime
    requested_by: str
