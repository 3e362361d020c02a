"""Events on `vigil.reports.v1`, written by intake. Keyed by report id.

Personal data (name, email, phone, organisation, postcode, place name, online platform, URL,
description, a reporting centre's own reference) never appears here in plain text: it travels in
`personal`, sealed with the report's own key. So does text staff or the reporter write about a report
(a hold's reason, the reporter's reason for withdrawing), so that erasure shreds it with the rest; only
an erasure's reason travels in clear, because it must outlive the key (it names no one).
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
    organisation: str | None = Field(None, description="no longer written (sealed in `personal` since #15); "
                                                       "read only in older events")
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
    online_platform: str | None = Field(None, description="no longer written (sealed in `personal` since #15); "
                                                          "read only in older events")
    injuries: Injuries = Injuries.none
    weapon: bool = False
    vulnerabilities: list[Vulnerability] = []
    repeat: bool = False


class Fingerprints(_Part):
    """Keyed hashes (HMAC) that let other services compare places without reading anyone's details.

    Since #15 intake writes only `place`, and never for a home: a hash of a contact, an address or a
    description would link an erased report to a person (anyone with the key can test a guess), so intake
    matches those itself and publishes the results (`ReportSubmitted.earlier_reports_same_contact`,
    `source_burst`, `near_duplicate_of`, `postcode_district`). `contact`, `source`, `content` and
    `postcode_district` are read only in older events.
    """

    contact: str | None = None
    place: str | None = None
    source: str | None = None
    content: str | None = None
    postcode_district: str | None = None


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
    external_reference: str | None = Field(None, description="no longer written (sealed in `personal` since "
                                                             "#15); read only in older events")
    reporter: ReporterFacts
    consent: Consent
    incident: IncidentFacts
    grading: Grading
    fingerprints: Fingerprints
    personal: Sealed | None = None
    earlier_reports_same_contact: list[str] = Field(
        [], description="intake's match: the earliest reports (ids, oldest first, at most five) from the same "
                        "reporter contact within 90 days; the contact itself never travels")
    source_burst: str | None = Field(
        None, description="an opaque token shared by the reports of one burst from one source (address or "
                          "centre); intake forgets which source when any of them is erased")
    source_reports_28d: int | None = Field(
        None, description="how many reports the same source sent in the 28 days before its burst began: its "
                          "own normal, as a bare count")
    near_duplicate_of: list[str] = Field(
        [], description="intake's match: the earliest reports (ids, oldest first, at most five) within 24 hours "
                        "with the same normalised description")
    postcode_district: str | None = Field(
        None, description="the postcode's district (outward code, e.g. E1), coarse geography; never given for "
                          "a home")


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
    """The reporter withdrew the report: it is not to be pursued, and its personal data is erased at
    `erase_after` unless a hold is recorded by then (`vigil.report.erased.v1` follows)."""

    report_id: str
    withdrawn_at: datetime
    reason: str | None = Field(None, description="a reason that names no one; the reporter's own words travel "
                                                 "sealed in `personal` (`reason`)")
    withdrawn_by: str = Field("reporter", description="who withdrew it: the reporter, with the follow-up token")
    erase_after: datetime | None = Field(None, description="when the personal data will be erased unless held")
    personal: Sealed | None = None


class ErasureBasis(StrEnum):
    """Why a report was erased: a request (to the data protection officer), the grace period after the
    reporter withdrew it, or the retention schedule."""

    request = "request"
    withdrawal = "withdrawal"
    retention = "retention"


@event_type("vigil.report.erased.v1", TOPIC)
class ReportErased(Event):
    """The report's data key is destroyed: every sealed copy, anywhere, is now unreadable.

    Every service drops what it derived from the report. `requested_by` is who (a member of staff's
    username, `reporter`, or `retention schedule`), `erased_at` when, `basis` and `reason` why.
    """

    report_id: str
    erased_at: datetime
    requested_by: str
    basis: ErasureBasis = ErasureBasis.request
    reason: str | None = Field(None, description="why, for the audit: it outlives the key, so it names no one")


class HoldKind(StrEnum):
    """A legal hold (litigation, an investigation, a court order) or a safeguarding hold (a real risk of
    significant harm): either stops erasure, by request, withdrawal or retention, until released."""

    legal = "legal"
    safeguarding = "safeguarding"


@event_type("vigil.report.hold_placed.v1", TOPIC)
class ReportHoldPlaced(Event):
    """A hold on a report's erasure. The reason (staff's words) is sealed in `personal` (`reason`)."""

    report_id: str
    hold_id: str
    kind: HoldKind
    placed_by: str
    placed_at: datetime
    personal: Sealed | None = None


@event_type("vigil.report.hold_released.v1", TOPIC)
class ReportHoldReleased(Event):
    """A hold ended; erasure may go ahead once no other hold stands. The reason is sealed in `personal`."""

    report_id: str
    hold_id: str
    kind: HoldKind
    released_by: str
    released_at: datetime
    personal: Sealed | None = None


class ReadPurpose(StrEnum):
    """Why a Vigil service read a report's personal data from intake."""

    staff_view = "staff_view"  # a member of staff opened the reporter's details (triage; who, in `on_behalf_of`)
    reporter_message = "reporter_message"  # a message to the reporter, at their contact details (notify)
    referral = "referral"  # the reporter's details sent to a support organisation they agreed to (notify)


@event_type("vigil.report.personal_data_read.v1", TOPIC)
class ReportPersonalDataRead(Event):
    """Intake handed a report's personal data to another Vigil service: which service, when and why (and for
    which member of staff, when one asked). Recorded before the data leaves intake; carries none of it."""

    report_id: str
    service: str = Field(description="the Vigil service that read it, as its credential says")
    purpose: ReadPurpose
    on_behalf_of: str | None = Field(None, description="the staff account that asked, when one did")
    read_at: datetime
