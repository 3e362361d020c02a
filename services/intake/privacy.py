"""The data protection routes: erasure, holds and the privacy log for staff; withdrawal for the reporter.

Staff sign in at triage, as on every staff route (ADR 0046); the data protection officer and admins may
erase, hold and read the log. The reporter withdraws with the follow-up token, as they follow up.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from services.intake.application import UnknownReport
from services.intake.audit import Action, LogPage
from services.intake.deps import Officer, PrivacyLogDep, ProtectionDep, TokenDep, WithdrawalsDep, public_limit
from services.intake.erasure import AlreadyErased, Erasure, Hold, HoldAlreadyReleased, UnderHold, UnknownHold
from services.intake.withdrawal import Withdrawal
from shared.crypto import KeyDestroyed
from shared.events.reports import ErasureBasis, HoldKind
from shared.problems import Conflict, Gone, NotFound
from shared.staffaccess import STAFF_ONLY

privacy_router = APIRouter()
REFERENCE = Annotated[str, Path(min_length=6, max_length=16, pattern="^[A-Za-z0-9]+$",
                                description="the reference given at submission")]
AUDIT_REASON = Field(min_length=1, max_length=500, description="why, for the audit; kept after erasure, so name "
                                                               "no one (e.g. 'Article 17 request, ticket DP-123')")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ErasureIn(_In):
    reason: str = AUDIT_REASON


class HoldIn(_In):
    kind: HoldKind = Field(description="legal (litigation, investigation, court order) or safeguarding (a real "
                                       "risk of significant harm)")
    reason: str = Field(min_length=1, max_length=500, description="why; sealed on Kafka, gone with the report")


class ReleaseIn(_In):
    reason: str = Field(min_length=1, max_length=500, description="why the hold ends")


class WithdrawalIn(_In):
    reason: str | None = Field(None, max_length=2000, description="optional; personal data, kept sealed")


class ErasureOut(BaseModel):
    reference: str
    erased_at: datetime
    requested_by: str
    basis: ErasureBasis
    reason: str | None


class HoldOut(BaseModel):
    hold_id: str
    reference: str
    kind: HoldKind
    reason: str | None = Field(description="gone once the report is erased")
    placed_by: str
    placed_at: datetime
    released_by: str | None = None
    released_at: datetime | None = None


class LoggedOut(BaseModel):
    id: int
    reference: str
    report_id: str
    action: Action
    kind: str | None = Field(description="a hold's kind, or an erasure's basis")
    hold_id: str | None
    by: str
    at: datetime
    reason: str | None


class LogOut(BaseModel):
    items: list[LoggedOut]
    next: str | None = Field(description="the next (older) page, or null for the last")


class WithdrawalOut(BaseModel):
    reference: str
    status: str = "withdrawn"
    withdrawn_at: datetime
    erase_after: datetime = Field(description="when the personal data will be erased, unless the police must "
                                              "keep it (a safeguarding or legal hold)")


def erasure_out(e: Erasure) -> ErasureOut:
    return ErasureOut(reference=e.reference, erased_at=e.erased_at, requested_by=e.requested_by, basis=e.basis,
                      reason=e.reason)


def hold_out(h: Hold) -> HoldOut:
    return HoldOut(hold_id=h.hold_id, reference=h.reference, kind=h.kind, reason=h.reason, placed_by=h.placed_by,
                   placed_at=h.placed_at, released_by=h.released_by, released_at=h.released_at)


TIME = TypeAdapter(datetime)


def json_time(value: datetime) -> str:
    """As the answers' models write times, so a problem and an answer quote the same moment alike."""
    written: str = TIME.dump_python(value, mode="json")
    return written


def hold_problem(hold: Hold) -> dict[str, Any]:
    return {"hold_id": hold.hold_id, "kind": hold.kind.value, "placed_by": hold.placed_by,
            "placed_at": json_time(hold.placed_at)}


def gone(e: AlreadyErased) -> Gone:
    return Gone(f"this report was erased at {json_time(e.erased_at)}", erased_at=json_time(e.erased_at))


STAFF: dict[int | str, dict[str, Any]] = {**STAFF_ONLY, 404: {"description": "no report with this reference"},
                                          410: {"description": "the report was erased already"}}


@privacy_router.post("/v1/reports/{reference}/erasure", response_model=ErasureOut, tags=["data protection"],
                     summary="Erase a report's personal data everywhere (crypto-shredding)",
                     description="Destroys the report's data key and emits `vigil.report.erased.v1`: every sealed "
                                 "copy on every topic becomes unreadable and every service drops what it derived. "
                                 "Refused (409) while a hold stands. Cannot be undone.",
                     responses={**STAFF, 409: {"description": "a hold stands; the problem names it (`hold`)"}})
