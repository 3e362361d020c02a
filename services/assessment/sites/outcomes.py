"""Recording what a routine found: the rules, and the events a record or a resolution is.

The recorder's own words are personal data (they may name people): they are sealed before they are kept
or travel, with the site's data key, and shown only to those who may read the site's contacts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.assessment.sites.facts import OutcomeFacts
from services.assessment.sites.guidance import Guidance
from services.assessment.sites.register import AlreadyDone, FieldProblem, SiteInvalid, UnknownSite
from shared.events.reports import Sealed
from shared.events.sites import IssueCategory, RecordedVia, RoutineOutcome, SiteIssueResolved, SiteRoutineRecorded

MAX_NOTES = 2000
CLOCK_SLACK = timedelta(minutes=5)
OLDEST = timedelta(days=366)


class RecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    routine: str = Field(max_length=40, description="a routine's code in the guidance, e.g. perimeter_walk")
    outcome: RoutineOutcome
    category: IssueCategory | None = Field(None, description="what kind of issue (issues found only)")
    notes: str | None = Field(None, max_length=MAX_NOTES, description="what was found; sealed (personal data)")
    performed_at: AwareDatetime | None = Field(None, description="when it was done; default now")


class RecordOnBehalfIn(RecordIn):
    """A record made from a signed link another Vigil service (notify) checked: for whom, and the link's id,
    so the same link records once however often it is used or the call retried."""

    recorded_by: str = Field(max_length=120, description="the staff username the link was made for")
    link_id: str = Field(min_length=8, max_length=64)

    def record(self) -> RecordIn:
        return RecordIn.model_validate(self.model_dump(exclude={"recorded_by", "link_id"}))


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notes: str | None = Field(None, max_length=MAX_NOTES, description="what was done; sealed")


def record_problems(body: RecordIn, guidance: Guidance, now: datetime) -> list[FieldProblem]:
    problems = []
    if guidance.routine(body.routine) is None:
        known = ", ".join(r.code for r in guidance.routines)
        problems.append(FieldProblem("routine", f"'{body.routine}' is not one of the routines: {known}"))
    if body.outcome is RoutineOutcome.issues_found and body.category is None:
        problems.append(FieldProblem("category", "say what kind of issue was found"))
    if body.outcome is RoutineOutcome.done and body.category is not None:
        problems.append(FieldProblem("category", "only issues found have a category"))
    if body.performed_at is not None and body.performed_at > now + CLOCK_SLACK:
        problems.append(FieldProblem("performed_at", "cannot be in the future"))
    if body.performed_at is not None and body.performed_at < now - OLDEST:
        problems.append(FieldProblem("performed_at", "must be within the last year"))
    return problems


def recorded(site_id: str, outcome_id: str, body: RecordIn, guidance: Guidance, notes: Sealed | None, by: str,
             via: RecordedVia, now: datetime) -> SiteRoutineRecorded:
    problems = record_problems(body, guidance, now)
    if problems:
        raise SiteInvalid(problems)
    return SiteRoutineRecorded(site_id=site_id, outcome_id=outcome_id, routine=body.routine, outcome=body.outcome,
                               category=body.category, performed_at=body.performed_at or now, recorded_at=now,
                               recorded_by=by, via=via, notes=notes)


def resolved(site_id: str, outcome: OutcomeFacts | None, notes: Sealed | None, by: str,
             now: datetime) -> SiteIssueResolved:
    if outcome is None or outcome.site_id != site_id:
        raise UnknownSite("there is no such record for this site")
    if outcome.outcome != RoutineOutcome.issues_found.value:
        raise SiteInvalid([FieldProblem("outcome_id", "this record found no issues: there is nothing to resolve")])
    if outcome.resolved_at is not None:
        raise AlreadyDone(f"already resolved by {outcome.resolved_by}")
    return SiteIssueResolved(site_id=site_id, outcome_id=outcome.outcome_id, resolved_at=now, resolved_by=by,
                             notes=notes)
