"""Answering an alert from the message itself: the signed links in an alert email, the codes in an SMS reply.

A Duty Inspector on patrol acknowledges, or asks for the next level at once, without signing in. Every alert
email carries two signed links (shared.signedlinks), for that person and that incident, short-lived and good
once; opening one shows a confirmation page and only its button acts, since mail scanners open links. Every
alert SMS quotes a four-digit code, the alert's for that person: "ACK 4821" or "ESC 4821" sent back reaches
notify through the SMS gateway's signed webhook, from the number the alert went to.

Notify does not record the answer itself: triage keeps the incident, so notify asks triage's internal API to
record it for the person's staff account (the directory's key for a person is their username), as if they had
pressed the button; the chase then stops or moves on from the event triage publishes, as it does for the
button. The link (or the reply) is marked used in the transaction that asks triage, and the mark is kept
only when triage recorded the answer. docs/notify.md, "Answering from the message", has the routes, codes and
signature scheme.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Protocol
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from services.notify import tables
from services.notify.chase.model import ALERTING, Chase
from services.notify.chase.store import ChaseStore
from services.notify.ledger import queue
from services.notify.policy import Directory
from services.notify.schemas import SmsReplyOut
from services.notify.settings import NotifySettings
from services.notify.staff import StaffContacts, uk_time
from shared.areas import default_registry
from shared.clock import Clock, utc
from shared.db import Database, insert_new
from shared.ids import deterministic_id
from shared.problems import Unauthorized, Unavailable, Unprocessable
from shared.servicecalls import service_headers
from shared.settings import VigilSettings
from shared.signedlinks import LinkClaims, LinkRefused, Refusal, SignedLinks, UsedLinks
from shared.web.site import StaffSite
from shared.web.templates import page_templates

ACKNOWLEDGE, ESCALATE = "acknowledge", "escalate"
VIA_EMAIL, VIA_SMS = "email link", "sms reply"
PATHS = {ACKNOWLEDGE: "a", ESCALATE: "e"}
DEV_LINK_SECRET = "vigil-development-link-secret"  # noqa: S105  (refused in production)
PAGER_REPLY = "pager_reply"
PAGE_TEMPLATES = Path(__file__).resolve().parent / "templates"
SIGNATURE_HEADER, TIMESTAMP_HEADER = "X-Vigil-Signature", "X-Vigil-Timestamp"
CODES_KEPT = timedelta(days=7)


# ---- an SMS reply and the gateway's signature (pure) -----------------------------------------------------

VERBS = {"ACK": ACKNOWLEDGE, "A": ACKNOWLEDGE, "ACKNOWLEDGE": ACKNOWLEDGE, "OK": ACKNOWLEDGE,
         "ESC": ESCALATE, "E": ESCALATE, "ESCALATE": ESCALATE}
REPLY = re.compile(r"^\W*(?P<verb>[A-Za-z]+)\W*(?P<code>\d{4})\W*$")


@dataclass(frozen=True)
class SmsReply:
    action: str
    code: str


def parse_reply(text: str) -> SmsReply | None:
    """"ACK 4821", "ack4821", "Esc #4821." -> the action and the code; anything else is not understood."""
    found = REPLY.match(text.strip())
    action = VERBS.get(found["verb"].upper()) if found else None
    return SmsReply(action, found["code"]) if found and action else None


class BadSignature(Exception):
    """The inbound request is not the gateway's, or is too old to be a fresh one."""


def sign_inbound(secret: str, timestamp: str, body: bytes) -> str:
    """What the gateway sends in X-Vigil-Signature: HMAC-SHA256 over "<timestamp>.<raw body>", in hex."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_inbound(secret: str | None, timestamp: str | None, signature: str | None, body: bytes,
                   now: datetime, tolerance: timedelta) -> None:
    if not secret:
        raise BadSignature("inbound SMS is not configured (NOTIFY_SMS_INBOUND_SECRET)")
    if not timestamp or not signature or not timestamp.isdigit():
        raise BadSignature(f"send {TIMESTAMP_HEADER} and {SIGNATURE_HEADER}")
    if abs(now.timestamp() - int(timestamp)) > tolerance.total_seconds():
        raise BadSignature("the timestamp is too old (or in the future): a replay is refused")
    if not hmac.compare_digest(sign_inbound(secret, timestamp, body).encode(), signature.strip().encode()):
        raise BadSignature("the signature does not match")


def phone_key(number: str) -> str:
    """A number as the directory and a gateway may write it differently: "+44 7700 900001" == "00447700900001"."""
    digits = re.sub(r"[^\d+]", "", number)
    return "+" + digits[2:] if digits.startswith("00") else digits


class InboundSms(BaseModel):
    """What the gateway posts for a text it received; fields it adds are ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str = Field(min_length=1, max_length=200, description="the gateway's id for the message")
    sender: str = Field(alias="from", min_length=3, max_length=32)
    to: str | None = Field(None, max_length=32)
    text: str = Field(max_length=1600)


