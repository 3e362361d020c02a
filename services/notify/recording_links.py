"""What a signed link that records something at assessment needs, whatever it records: a routine from its
reminder (sites/), a visit from the morning message (tasking/) (docs/notify.md, "Places of worship", "Patrols and
visits").

Each feature makes its links with its own namespace, purpose and path, says what a link is for (a reminder, a
task: the link's subject, kept by notify, at a site) and how its form goes to assessment; the rest is the same
and is here. Opening a link shows the form and records nothing; sending it asks assessment's internal route, with
notify's credential and the link's id, in the transaction that marks the link used (link_pages.py): the mark is
kept only when assessment recorded it, and assessment records once per link id too. Whatever stops it is a
`Refused`, which the pages say plainly with what to do instead; never a stack trace, never a sign-in wall.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar
from urllib.parse import quote

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from services.notify.link_pages import OneUseLinks, Unusable, page
from services.notify.pages.forms import FieldError, FormInvalid  # a form's problems, as the staff pages say them
from services.notify.staff_directory import StaffDirectory
from shared.clock import Clock
from shared.db import Database
from shared.ids import deterministic_id
from shared.servicecalls import service_headers
from shared.settings import VigilSettings
from shared.signedlinks import LinkClaims, Refusal, SignedLinks, UsedLinks

TEMPLATES = Path(__file__).resolve().parent / "templates"


class Subject(Protocol):
    """What a link is for, as its feature keeps it (a reminder, a task): something at a site."""

    @property
    def site_id(self) -> str: ...


S = TypeVar("S", bound=Subject)
F = TypeVar("F")


# ---- assessment, which keeps what is recorded -------------------------------------------------------------

class AssessmentUnavailable(Exception):
    """Assessment could not be asked: nothing was recorded, the link still works."""


class AssessmentRefused(Exception):
    """Assessment would not record it: 404 (no such site, or the person may no longer record there), 422 (the
    record's problems, by field)."""

    def __init__(self, status: int, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.errors = status, detail, errors or []


@dataclass(frozen=True)
class Recorded:
    record_id: str  # assessment's id of what it recorded (a routine's outcome, a visit)
    already: bool  # assessment had recorded this link before


class AssessmentClient:
    """Assessment's internal routes that record for a link, called with notify's credential."""

    def __init__(self, vigil: VigilSettings, timeout: float = 5.0, client: httpx.Client | None = None) -> None:
        self.base = vigil.assessment_internal_url.rstrip("/")
        self.headers = service_headers(vigil, "notify")
        self.client = client or httpx.Client(timeout=timeout)

    def record(self, site_id: str, body: dict[str, Any]) -> Recorded:
        """A routine's outcome (sites/)."""
        return self._post(site_id, "records", "outcome_id", body)

    def visit(self, site_id: str, body: dict[str, Any]) -> Recorded:
        """A patrol's or officer's visit (tasking/)."""
        return self._post(site_id, "visits", "visit_id", body)

    def _post(self, site_id: str, route: str, id_field: str, body: dict[str, Any]) -> Recorded:
        try:
            answer = self.client.post(f"{self.base}/internal/v1/sites/{quote(site_id, safe='')}/{route}", json=body,
                                      headers=self.headers)
        except httpx.HTTPError as e:
            raise AssessmentUnavailable(type(e).__name__) from e
        if answer.status_code in (200, 201):
            found = answer.json()
            return Recorded(str(found[id_field]), bool(found.get("already_recorded")))
        if answer.status_code in (403, 404, 409, 422):
            problem = _json(answer)
            errors = [FieldError(str(p.get("field", "")), str(p.get("message", "")))
                      for p in problem.get("errors") or [] if isinstance(p, dict)]
            raise AssessmentRefused(answer.status_code, str(problem.get("detail", "")), errors)
        raise AssessmentUnavailable(f"assessment answered HTTP {answer.status_code}")

    async def aclose(self) -> None:
        self.client.close()


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        found = answer.json()
    except json.JSONDecodeError:
        return {}
    return found if isinstance(found, dict) else {}


# ---- the links and what they do ---------------------------------------------------------------------------

@dataclass(frozen=True)
class RecordingView(Generic[S]):
    """What a link's pages show: what it is for, and whose link it is. A feature's own view names the subject."""

    claims: LinkClaims
    subject: S
    person_name: str
    site_url: str


@dataclass(frozen=True)
class Outcome(Generic[S, F]):
    view: RecordingView[S]
    recorded: Recorded
    form: F


@dataclass(eq=False)
class Refused(Exception):
    """Nothing was recorded: the link's own refusal, assessment's, or assessment not answering."""

    view: RecordingView[Any] | None
    unusable: Unusable | None = None
    assessment: AssessmentRefused | None = None
    unavailable: bool = False
    errors: list[FieldError] = field(default_factory=list)

    @property
    def status(self) -> int:
        if self.unusable is not None:
            return self.unusable.status
        return 503 if self.unavailable else self.assessment.status if self.assessment else 409


class RecordingLinks(ABC, Generic[S, F]):
    """A feature's links that record at assessment. Its `purpose`, `path` (under notify's links address) and `kind`
    (of the links' deterministic ids); its `view_type`; `_subject`, what a link is for, and `_send`, the form to
    assessment."""

    purpose: ClassVar[str]
    path: ClassVar[str]
    kind: ClassVar[str]
    view_type: type[RecordingView[S]]

    def __init__(self, db: Database, clock: Clock, links: SignedLinks, used: UsedLinks, assessment: AssessmentClient,
                 contacts: StaffDirectory, base_url: str, site_pages_url: str) -> None:
        self.db, self.clock, self.links, self.assessment, self.contacts = db, clock, links, assessment, contacts
        self.one_use = OneUseLinks(db, clock, links, used)
        self.base_url, self.site_pages_url = base_url.rstrip("/"), site_pages_url.rstrip("/")

    @classmethod
    def lifetimes(cls, hours: float) -> dict[str, timedelta]:
        return {cls.purpose: timedelta(hours=hours)}

    @property
    def link_hours(self) -> float:
        return self.links.lifetimes[self.purpose].total_seconds() / 3600

    @abstractmethod
    def _subject(self, s: Session, subject_id: str) -> S | None:
        """Where the feature keeps what the link is for (None: unknown)."""

    @abstractmethod
    def _send(self, view: RecordingView[S], form: F, claims: LinkClaims) -> Recorded:
        """What the feature posts to assessment."""

    # ---- at send time -----------------------------------------------------------------------------------

    def issue(self, recipient: str, subject_id: str) -> tuple[str, LinkClaims]:
        """The link for that recipient and that subject, with an id deterministic in both: made again (the
        email's and the SMS's, a retried send), it is the same link."""
        token, claims = self.links.issue(self.purpose, recipient, subject_id,
                                         deterministic_id(self.kind, subject_id, recipient))
        return f"{self.base_url}/{self.path}/{token}", claims

    # ---- the pages --------------------------------------------------------------------------------------

    def look(self, token: str) -> RecordingView[S]:
        """For the form: `Refused` for a link that cannot record (used already included)."""
        try:
            return self._view(self.one_use.look(token, self.purpose))
        except Unusable as e:
            raise Refused(self._view_or_none(e.claims), e) from e

    def record(self, token: str, form: F) -> Outcome[S, F]:
        try:
            claims = self.one_use.checked(token, self.purpose)
        except Unusable as e:
            raise Refused(self._view_or_none(e.claims), e) from e
        view = self._view(claims)
        try:
            recorded = self.one_use.act(claims, lambda c: self._send(view, form, c))
        except Unusable as e:
            raise Refused(view, e) from e
        except AssessmentRefused as e:
            raise Refused(view, assessment=e, errors=e.errors) from e
        except AssessmentUnavailable as e:
            raise Refused(view, unavailable=True) from e
        return Outcome(view, recorded, form)

    def _view(self, claims: LinkClaims) -> RecordingView[S]:
        with self.db.sessions() as s:
            subject = self._subject(s, claims.subject)
        if subject is None:  # a link this notify signed for something it no longer keeps: it cannot say for what
            raise Refused(None, Unusable(Refusal.tampered))
        account = self.contacts.account_named(claims.recipient)
        return self.view_type(claims, subject, account.display_name if account else claims.recipient,
                              f"{self.site_pages_url}/sites/{subject.site_id}")

    def _view_or_none(self, claims: LinkClaims | None) -> RecordingView[S] | None:
        if claims is None:
            return None
        try:
            return self._view(claims)
        except Refused:
            return None


# ---- the pages a link opens -------------------------------------------------------------------------------

class RecordingPages(ABC, Generic[F]):
    """The form (GET, which never records), then what happened (POST), in the feature's templates. The feature
    says how its form is read (`_read`), what it starts with (`_blank`), what else its pages show (`_context`)
    and its page when recorded (`_recorded`)."""

    form_template: ClassVar[str]
    refused_template: ClassVar[str]

    def __init__(self, links: RecordingLinks[Any, F], templates: Jinja2Templates) -> None:
        self.links, self.templates = links, templates

    @abstractmethod
    def _read(self, fields: Mapping[str, str]) -> F:
        """The feature's form, from the posted fields (FormInvalid when wrong)."""

    @abstractmethod
    def _recorded(self, request: Request, outcome: Outcome[Any, F]) -> HTMLResponse:
        """The page after a record."""

    def _blank(self, view: RecordingView[Any]) -> dict[str, str]:
        return {}

    def _context(self, context: dict[str, Any]) -> dict[str, Any]:
        return {}

    def form(self, request: Request, token: str) -> HTMLResponse:
        try:
            view = self.links.look(token)
        except Refused as e:
            return self.refused(request, e)
        return self._render(request, self.form_template, 200, view=view, form=self._blank(view), errors=[])

    def record(self, request: Request, token: str, fields: dict[str, str]) -> HTMLResponse:
        try:
            form = self._read(fields)
        except FormInvalid as invalid:
            try:
                view = self.links.look(token)
            except Refused as e:
                return self.refused(request, e)
            return self._render(request, self.form_template, 422, view=view, form=fields, errors=invalid.errors)
        try:
            outcome = self.links.record(token, form)
        except Refused as e:
            if e.errors and e.view is not None:  # assessment's own checks of the record, shown on the form
                return self._render(request, self.form_template, 422, view=e.view, form=fields, errors=e.errors)
            return self.refused(request, e)
        return self._recorded(request, outcome)

    def refused(self, request: Request, e: Refused) -> HTMLResponse:
        return self._render(request, self.refused_template, e.status, view=e.view, refused=e,
                            refusal=e.unusable.refusal.value if e.unusable else None)

    def _render(self, request: Request, template: str, status: int, **context: Any) -> HTMLResponse:
        errors: list[FieldError] = context.get("errors") or []
        return page(self.templates, request, template, status, {
            "link_hours": f"{self.links.link_hours:g}", "error_for": {e.field: e.message for e in errors},
            "error_list": [{"text": e.message, "href": f"#{e.field}"} for e in errors], **self._context(context),
            **context})


def install_recording_pages(app: FastAPI, pages: RecordingPages[Any], path: str, state: str) -> None:
    """For a feature's install: its pages on `app.state` under `state`, and its links' GET and POST at `/{path}/`."""
    setattr(app.state, state, pages)
    router = APIRouter()

    @router.get(f"/{path}/{{token}}", include_in_schema=False)
    def form_page(token: str, request: Request) -> HTMLResponse:
        return _pages(request, state).form(request, token)

    @router.post(f"/{path}/{{token}}", include_in_schema=False)
    async def record(token: str, request: Request) -> HTMLResponse:
        fields = {k: str(v) for k, v in (await request.form()).items()}
        return await run_in_threadpool(_pages(request, state).record, request, token, fields)

    app.include_router(router)


def _pages(request: Request, state: str) -> RecordingPages[Any]:
    pages: RecordingPages[Any] = getattr(request.app.state, state)
    return pages
