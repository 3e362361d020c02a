"""The register's rules: what a site entry must say, and the events a change to the register records.

Plain Python over the contract's models: the API, the pages and `vigil sites import` all make their changes
through these functions, so a site is checked the same way whichever way it arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.areas import AreaRegistry, outward_code
from shared.crypto import normalise_text
from shared.events.reports import Sealed
from shared.events.sites import (
    Funding,
    FundingStage,
    SiteEntry,
    SiteLinkDismissed,
    SiteRegistered,
    SiteReportLinked,
    SiteUpdated,
)

FUNDING_ORDER = (FundingStage.none, FundingStage.applied, FundingStage.surveyed, FundingStage.installed)


class Contact(BaseModel):
    """A security contact: personal data, sealed before it is stored or travels."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    role: str | None = Field(None, max_length=80, description="e.g. security lead, chair of trustees")
    email: str | None = Field(None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(None, max_length=30, pattern=r"^\+?[0-9 ()-]{6,30}$")


class SiteIn(SiteEntry):
    """A register entry as the API and the import take it: the entry, and its security contacts."""

    contacts: list[Contact] | None = Field(None, max_length=10,
                                           description="absent: on a change, keep them as they are")

    def entry(self) -> SiteEntry:
        return SiteEntry.model_validate(self.model_dump(exclude={"contacts"}))


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str

    def document(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class SiteError(Exception):
    """A change the register refuses; the message is for the person who asked."""


class SiteInvalid(SiteError):
    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems


class UnknownSite(SiteError):
    pass


class NotPermitted(SiteError):
    """The caller sees the site but may not make this change to it."""


class AlreadyDone(SiteError):
    """Someone changed the site first, or the thing asked for is already so."""


def problems_of(entry: SiteEntry, registry: AreaRegistry) -> list[FieldProblem]:
    """Every rule the contract's model cannot say on its own, all at once."""
    problems = []
    if entry.area not in registry:
        problems.append(FieldProblem("area", f"'{entry.area}' is not a police force area code (ONS, e.g. E23000005)"))
    else:
        elsewhere = registry.area_for_postcode(entry.postcode_district)
        if elsewhere is not None and elsewhere != entry.area:
            name = registry.get(elsewhere).name  # type: ignore[union-attr]
            problems.append(FieldProblem("postcode_district",
                                         f"{entry.postcode_district} is in {name} ({elsewhere}), not {entry.area}"))
    if not normalise_text(entry.name):
        problems.append(FieldProblem("name", "give the site's name in words"))
    problems += _funding_problems(entry.funding)
    return problems


def _funding_problems(funding: Funding) -> list[FieldProblem]:
    reached = FUNDING_ORDER.index(funding.stage)
    dated = [(FundingStage.applied, funding.applied_on), (FundingStage.surveyed, funding.surveyed_on),
             (FundingStage.installed, funding.installed_on)]
    problems = [FieldProblem(f"funding.{stage.value}_on", f"the site has not reached '{stage.value}' yet")
                for stage, day in dated if day is not None and FUNDING_ORDER.index(stage) > reached]
    days = [day for _, day in dated if day is not None]
    if days != sorted(days):
        problems.append(FieldProblem("funding", "the dates must run applied, then surveyed, then installed"))
    return problems


def canonical(entry: SiteEntry) -> SiteEntry:
    """The same entry always reads the same: measures once each in a fixed order, the district in capitals."""
    district = outward_code(entry.postcode_district) or entry.postcode_district
    return entry.model_copy(update={"measures": sorted(set(entry.measures)), "postcode_district": district,
                                     "name": " ".join(entry.name.split())})


def checked(entry: SiteEntry, registry: AreaRegistry) -> SiteEntry:
    problems = problems_of(entry, registry)
    if problems:
        raise SiteInvalid(problems)
    return canonical(entry)


def registered(site_id: str, entry: SiteEntry, fingerprint: str | None, contacts: Sealed | None, by: str,
               now: datetime) -> SiteRegistered:
    return SiteRegistered(site_id=site_id, registered_at=now, registered_by=by, entry=entry,
                          place_fingerprint=fingerprint, contacts=contacts)


def updated(site_id: str, entry: SiteEntry, fingerprint: str | None, contacts: Sealed | None, by: str,
            now: datetime) -> SiteUpdated:
    return SiteUpdated(site_id=site_id, updated_at=now, updated_by=by, entry=entry, place_fingerprint=fingerprint,
                       contacts=contacts)


def link_decision(site_id: str, report_id: str, linked: bool, already: bool | None, by: str,
                  now: datetime) -> SiteReportLinked | SiteLinkDismissed:
    """`already` is the decision staff made before on this report for this site, if any."""
    if already is not None and already == linked:
        raise AlreadyDone("this report is already " + ("linked to" if linked else "dismissed for") + " this site")
    if linked:
        return SiteReportLinked(site_id=site_id, report_id=report_id, linked_at=now, linked_by=by)
    return SiteLinkDismissed(site_id=site_id, report_id=report_id, dismissed_at=now, dismissed_by=by)