# ---- triage, which records the answer ---------------------------------------------------------------------

class TriageUnavailable(Exception):
    """Triage could not be asked; nothing was recorded, the link is still good."""


class TriageRefused(Exception):
    """Triage would not record it (already acknowledged, closed, no such account); `detail` says why."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


@dataclass(frozen=True)
class Recorded:
    reference: str
    by_name: str
    at: datetime | None
    escalation_level: int


class Triage(Protocol):
    def answer(self, action: str, incident_id: str, username: str, link_id: str, via: str,
               level: int) -> Recorded: ...


class TriageClient:
    """Triage's internal API, called with notify's credential."""

    def __init__(self, vigil: VigilSettings, timeout: float = 5.0, client: httpx.Client | None = None) -> None:
        self.base = vigil.triage_internal_url.rstrip("/")
        self.headers = service_headers(vigil, "notify")
        self.client = client or httpx.Client(timeout=timeout)

    def answer(self, action: str, incident_id: str, username: str, link_id: str, via: str, level: int) -> Recorded:
        path = "acknowledgements" if action == ACKNOWLEDGE else "escalations"
        try:
            answer = self.client.post(f"{self.base}/internal/v1/incidents/{quote(incident_id, safe='')}/{path}",
                                      json={"username": username, "link_id": link_id, "via": via, "level": level},
                                      headers=self.headers)
        except httpx.HTTPError as e:
            raise TriageUnavailable(type(e).__name__) from e
        if answer.status_code == 201:
            body = answer.json()
            return Recorded(str(body["reference"]), str(body["by_name"]), _time(body.get("at")),
                            int(body["escalation_level"]))
        if answer.status_code in (403, 404, 409, 422):
            raise TriageRefused(answer.status_code, str(answer.json().get("detail", "")))
        raise TriageUnavailable(f"triage answered HTTP {answer.status_code}")

    async def aclose(self) -> None:
        self.client.close()


def _time(value: Any) -> datetime | None:
    return utc(datetime.fromisoformat(str(value))) if value else None


# ---- the codes an SMS reply quotes ------------------------------------------------------------------------

@dataclass(frozen=True)
class IssuedCode:
    person_id: str
    incident_id: str
    expires_at: datetime


class ReplyCodes:
    """One code per person and incident, unique among that person's codes, refreshed by each alert SMS."""

    t = tables.reply_codes

    def issue(self, s: Session, person_id: str, incident_id: str, now: datetime, lifetime: timedelta) -> str:
        t = self.t
        mine = (t.c.person_id == person_id, t.c.incident_id == incident_id)
        code: str | None = s.execute(select(t.c.code).where(*mine)).scalar()
        if code is not None:
            s.execute(update(t).where(*mine).values(expires_at=now + lifetime))
            return code
        s.execute(delete(t).where(t.c.person_id == person_id, t.c.expires_at < now - CODES_KEPT))
        taken = set(s.execute(select(t.c.code).where(t.c.person_id == person_id)).scalars())
        while True:
            code = f"{1000 + secrets.randbelow(9000)}"
            if code not in taken and insert_new(s, t, person_id=person_id, code=code, incident_id=incident_id,
                                                issued_at=now, expires_at=now + lifetime):
                return code

    def find(self, s: Session, person_ids: list[str], code: str) -> IssuedCode | None:
        row = s.execute(select(self.t).where(self.t.c.person_id.in_(person_ids), self.t.c.code == code)
                        ).mappings().first()
        return IssuedCode(row["person_id"], row["incident_id"], row["expires_at"]) if row else None


