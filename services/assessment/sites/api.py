"""The register's JSON API: sites, their risk, plan and routines, links to reports, and site leads.

Every route takes the caller's scope (`ScopeDep`): a site outside it answers 404, as one that does not exist.
Changes are events on the site's stream (`vigil.sites.v1`); their answers are the site as it now reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.assessment.deps import (
    ClockDep,
    DatabaseDep,
    GuidanceDep,
    ScopeDep,
    ScoringDep,
    SitesDep,
    TemplatesDep,
    VigilDep,
)
from services.assessment.sites import queries
from services.assessment.sites.access import CONTACT_READERS, EDITORS, LEAD_ADMINS, LINKERS
from services.assessment.sites.answers import (
    HTML,
    ContactsOut,
    LeadOut,
    LinkDecidedOut,
    PlanOut,
    RecordedForOut,
    RecordedOut,
    ResolvedOut,
    RoutinesOut,
    SiteDetailOut,
    SiteOut,
    SitesOut,
    answer,
)
from services.assessment.sites.checks import checks_document, site_checks
from services.assessment.sites.documents import entry_document, linked_document, report_document
from services.assessment.sites.outcomes import RecordIn, RecordOnBehalfIn, ResolveIn
from services.assessment.sites.planning import plan_days, site_plan
from services.assessment.sites.register import AlreadyDone, NotPermitted, SiteError, SiteIn, SiteInvalid, UnknownSite
from services.assessment.sites.service import SiteService
from services.assessment.sites.taskboard import VISITS_SHOWN, visits
from shared.db import Database
from shared.events.sites import RecordedVia
from shared.problems import Conflict, Forbidden, NotFound, Problem, Unprocessable, prefers_html
from shared.servicecalls import require_caller
from shared.staffaccess import STAFF_ONLY
from shared.web.filters import LONDON
from shared.web.site import Viewer

router = APIRouter(responses=STAFF_ONLY, tags=["places of worship"])
internal = APIRouter(tags=["internal"])
SiteId = Annotated[str, Field(max_length=40)]
From = Annotated[date | None, Query(alias="from", description="first day (inclusive), UK; default today")]
To = Annotated[date | None, Query(alias="to", description="last day (inclusive); default eight weeks on")]


@contextmanager
def as_problems() -> Iterator[None]:
    """The register's refusals as the problems the edge answers with."""
    try:
        yield
    except SiteInvalid as e:
        raise Unprocessable("the site entry has problems", errors=[p.document() for p in e.problems]) from e
    except UnknownSite as e:
        raise NotFound(str(e)) from e
    except NotPermitted as e:
        raise Forbidden(str(e)) from e
    except AlreadyDone as e:
        raise Conflict(str(e)) from e
    except SiteError as e:  # pragma: no cover - every refusal has its class above
        raise Problem(str(e)) from e


class LinkDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    report_id: str = Field(max_length=40)
    decision: Literal["link", "dismiss"]


