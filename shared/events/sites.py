"""Events on `vigil.sites.v1`, written by assessment, which keeps the register of places of worship and
faith sites. Keyed by site id.

A site's name, faith, area, postcode district, capacity and security measures travel in clear: they
describe a building, not a person. Its security contacts and the free text of a routine's outcome are
personal data and travel only sealed (`Sealed`), with a data key of the site's own that assessment keeps
wrapped by a key of its own; destroying that key shreds every copy.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.events.base import Event, event_type
from shared.events.reports import Religion, Sealed

TOPIC = "vigil.sites.v1"


class SiteKind(StrEnum):
    place_of_worship = "place_of_worship"
    faith_school = "faith_school"
    community_centre = "community_centre"


class CapacityBand(StrEnum):
    """How many people may be present at once: Martyn's Law's standard tier starts at 200."""

    under_200 = "under 200"
    from_200_to_799 = "200-799"
    from_800 = "800+"


class SecurityMeasure(StrEnum):
    """What the Home Office protective security schemes fund, plus stewards and trained staff."""

    cctv = "cctv"
    intruder_alarm = "intruder_alarm"
    fencing = "fencing"
    gates = "gates"
    door_hardening = "door_hardening"
    anti_shatter_film = "anti_shatter_film"
    access_control = "access_control"
    video_intercom = "video_intercom"
    lighting = "lighting"
    guarding = "guarding"
    stewards = "stewards"
    trained_staff = "trained_staff"


class FundingStage(StrEnum):
    none = "none"
    applied = "applied"
    surveyed = "surveyed"
    installed = "installed"


class ServiceDay(StrEnum):
    daily = "daily"
    monday = "monday"
    tuesday = "tuesday"
    wednesday = "wednesday"
    thursday = "thursday"
    friday = "friday"
    saturday = "saturday"
    sunday = "sunday"


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RegularService(_Part):
    """A service held regularly, at its usual time (UK time). `season` limits it to a calendar period of the
    site's faith (evening prayers in Ramadan: `season: Ramadan`); `main` marks the services a perimeter
    walk comes before."""

    name: str = Field(min_length=1, max_length=80)
    day: ServiceDay
    time: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM, UK time")
    main: bool = False
    season: str | None = Field(None, max_length=80)


class Funding(_Part):
    """Where the site stands with a protective security funding scheme, with the date of each stage."""

    stage: FundingStage = FundingStage.none
    scheme: str | None = Field(None, max_length=120)
    applied_on: date | None = None
    surveyed_on: date | None = None
    installed_on: date | None = None


class SiteEntry(_Part):
    """The register entry, as staff or the site's security lead keep it."""

    name: str = Field(min_length=1, max_length=120)
    faith: Religion
    kind: SiteKind = SiteKind.place_of_worship
    area: str = Field(description="police force area (ONS code)")
    postcode_district: str = Field(pattern=r"^[A-Z]{1,2}[0-9][A-Z0-9]?$", description="outward code, e.g. M13")
    capacity_band: CapacityBand
    services: list[RegularService] = Field(default_factory=list, max_length=50)
    children_on_site: bool = False
    measures: list[SecurityMeasure] = Field(default_factory=list)
    funding: Funding = Field(default_factory=Funding)
    procedures_written_on: date | None = Field(
        None, description="when the four public protection procedures (evacuation, invacuation, lockdown, "
                          "communication) were last written down")


class RoutineOutcome(StrEnum):
    done = "done"
    issues_found = "issues_found"


class IssueCategory(StrEnum):
    access_control = "access_control"
    cctv = "cctv"
    alarm = "alarm"
    lighting = "lighting"
    fencing_or_gates = "fencing_or_gates"
    doors_or_windows = "doors_or_windows"
    suspicious_item = "suspicious_item"
    suspicious_behaviour = "suspicious_behaviour"
    damage_or_graffiti = "damage_or_graffiti"
    procedure = "procedure"
    other = "other"


class RecordedVia(StrEnum):
    api = "api"
    page = "page"
    link = "link"


@event_type("vigil.site.registered.v1", TOPIC)
class SiteRegistered(Event):
    """A site entered the register. `place_fingerprint` is the keyed hash reports carry for their place
    (area and normalised name), so reports at the site are linked to it without its name being compared
    in clear; `contacts` (names, roles, emails, phones) are sealed."""

    site_id: str
    registered_at: datetime
    registered_by: str
    entry: SiteEntry
    place_fingerprint: str | None = None
    contacts: Sealed | None = None


@event_type("vigil.site.updated.v1", TOPIC)
class SiteUpdated(Event):
    """The register entry now reads `entry` (the whole entry, not a difference)."""

    site_id: str
    updated_at: datetime
    updated_by: str
    entry: SiteEntry
    place_fingerprint: str | None = None
    contacts: Sealed | None = None