# ---- the service ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AlertView:
    """What a confirmation page shows of the alert a link belongs to."""

    claims: LinkClaims
    chase: Chase | None
    area_name: str
    person_name: str
    incident_url: str

    @property
    def reference(self) -> str:
        return self.chase.reference if self.chase else self.claims.subject[:8]

    @property
    def still_paging(self) -> bool:
        return self.chase is None or self.chase.state in ALERTING


@dataclass(frozen=True)
class Answered:
    view: AlertView
    recorded: Recorded


class Refused(Exception):
    """The answer was not recorded: `refusal` a link's own, or `triage` (with its reason)."""

    def __init__(self, view: AlertView | None, refusal: Refusal | None = None, used_at: datetime | None = None,
                 triage: TriageRefused | None = None, unavailable: bool = False) -> None:
        super().__init__(refusal.value if refusal else "refused")
        self.view, self.refusal, self.used_at, self.triage, self.unavailable = view, refusal, used_at, triage, \
            unavailable


class PagerAnswers:
    """The links in alert emails and the codes in alert SMS, and what their answers do."""

    def __init__(self, db: Database, clock: Clock, links: SignedLinks, triage: Triage, chases: ChaseStore,
                 directory: Directory, staff: StaffContacts, base_url: str, settings: NotifySettings) -> None:
        self.db, self.clock, self.links, self.triage, self.chases = db, clock, links, triage, chases
        self.directory, self.staff, self.base_url, self.settings = directory, staff, base_url.rstrip("/"), settings
        self.used = UsedLinks(tables.used_links)
        self.codes = ReplyCodes()

    @classmethod
    def build(cls, vigil: VigilSettings, settings: NotifySettings, db: Database, clock: Clock, directory: Directory,
              chases: ChaseStore, channels: tuple[str, ...], closers: list[Callable[[], Any]]) -> PagerAnswers:
        secret = settings.link_secret.get_secret_value()
        if vigil.environment == "production" and secret == DEV_LINK_SECRET:
            raise ValueError("NOTIFY_LINK_SECRET must be set to a real secret in production")
        lifetimes = {ACKNOWLEDGE: timedelta(hours=settings.acknowledge_link_hours),
                     ESCALATE: timedelta(hours=settings.escalate_link_hours)}
        triage = TriageClient(vigil)
        closers.append(triage.aclose)
        staff = StaffContacts(directory, default_registry(), settings.staff_ui_url, channels)
        return cls(db, clock, SignedLinks(secret, "notify", lifetimes, clock), triage, chases, directory, staff,
                   settings.links_url or StaffSite().notify_url, settings)

    # ---- what an alert carries (called by the renderer at send time) ----------------------------------

    def email_links(self, delivery_key: str, person_id: str, incident_id: str) -> dict[str, str]:
        """The same link ids for every attempt at one delivery, so its copies act once between them."""
        found: dict[str, str] = {}
        for purpose, path in PATHS.items():
            token, claims = self.links.issue(purpose, person_id, incident_id, deterministic_id(delivery_key, purpose))
            found[f"{purpose}_url"] = f"{self.base_url}/{path}/{token}"
            found["links_expire"] = uk_time(claims.expires_at)
        return found

    def sms_code(self, person_id: str, incident_id: str) -> str:
        with self.db.transaction() as s:
            return self.codes.issue(s, person_id, incident_id, self.clock.now(),
                                    timedelta(hours=self.settings.reply_code_hours))

    # ---- links ------------------------------------------------------------------------------------------

    def look(self, token: str, purpose: str) -> AlertView:
        """For the confirmation page: `Refused` for a link that cannot act (used already included)."""
        view = self._view(self._checked(token, purpose))
        with self.db.sessions() as s:
            used_at = self.used.used_at(s, view.claims.link_id)
        if used_at is not None:
            raise Refused(view, Refusal.used, used_at)
        return view

    def answer_link(self, token: str, purpose: str) -> Answered:
        view = self._view(self._checked(token, purpose))
        return Answered(view, self._act(view, VIA_EMAIL))

    def _checked(self, token: str, purpose: str) -> LinkClaims:
        try:
            return self.links.check(token, purpose)
        except LinkRefused as e:
            raise Refused(self._view(e.claims) if e.claims else None, e.refusal) from e

    def _view(self, claims: LinkClaims) -> AlertView:
        with self.db.sessions() as s:
            chase = self.chases.get(s, claims.subject)
        person = self.directory.people.get(claims.recipient)
        return AlertView(claims, chase, self.staff.area_name(chase.area) if chase else "",
                         person.name if person else claims.recipient, self.staff.link(f"incidents/{claims.subject}"))

    def _act(self, view: AlertView, via: str) -> Recorded:
        """Claim the link and ask triage in one transaction: the claim stays only if triage recorded it."""
        claims = view.claims
        used_before: datetime | None = None
        try:
            with self.db.transaction() as s:
                used_before = self.used.used_at(s, claims.link_id)
                self.used.claim(s, claims, self.clock.now())
                level = view.chase.page.level + 1 if view.chase and view.chase.page else 0
                return self.triage.answer(claims.purpose, claims.subject, claims.recipient, claims.link_id, via,
                                          level if claims.purpose == ESCALATE else 0)
        except LinkRefused as e:
            raise Refused(view, e.refusal, used_before) from e
        except TriageRefused as e:
            raise Refused(view, triage=e) from e
        except TriageUnavailable as e:
            raise Refused(view, unavailable=True) from e

    # ---- SMS replies ------------------------------------------------------------------------------------

    def receive_sms(self, body: bytes, timestamp: str | None, signature: str | None) -> dict[str, Any]:
        """The gateway's post: `BadSignature` when it is not the gateway's, ValidationError for a bad body."""
        tolerance = timedelta(seconds=self.settings.sms_inbound_tolerance_seconds)
        secret = self.settings.sms_inbound_secret
        verify_inbound(secret.get_secret_value() if secret else None, timestamp, signature, body,
                       self.clock.now(), tolerance)
        sms = InboundSms.model_validate_json(body)
        people = [pid for pid, p in self.directory.people.items()
                  if p.phone and phone_key(p.phone) == phone_key(sms.sender)]
        if not people:
            return {"outcome": "unknown_sender"}  # never texts back a number Vigil does not know
        outcome = self._reply(people, sms)
        self._tell(people[0], sms.id, outcome)
        return {k: v for k, v in outcome.items() if k in ("outcome", "reference")}

    def _reply(self, people: list[str], sms: InboundSms) -> dict[str, Any]:
        reply = parse_reply(sms.text)
        if reply is None:
            return {"outcome": "not_understood"}
        with self.db.sessions() as s:
            issued = self.codes.find(s, people, reply.code)
        if issued is None or issued.expires_at <= self.clock.now():
            return {"outcome": "unknown_code" if issued is None else "expired", "code": reply.code}
        # Each alert's code answers once with each action: a gateway's retried post acts once too.
        claims = LinkClaims(deterministic_id("sms-reply", issued.person_id, issued.incident_id, reply.action),
                            reply.action, issued.person_id, issued.incident_id, issued.expires_at)
        view = self._view(claims)
        try:
            recorded = self._act(view, VIA_SMS)
        except Refused as e:
            if e.unavailable:
                raise TriageUnavailable("triage is not answering") from e
            return {"outcome": "already_used" if e.refusal else "refused", "reference": view.reference,
                    "detail": e.triage.detail if e.triage else ""}
        return {"outcome": "acknowledged" if reply.action == ACKNOWLEDGE else "escalated",
                "reference": recorded.reference, "at": uk_time(recorded.at)}

    def _tell(self, person_id: str, message_id: str, outcome: dict[str, Any]) -> None:
        """A text back to say what happened, when SMS is on: a person who replied is waiting to know."""
        if "sms" not in self.staff.channels:
            return
        with self.db.transaction() as s:
            queue(s, self.clock, key=deterministic_id("pager-reply", person_id, message_id), incident_id=None,
                  purpose=PAGER_REPLY, channel="sms", recipient_role="duty_inspector", recipient=f"person:{person_id}",
                  payload={"template": PAGER_REPLY, "context": {"code": "", "reference": "", "detail": "", "at": "",
                                                                **outcome}})