class LeadSites(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site_ids: list[SiteId] = Field(max_length=50)


@router.get("/v1/sites", summary="The sites you may see, by area and name, each with its risk level",
            response_model=SitesOut)
def list_sites(db: DatabaseDep, scope: ScopeDep, clock: ClockDep, scoring: ScoringDep,
               area: str | None = None) -> dict[str, Any]:
    now, levels = clock.now(), dict[str, str]()
    with db.snapshot() as s:
        found = [(site, queries.site_risk(s, site, now, scoring, levels))
                 for site in queries.sites(s, area) if scope.sees(site)]
    return {"as_of": now.isoformat(),
            "sites": [{**entry_document(site), "risk": risk.document()} for site, risk in found]}


@router.post("/v1/sites", status_code=201, summary="Register a site (its contacts are sealed)", response_model=SiteOut)
def register_site(body: SiteIn, sites: SitesDep, db: DatabaseDep, scope: ScopeDep,
                  response: Response) -> dict[str, Any]:
    if not scope.roles & EDITORS:
        raise Forbidden(f"this needs one of the roles: {', '.join(sorted(EDITORS))}")
    if scope.areas is not None and body.area not in scope.areas:
        raise Forbidden("you may register sites only in your own areas")
    with as_problems():
        [site_id] = sites.register([body], scope.name)
    response.headers["Location"] = f"/v1/sites/{site_id}"
    return _entry(db, site_id)


@router.get("/v1/sites/{site_id}", summary="A site: its entry, risk matrix, incidents linked, routines and readiness",
            response_model=SiteDetailOut, response_model_exclude_unset=True)
def get_site(site_id: str, db: DatabaseDep, scope: ScopeDep, clock: ClockDep, scoring: ScoringDep,
             sites: SitesDep) -> dict[str, Any]:
    now = clock.now()
    with db.snapshot() as s, as_problems():
        site = SiteService.visible(s, site_id, scope)
        risk = queries.site_risk(s, site, now, scoring)
        linked = queries.linked(s, site, now - queries.HISTORY)
        offered = queries.candidates(s, site, now) if scope.may(LINKERS, site) else []
        checks = site_checks(s, site, sites.guidance, now, scoring.anniversaries)
        routines = checks_document(checks, sites.guidance, s, sites.keys, site_id, scope.may(CONTACT_READERS, site))
        seen = len(visits(s, site_id, now - VISITS_SHOWN))
    return {**entry_document(site), "as_of": now.isoformat(), "risk": risk.document(), "visits_90_days": seen,
            "incidents": [linked_document(x) for x in linked], "link_candidates": [report_document(r) for r in offered],
            **routines}


@router.get("/v1/sites/{site_id}/routines", summary="The site's routines (when due, overdue), records and readiness",
            response_model=RoutinesOut, response_model_exclude_unset=True)
def get_routines(site_id: str, db: DatabaseDep, scope: ScopeDep, clock: ClockDep, scoring: ScoringDep,
                 sites: SitesDep) -> dict[str, Any]:
    now = clock.now()
    with db.snapshot() as s, as_problems():
        site = SiteService.visible(s, site_id, scope)
        checks = site_checks(s, site, sites.guidance, now, scoring.anniversaries)
        doc = checks_document(checks, sites.guidance, s, sites.keys, site_id, scope.may(CONTACT_READERS, site))
    return {"site_id": site_id, "as_of": now.isoformat(), **doc}


@router.post("/v1/sites/{site_id}/records", status_code=201,
             summary="Record a routine's outcome: done, or issues found (with category; notes are sealed)",
             response_model=RecordedOut)
def record(site_id: str, body: RecordIn, sites: SitesDep, scope: ScopeDep) -> dict[str, Any]:
    with as_problems():
        outcome_id = sites.record(site_id, body, scope, RecordedVia.api)
    return {"site_id": site_id, "outcome_id": outcome_id, "routine": body.routine, "outcome": body.outcome.value}


@internal.post("/internal/v1/sites/{site_id}/records", status_code=201,
               summary="Record a routine for a site lead, from a signed link another Vigil service checked (once "
                       "per link); notify only",
               responses={200: {"description": "recorded before", "model": RecordedForOut},
                          401: {"description": "no Vigil service's credential"},
                          403: {"description": "a service other than notify"}},
               response_model=RecordedForOut)
def record_on_behalf(site_id: str, body: RecordOnBehalfIn, sites: SitesDep, vigil: VigilDep,
                     response: Response, authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    require_caller(vigil, authorization, {"notify"})  # notify checks the signed links site leads follow
    with as_problems():
        outcome_id, new = sites.record_on_behalf(site_id, body)
    if not new:
        response.status_code = 200
    return {"site_id": site_id, "outcome_id": outcome_id, "already_recorded": not new}


@router.post("/v1/sites/{site_id}/records/{outcome_id}/resolve",
             summary="The issues a record found are put right (they stop raising the site's likelihood)",
             response_model=ResolvedOut)
def resolve(site_id: str, outcome_id: str, body: ResolveIn, sites: SitesDep, scope: ScopeDep) -> dict[str, Any]:
    with as_problems():
        sites.resolve(site_id, outcome_id, body, scope)
    return {"site_id": site_id, "outcome_id": outcome_id, "resolved": True}


@router.get("/v1/sites/{site_id}/plan", summary="The site's control strategy: periods and their measures, with why",
            response_model=None, responses={200: {"model": PlanOut, "content": HTML}})
def get_plan(request: Request, site_id: str, db: DatabaseDep, scope: ScopeDep, clock: ClockDep, scoring: ScoringDep,
             guidance: GuidanceDep, templates: TemplatesDep, start: From = None, end: To = None) -> Response:
    now = clock.now()
    first, last = plan_days(start, end, now.astimezone(LONDON).date())
    with db.snapshot() as s, as_problems():
        plan = site_plan(s, SiteService.visible(s, site_id, scope), first, last, now, scoring, guidance)
    if not prefers_html(request.headers.get("accept")):
        return JSONResponse(answer(PlanOut, plan.document()))
    viewer = Viewer(scope.display_name, scope.roles, scope.csrf_token)
    return templates.TemplateResponse(request, "sites/plan.html", {
        "viewer": viewer, "nav_current": "sites", "page_title": f"Security plan: {plan.site.name}", "plan": plan,
        "as_of": now})


@router.put("/v1/sites/{site_id}", summary="Change a site's register entry (the whole entry)", response_model=SiteOut)
def update_site(site_id: str, body: SiteIn, sites: SitesDep, db: DatabaseDep, scope: ScopeDep) -> dict[str, Any]:
    with as_problems():
        sites.update(site_id, body, scope.name, scope)
    return _entry(db, site_id)


@router.get("/v1/sites/{site_id}/contacts", summary="A site's security contacts (personal data)",
            response_model=ContactsOut)
def get_contacts(site_id: str, sites: SitesDep, scope: ScopeDep) -> dict[str, Any]:
    with as_problems():
        return {"site_id": site_id, "contacts": sites.contacts(site_id, scope, CONTACT_READERS)}


@router.post("/v1/sites/{site_id}/links", summary="Link a report to the site, or dismiss it as not about the site",
             response_model=LinkDecidedOut)
def decide_link(site_id: str, body: LinkDecision, sites: SitesDep, scope: ScopeDep) -> dict[str, Any]:
    with as_problems():
        sites.decide_link(site_id, body.report_id, body.decision == "link", scope.name, scope)
    return {"site_id": site_id, "report_id": body.report_id, "decision": body.decision}


@router.get("/v1/site-leads/{username}", summary="The sites a site lead's account is tied to", response_model=LeadOut)
def get_lead(username: str, db: DatabaseDep, scope: ScopeDep) -> dict[str, Any]:
    if not scope.roles & LEAD_ADMINS:
        raise Forbidden("only administrators tie accounts to sites")
    with db.snapshot() as s:
        return {"username": username, "site_ids": sorted(queries.lead_sites(s, username))}


@router.put("/v1/site-leads/{username}", summary="Tie a site lead's account to its sites (replacing the list)",
            response_model=LeadOut)
def set_lead(username: str, body: LeadSites, db: DatabaseDep, scope: ScopeDep, clock: ClockDep) -> dict[str, Any]:
    if not scope.roles & LEAD_ADMINS:
        raise Forbidden("only administrators tie accounts to sites")
    with db.transaction() as s:
        unknown = [i for i in body.site_ids if queries.site(s, i) is None]
        if unknown:
            raise Unprocessable("no such site", errors=[{"field": "site_ids", "message": f"no site {i}"}
                                                        for i in unknown])
        queries.set_lead_sites(s, username, body.site_ids, scope.name, clock.now())
    return {"username": username, "site_ids": sorted(set(body.site_ids))}


def _entry(db: Database, site_id: str) -> dict[str, Any]:
    with db.snapshot() as s:
        site = queries.site(s, site_id)
    assert site is not None  # noqa: S101  (just written in a committed transaction)
    return entry_document(site)