@event_type("vigil.site.routine_recorded.v1", TOPIC)
class SiteRoutineRecorded(Event):
    """A routine (a perimeter walk, a building or system check, a drill) was done, or done and found
    issues. `routine` is a code of the guidance file; `notes`, the recorder's own words, are sealed."""

    site_id: str
    outcome_id: str
    routine: str
    outcome: RoutineOutcome
    category: IssueCategory | None = None
    performed_at: datetime
    recorded_at: datetime
    recorded_by: str
    via: RecordedVia = RecordedVia.api
    notes: Sealed | None = None


@event_type("vigil.site.issue_resolved.v1", TOPIC)
class SiteIssueResolved(Event):
    """The issues a routine found are put right; they no longer raise the site's likelihood."""

    site_id: str
    outcome_id: str
    resolved_at: datetime
    resolved_by: str
    notes: Sealed | None = None


@event_type("vigil.site.report_linked.v1", TOPIC)
class SiteReportLinked(Event):
    """Staff confirmed that a report (by its random id) was about this site."""

    site_id: str
    report_id: str
    linked_at: datetime
    linked_by: str


@event_type("vigil.site.link_dismissed.v1", TOPIC)
class SiteLinkDismissed(Event):
    """Staff said a report offered as possibly about this site was not; it is no longer offered."""

    site_id: str
    report_id: str
    dismissed_at: datetime
    dismissed_by: str


class _RoutineNotice(Event):
    """What notify needs to remind or escalate: which site and routine, when it was due, the site's security
    leads (staff usernames; their contact details are triage's) and the area (for its neighbourhood team).
    No contact details, no notes."""

    site_id: str
    site_name: str
    area: str
    routine: str
    routine_name: str
    due_at: datetime
    service: str | None = Field(None, description="the main service a perimeter walk comes before")
    leads: list[str] = Field(default_factory=list)
    announced_at: datetime


@event_type("vigil.site.routine_due.v1", TOPIC)
class SiteRoutineDue(_RoutineNotice):
    """A routine falls due (or has never been done): notify reminds the site's security leads."""


@event_type("vigil.site.routine_overdue.v1", TOPIC)
class SiteRoutineOverdue(_RoutineNotice):
    """A routine is overdue (a main service passed without its walk, a check or drill past its rhythm):
    notify tells the area's neighbourhood officers."""


# ---- patrol and visit tasking (services/assessment/sites/tasking.py) ----------------------------------------

class _TaskChange(Event):
    """A supervisor's decision on one site's place on an area's tasking list for a day, with the reason."""

    site_id: str
    area: str
    day: date
    task_id: str
    reason: str = Field(min_length=1, max_length=500)
    changed_by: str
    changed_at: datetime


@event_type("vigil.site.task_added.v1", TOPIC)
class SiteTaskAdded(_TaskChange):
    """The site is to be visited that day though the ranking did not task it."""


@event_type("vigil.site.task_dropped.v1", TOPIC)
class SiteTaskDropped(_TaskChange):
    """The site is not to be visited that day though the ranking tasked it."""


@event_type("vigil.site.visit_recorded.v1", TOPIC)
class SiteVisitRecorded(Event):
    """Officers visited the site (a patrol or a visit). `visited_by` names the officers (staff, in clear);
    `notes`, the recorder's own words, are sealed with the site's key. `task_id` is the day's task it answers,
    when the site was on the list."""

    site_id: str
    visit_id: str
    area: str
    task_id: str | None = None
    visited_at: datetime
    visited_by: str = Field(max_length=200)
    recorded_at: datetime
    recorded_by: str
    via: RecordedVia = RecordedVia.api
    notes: Sealed | None = None


class TaskWindow(_Part):
    start: str = Field(alias="from", description="HH:MM, UK time")
    end: str = Field(alias="to", description="HH:MM, UK time")
    label: str

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class AnnouncedTask(_Part):
    task_id: str
    site_id: str
    site_name: str
    postcode_district: str
    rank: int
    level: str
    windows: list[TaskWindow] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)


@event_type("vigil.site.tasking_announced.v1", TOPIC)
class SiteTaskingAnnounced(Event):
    """The day's tasking list of an area, announced once each morning for notify to send to the area's
    neighbourhood officers. Keyed by area (not by site, as the topic's other events). No personal data.
    Where the area has neighbourhood teams configured, one per team (`team`, its code, the name notify's directory
    gives its people; `team_name`), and one without a team for the sites outside every team's districts."""

    area: str
    day: date
    tasks: list[AnnouncedTask]
    announced_at: datetime
    team: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")
    team_name: str | None = Field(None, max_length=120)