# ---- the HTTP face ----------------------------------------------------------------------------------------

router = APIRouter()
STATE = "pager_answers"
NOT_INDEXED = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}
REFUSAL_STATUS = {Refusal.tampered: 404, Refusal.wrong_purpose: 404, Refusal.expired: 410, Refusal.used: 410}


@dataclass(frozen=True)
class LinkPages:
    """The pages a link opens: a confirmation, then what happened; never a sign-in, never a stack trace."""

    answers: PagerAnswers
    templates: Jinja2Templates

    def confirm(self, request: Request, token: str, purpose: str) -> HTMLResponse:
        try:
            view = self.answers.look(token, purpose)
        except Refused as e:
            return self.refused(request, purpose, e)
        return self._render(request, "links/confirm.html", 200, purpose, view=view)

    def act(self, request: Request, token: str, purpose: str) -> HTMLResponse:
        try:
            answered = self.answers.answer_link(token, purpose)
        except Refused as e:
            return self.refused(request, purpose, e)
        return self._render(request, "links/done.html", 200, purpose, view=answered.view, recorded=answered.recorded)

    def refused(self, request: Request, purpose: str, e: Refused) -> HTMLResponse:
        status = 503 if e.unavailable else e.triage.status if e.triage else REFUSAL_STATUS[e.refusal or Refusal.used]
        return self._render(request, "links/refused.html", status, purpose, view=e.view, refused=e,
                            refusal=e.refusal.value if e.refusal else None)

    def _render(self, request: Request, template: str, status: int, purpose: str, **context: Any) -> HTMLResponse:
        lifetime = (self.answers.settings.acknowledge_link_hours if purpose == ACKNOWLEDGE
                    else self.answers.settings.escalate_link_hours)
        response = self.templates.TemplateResponse(request, template, {
            "purpose": purpose, "acknowledge": purpose == ACKNOWLEDGE, "link_hours": f"{lifetime:g}",
            "page_title": "Acknowledge an alert" if purpose == ACKNOWLEDGE else "Escalate an alert", **context},
            status_code=status)
        response.headers.update(NOT_INDEXED)
        return response