def erase(reference: REFERENCE, body: Annotated[ErasureIn, Body()], protection: ProtectionDep,
          caller: Officer) -> ErasureOut:
    try:
        return erasure_out(protection.erase(reference, caller.name, body.reason))
    except UnknownReport as e:
        raise NotFound("no report with this reference") from e
    except AlreadyErased as e:
        raise gone(e) from e
    except UnderHold as e:
        raise Conflict(f"a {e.hold.kind.value} hold stands on this report (placed by {e.hold.placed_by}); "
                       "release it first", hold=hold_problem(e.hold)) from e


@privacy_router.post("/v1/reports/{reference}/hold", status_code=201, response_model=HoldOut,
                     tags=["data protection"], summary="Hold a report's personal data: no erasure until released",
                     responses=STAFF)
def place_hold(reference: REFERENCE, body: Annotated[HoldIn, Body()], protection: ProtectionDep,
               caller: Officer) -> HoldOut:
    try:
        return hold_out(protection.place_hold(reference, body.kind, body.reason, caller.name))
    except UnknownReport as e:
        raise NotFound("no report with this reference") from e
    except AlreadyErased as e:
        raise gone(e) from e


@privacy_router.get("/v1/reports/{reference}/holds", response_model=list[HoldOut], tags=["data protection"],
                    summary="A report's holds, standing and released", responses=STAFF)
def holds(reference: REFERENCE, protection: ProtectionDep, _caller: Officer) -> list[HoldOut]:
    try:
        return [hold_out(h) for h in protection.holds(reference)]
    except UnknownReport as e:
        raise NotFound("no report with this reference") from e


@privacy_router.post("/v1/reports/{reference}/hold/{hold_id}/release", response_model=HoldOut,
                     tags=["data protection"], summary="Release a hold",
                     responses={**STAFF, 404: {"description": "no such report, or no such hold on it"},
                                409: {"description": "the hold was released already"}})
def release_hold(reference: REFERENCE, hold_id: Annotated[str, Path(max_length=36)],
                 body: Annotated[ReleaseIn, Body()], protection: ProtectionDep, caller: Officer) -> HoldOut:
    try:
        return hold_out(protection.release_hold(reference, hold_id, body.reason, caller.name))
    except (UnknownReport, UnknownHold) as e:
        raise NotFound("no such hold on a report with this reference") from e
    except HoldAlreadyReleased as e:
        raise Conflict(f"this hold was released by {e.hold.released_by}", hold=hold_problem(e.hold)) from e


@privacy_router.get("/v1/erasures", response_model=LogOut, tags=["data protection"],
                    summary="Every erasure, withdrawal and hold: who, when and why, newest first",
                    responses=STAFF_ONLY)
def erasures(log: PrivacyLogDep, _caller: Officer, limit: Annotated[int, Query(ge=1, le=200)] = 50,
             before: Annotated[int | None, Query(ge=1, description="from a page's `next`")] = None,
             reference: Annotated[str | None, Query(max_length=16)] = None) -> LogOut:
    return log_out(log.page(limit, before, reference), limit, reference)


def log_out(page: LogPage, limit: int, reference: str | None) -> LogOut:
    items = [LoggedOut(id=i.seq, reference=i.reference, report_id=i.report_id, action=i.action, kind=i.kind,
                       hold_id=i.hold_id, by=i.actor, at=i.at, reason=i.reason) for i in page.items]
    following = None
    if page.next_before is not None:
        following = f"/v1/erasures?limit={limit}&before={page.next_before}"
        following += f"&reference={reference}" if reference else ""
    return LogOut(items=items, next=following)


@privacy_router.post("/v1/reports/{reference}/withdrawal", response_model=WithdrawalOut, tags=["follow-up"],
                     summary="Withdraw a report (the reporter, with the follow-up token)",
                     description="The report is not pursued further; its personal data is erased after a grace "
                                 "period (`erase_after`) unless the police must keep it. Withdrawing again "
                                 "answers the same.",
                     responses={404: {"description": "no report with this reference and token (not told apart)"},
                                410: {"description": "the report was erased"},
                                429: {"description": "too many requests; see Retry-After"}},
                     dependencies=[Depends(public_limit)])
def withdraw(reference: REFERENCE, withdrawals: WithdrawalsDep, token: TokenDep,
             body: Annotated[WithdrawalIn | None, Body()] = None) -> JSONResponse:
    try:
        done = withdrawals.withdraw(reference, token.credentials if token else None, body.reason if body else None)
    except UnknownReport as e:
        raise NotFound("no report with this reference and token") from e
    except KeyDestroyed as e:
        raise Gone("this report was erased") from e
    return JSONResponse(withdrawal_out(done).model_dump(mode="json"), headers={"Cache-Control": "no-store"})


def withdrawal_out(w: Withdrawal) -> WithdrawalOut:
    return WithdrawalOut(reference=w.reference, withdrawn_at=w.withdrawn_at, erase_after=w.erase_after)