def install_pager_links(app: FastAPI, answers: PagerAnswers, site: StaffSite) -> None:
    """For main.py: the routes, and what they use on `app.state`."""
    setattr(app.state, STATE, LinkPages(answers, page_templates(PAGE_TEMPLATES, site=site)))
    app.include_router(router)


def _pages(request: Request) -> LinkPages:
    pages: LinkPages = getattr(request.app.state, STATE)
    return pages


LinkPagesDep = Annotated[LinkPages, Depends(_pages)]


@router.get("/a/{token}", include_in_schema=False)
def acknowledge_page(token: str, request: Request, pages: LinkPagesDep) -> HTMLResponse:
    return pages.confirm(request, token, ACKNOWLEDGE)


@router.post("/a/{token}", include_in_schema=False)
def acknowledge(token: str, request: Request, pages: LinkPagesDep) -> HTMLResponse:
    return pages.act(request, token, ACKNOWLEDGE)


@router.get("/e/{token}", include_in_schema=False)
def escalate_page(token: str, request: Request, pages: LinkPagesDep) -> HTMLResponse:
    return pages.confirm(request, token, ESCALATE)


@router.post("/e/{token}", include_in_schema=False)
def escalate(token: str, request: Request, pages: LinkPagesDep) -> HTMLResponse:
    return pages.act(request, token, ESCALATE)


@router.post("/v1/sms/inbound", tags=["sms"], summary="A text the SMS gateway received: a reply to an alert",
             description="Signed by the gateway (docs/notify.md, \"Answering from the message\"). Answers what the "
                         "reply did; a reply from a number Vigil does not know is ignored.",
             responses={401: {"description": "no signature, a wrong one, or a timestamp over 5 minutes old"},
                        503: {"description": "triage could not record it now; send it again"}},
             response_model=SmsReplyOut, response_model_exclude_unset=True)
async def sms_inbound(request: Request, pages: LinkPagesDep,
                      timestamp: Annotated[str | None, Header(alias=TIMESTAMP_HEADER)] = None,
                      signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER)] = None) -> dict[str, Any]:
    body = await request.body()
    try:
        return await run_in_threadpool(pages.answers.receive_sms, body, timestamp, signature)
    except BadSignature as e:
        raise Unauthorized(str(e), headers={"WWW-Authenticate": "HMAC-SHA256"}) from e
    except ValidationError as e:
        raise Unprocessable("the body is not an inbound SMS: {id, from, text}") from e
    except TriageUnavailable as e:
        raise Unavailable("cannot record the reply now: try again shortly", headers={"Retry-After": "30"}) from e
