"""Intake's use cases: accept a report durably, answer idempotently, follow up, hand personal data to services.

A report answered 202 is committed (key, index, idempotency record and event in one
transaction) before the answer; the event table is the outbox, so Kafka gets it after.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.intake import tables
from services.intake.domain import (
    Checked,
    ReportIn,
    ReportRejected,
    Status,
    UpdateIn,
    check_report,
    default_grading,
    personal_fields,
    source_bucket,
)
from services.intake.matching import Match, Matched, Matcher
from services.intake.randomness import new_reference, new_report_id, new_token
from services.intake.writer import LoopWriter, PendingReport, ReportWriter
from shared.areas import AreaRegistry, outward_code
from shared.clock import Clock, utc
from shared.crypto import (
    Fingerprinter,
    KeyDestroyed,
    contact_identity,
    keyed_token,
    new_data_key,
    open_sealed,
    seal,
    unwrap_key,
    wrap_key,
)
from shared.db import Database
from shared.events.base import Envelope
from shared.events.reports import (
    Channel,
    Fingerprints,
    IncidentFacts,
    LocationFacts,
    PlaceType,
    ReadPurpose,
    ReportAmended,
    ReporterFacts,
    ReportPersonalDataRead,
    ReportSubmitted,
)
from shared.eventstore import ConcurrencyError, EventStore, lock_appends
from shared.telemetry import current_traceparent


class IdempotencyConflict(Exception):
    """The same Idempotency-Key was used before with a different request."""


class KeySpent(IdempotencyConflict):
    """The key was used for a report since erased: a replay must not bring it back."""


class UnknownReport(LookupError):
    """No such report, or the token does not match: the caller cannot tell which."""


class Withdrawn(Exception):
    """The reporter withdrew the report: nothing more can be added to it."""


@dataclass(frozen=True)
class Submitter:
    """Who is submitting: the public (web form or API), or a reporting centre identified by its API key."""

    channel: Channel = Channel.api
    centre_id: str | None = None
    trusted: bool = False
    address: str | None = None  # the client's, for the public: matched in intake (matching.py), never published

    @property
    def scope(self) -> str:
        return f"centre:{self.centre_id}" if self.centre_id else "public"


@dataclass(frozen=True)
class SubmitReport:
    report: ReportIn
    submitter: Submitter = Submitter()
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Receipt:
    report_id: str
    reference: str
    follow_up_token: str
    warnings: list[str] = field(default_factory=list)
    external_reference: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"report_id": self.report_id, "reference": self.reference, "follow_up_token": self.follow_up_token,
                "warnings": self.warnings, "external_reference": self.external_reference}


@dataclass(frozen=True)
class StatusView:
    reference: str
    status: Status
    received_at: str
    updated_at: str
    updates: int
    erase_after: str | None = None  # a withdrawn report's erasure date, as the reporter was told
    # kept from the police by the reporter, shared with them all the same to protect a life: the rule, and the
    # police force that has it (the reporter is told where to reach them, #15)
    safeguarding_override: str | None = None
    police_force: str | None = None


WRITE_TIMEOUT = 60.0


@dataclass(frozen=True)
class _Prepared:
    cmd: SubmitReport
    digest: str
    receipt: Receipt
    committed: Future[None] | None  # None: answered from an earlier request with the same key


def request_hash(report: ReportIn) -> str:
    body = report.model_dump(mode="json")
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def replay_token(master_key: bytes, scope: str, key: str, report_id: str) -> str:
    """The follow-up token of a report sent with an idempotency key: made again for a replay, never stored,
    so the idempotency cache holds no secret that opens the report (only its SHA-256 is kept, ADR 0012)."""
    return keyed_token(master_key, "vigil-follow-up-token", scope, key, report_id)


def spent_key(master_key: bytes, scope: str, key: str) -> str:
    """What is left of an erased report's idempotency key: a keyed hash that names no one, so a replay (a centre
    sending an old batch again) is refused instead of bringing the report back."""
    return "erased:" + keyed_token(master_key, "vigil-spent-idempotency-key", scope, key, n_bytes=32)


def kept_answer(receipt: Receipt) -> str:
    """What the idempotency cache keeps of an answer: everything but the follow-up token, which a replay
    derives again (`replay_token`)."""
    kept = {k: v for k, v in receipt.as_dict().items() if k != "follow_up_token"}
    return json.dumps({**kept, "token_derived": True})


def authorised_report(s: Session, reference: str, token: str | None) -> Any:
    """The report's row if the token is its follow-up token; a wrong token and an unknown reference look alike."""
    row = s.execute(select(tables.reports).where(tables.reports.c.reference == reference.upper())
                    ).mappings().first()
    given = token_hash(token or "")
    if row is None or not token or not hmac.compare_digest(row["token_hash"], given):
        raise UnknownReport(reference)
    return row


def data_key(s: Session, master_key: bytes, report_id: str) -> bytes:
    """The report's data key; KeyDestroyed once erased (the row is gone), UnknownReport for no such report."""
    key_row = s.execute(select(tables.report_keys).where(
        tables.report_keys.c.report_id == report_id)).mappings().first()
    if key_row is not None and key_row["wrapped_key"] is not None:
        return unwrap_key(master_key, key_row["wrapped_key"], report_id)
    erased = s.execute(select(tables.reports.c.erased_at).where(tables.reports.c.report_id == report_id)).first()
    if key_row is not None or (erased is not None and erased.erased_at is not None):
        raise KeyDestroyed(report_id)
    raise UnknownReport(report_id)


class IntakeApp:
    def __init__(self, db: Database, store: EventStore, areas: AreaRegistry, clock: Clock,
                 master_key: bytes, fingerprints: Fingerprinter) -> None:
        self.db = db
        self.store = store
        self.areas = areas
        self.clock = clock
        self.master_key = master_key
        self.fingerprints = fingerprints
        self.matcher = Matcher(master_key)
        self.writer = ReportWriter(db, store, self.matcher)
        self.loop_writer = LoopWriter(db, store) if db.is_postgres else None

    def submit(self, cmd: SubmitReport) -> Receipt:
        [result] = self.submit_many([cmd])
        if isinstance(result, Exception):
            raise result
        return result

    def submit_many(self, cmds: list[SubmitReport]) -> list[Receipt | Exception]:
        """Prepare and queue every report first, then wait: a batch shares its group commits.

        Each report gets its own answer: a receipt, or the ReportRejected / IdempotencyConflict
        (or database error) that stopped it; one report's failure never stops the others.
        """
        prepared = [self._prepare(cmd) for cmd in cmds]
        return [self._settle(item) for item in prepared]

    def _prepare(self, cmd: SubmitReport) -> _Prepared | Exception:
        digest = request_hash(cmd.report)
        try:
            if cmd.idempotency_key:
                earlier = self._earlier_answer(cmd.submitter.scope, cmd.idempotency_key, digest)
                if earlier is not None:
                    return _Prepared(cmd, digest, earlier, None)
            checked = check_report(cmd.report, self.clock.now(), self.areas, cmd.submitter.centre_id is not None)
        except (ReportRejected, IdempotencyConflict) as e:
            return e
        receipt = self._new_receipt(checked, cmd)
        pending = self._pending(cmd, checked, receipt, new_data_key(), digest)
        return _Prepared(cmd, digest, receipt, self.writer.enqueue(pending))

    def _settle(self, item: _Prepared | Exception) -> Receipt | Exception:
        if isinstance(item, Exception) or item.committed is None:
            return item if isinstance(item, Exception) else item.receipt
        try:
            item.committed.result(WRITE_TIMEOUT)
        except (IntegrityError, ConcurrencyError) as e:
            key = item.cmd.idempotency_key
            try:  # a twin with the same key won the race: answer as it was answered
                earlier = self._earlier_answer(item.cmd.submitter.scope, key, item.digest) if key else None
            except IdempotencyConflict as conflict:
                return conflict
            return earlier if earlier is not None else e
        return item.receipt

    def _new_receipt(self, checked: Checked, cmd: SubmitReport) -> Receipt:
        report_id = new_report_id()
        key = cmd.idempotency_key
        token = replay_token(self.master_key, cmd.submitter.scope, key, report_id) if key else new_token()
        return Receipt(report_id=report_id, reference=new_reference(), follow_up_token=token,
                       warnings=checked.warnings, external_reference=cmd.report.external_reference)

    async def submit_async(self, cmd: SubmitReport) -> Receipt:
        """The hot path without a thread per request: prepare here, await the group commit (on PostgreSQL,
        committed on this event loop by the LoopWriter; on SQLite by the writer thread).

        With an Idempotency-Key the earlier answer must be looked up first, which blocks, so that
        (rarer) path runs `submit` on a worker thread instead.
        """
        if cmd.idempotency_key:
            return await asyncio.get_running_loop().run_in_executor(None, self.submit, cmd)
        checked = check_report(cmd.report, self.clock.now(), self.areas, cmd.submitter.centre_id is not None)
        receipt = self._new_receipt(checked, cmd)
        pending = self._pending(cmd, checked, receipt, new_data_key(), "")
        if self.loop_writer is not None:
            await self.loop_writer.write(pending)
        else:
            await asyncio.wrap_future(self.writer.enqueue(pending))
        return receipt

    def _earlier_answer(self, scope: str, key: str, digest: str) -> Receipt | None:
        idem = tables.idempotency
        with self.db.sessions() as s:
            rows = s.execute(select(idem).where(idem.c.scope == scope, idem.c.key.in_(
                [key, spent_key(self.master_key, scope, key)]))).mappings().all()
        if not rows:
            return None
        if any(row["key"] != key for row in rows):
            raise KeySpent(key)
        if rows[0]["request_hash"] != digest:
            raise IdempotencyConflict(key)
        kept = json.loads(rows[0]["response"])
        kept.pop("follow_up_token", None)
        token = replay_token(self.master_key, scope, key, kept["report_id"])
        if not kept.pop("token_derived", False):
            self._replace_token(kept["report_id"], token)
        return Receipt(**kept, follow_up_token=token)

    def _replace_token(self, report_id: str, token: str) -> None:
        """An answer kept before tokens were derived (migration intake_0004 took its token away): the replay's
        token becomes the report's, so the answer it gets works."""
        with self.db.transaction() as s:
            s.execute(tables.reports.update().where(tables.reports.c.report_id == report_id)
                      .values(token_hash=token_hash(token)))

    def _match(self, cmd: SubmitReport, checked: Checked, receipt: Receipt) -> Match:
        """What intake's own matching needs (services/intake/matching.py); the writer matches each group commit."""
        rep, inc = checked.report.reporter, checked.report.incident
        return self.matcher.request(receipt.report_id, self.clock.now(), contact_identity(rep.email, rep.phone),
                                    source_bucket(cmd.submitter.centre_id, cmd.submitter.address), inc.description)

    def _submitted_event(self, checked: Checked, receipt: Receipt, data_key: bytes, submitter: Submitter,
                         matched: Matched) -> ReportSubmitted:
        report = checked.report
        inc, rep = report.incident, report.reporter
        personal = personal_fields(report)
        at_home = inc.location.place_type == PlaceType.home
        return ReportSubmitted(
            report_id=receipt.report_id, reference=receipt.reference, submitted_at=self.clock.now(),
            channel=submitter.channel, centre_id=submitter.centre_id,
            reporter=ReporterFacts(role=rep.role, anonymous=rep.anonymous,
                                   preferred_language=rep.preferred_language, has_contact=bool(rep.email or rep.phone)),
            consent=report.consent,
            incident=IncidentFacts(
                occurred_at=utc(inc.occurred_at), occurred_at_is_approximate=inc.occurred_at_is_approximate,
                ongoing=inc.ongoing, types=inc.types, targeted_characteristics=inc.targeted_characteristics,
                religion_targeted=inc.religion_targeted,
                location=LocationFacts(area=checked.area, district=checked.district,
                                       place_type=inc.location.place_type),
                injuries=inc.injuries, weapon=inc.weapon, vulnerabilities=inc.vulnerabilities, repeat=inc.repeat),
            grading=default_grading(rep.role, report.consent, submitter.trusted),
            fingerprints=Fingerprints(
                place=None if at_home else self.fingerprints.place(checked.area, inc.location.place_name)),
            personal=seal(data_key, receipt.report_id, personal) if personal else None,
            earlier_reports_same_contact=matched.earlier_reports_same_contact, source_burst=matched.source_burst,
            source_reports_28d=matched.source_reports_28d, near_duplicate_of=matched.near_duplicate_of,
            postcode_district=None if at_home else outward_code(inc.location.postcode or ""),
        )

    def _pending(self, cmd: SubmitReport, checked: Checked, receipt: Receipt, data_key: bytes,
                 digest: str) -> PendingReport:
        """The rows of one report and how to build its event, prepared here so the writer's transaction only
        matches and inserts."""
        now = self.clock.now()
        traceparent, tracestate = current_traceparent()
        key_row = {"report_id": receipt.report_id, "created_at": now, "destroyed_at": None,
                   "wrapped_key": wrap_key(self.master_key, data_key, receipt.report_id)}
        report_row = {"report_id": receipt.report_id, "reference": receipt.reference,
                      "token_hash": token_hash(receipt.follow_up_token), "status": Status.received.value,
                      "area": checked.area, "centre_id": cmd.submitter.centre_id,
                      "external_reference": receipt.external_reference, "created_at": now, "updated_at": now,
                      "idempotency_key": cmd.idempotency_key, "hate_crime": None, "withdrawn_at": None,
                      "erase_due_at": None, "erased_at": None, "safeguarding_override": None}
        idempotency_row = None
        if cmd.idempotency_key:
            idempotency_row = {"scope": cmd.submitter.scope, "key": cmd.idempotency_key, "request_hash": digest,
                               "response": kept_answer(receipt), "created_at": now}
        build = partial(self._submitted_event, checked, receipt, data_key, cmd.submitter)
        return PendingReport(receipt.report_id, key_row, report_row, self._match(cmd, checked, receipt), build,
                             idempotency_row, traceparent, tracestate)

    # -- the reporter's follow-up ---------------------------------------------------------

    def status(self, reference: str, token: str | None) -> StatusView:
        """The reporter's view; KeyDestroyed once erased (the token still tells its holder apart)."""
        with self.db.snapshot() as s:
            row = authorised_report(s, reference, token)
            if row["erased_at"] is not None:
                raise KeyDestroyed(row["report_id"])
            log = self.store.log
            updates = s.execute(select(func.count()).where(log.c.stream_id == row["report_id"],
                                                           log.c.type == ReportAmended.TYPE)).scalar_one()
        erase_after = row["erase_due_at"].isoformat() if row["erase_due_at"] else None
        override = row["safeguarding_override"]
        force = self.areas.get(self.areas.area_of(row["area"]) or row["area"]) if override else None
        return StatusView(reference=row["reference"], status=Status(row["status"]),
                          received_at=row["created_at"].isoformat(), updated_at=row["updated_at"].isoformat(),
                          updates=int(updates), erase_after=erase_after, safeguarding_override=override,
                          police_force=(force.name if force else row["area"]) if override else None)

    def add_update(self, reference: str, token: str | None, update: UpdateIn) -> StatusView:
        """Follow-up information becomes `vigil.report.amended.v1`; new text is sealed with the report's key."""
        with self.db.transaction() as s:
            lock_appends(s)  # first, as an erasure or a withdrawal does: none of them slips between read and write
            row = authorised_report(s, reference, token)
            report_id = row["report_id"]
            data_key = self._data_key(s, report_id)
            if row["withdrawn_at"] is not None:
                raise Withdrawn(reference)
            history = self.store.load(s, report_id)
            facts = _latest_facts(history)
            changed = _changed_facts(facts, update)
            event = ReportAmended(report_id=report_id, amended_at=self.clock.now(), incident=changed,
                                  personal=seal(data_key, report_id, {"information": update.information}))
            self.store.append(s, report_id, len(history), [event])
            s.execute(tables.reports.update().where(tables.reports.c.report_id == report_id)
                      .values(updated_at=self.clock.now()))
        return self.status(reference, token)

    def _data_key(self, s: Session, report_id: str) -> bytes:
        return data_key(s, self.master_key, report_id)

    # -- services ---------------------------------------------------------------------------

    def personal_data(self, report_id: str, service: str, purpose: ReadPurpose,
                      on_behalf_of: str | None = None) -> dict[str, Any]:
        """Open every sealed part of a report's history, latest value winning; follow-ups as a list. The read is
        recorded first (`vigil.report.personal_data_read.v1`, in its own stream keyed by the report), in the
        transaction that checks the report's key still exists: no data leaves without its record."""
        with self.db.transaction() as s:
            data_key = self._data_key(s, report_id)
            read = ReportPersonalDataRead(report_id=report_id, service=service, purpose=purpose,
                                          on_behalf_of=on_behalf_of, read_at=self.clock.now())
            self.store.extend(s, f"{report_id}/reads", [read], key=report_id)
        with self.db.snapshot() as s:
            envelopes = self.store.load(s, report_id)
        merged: dict[str, Any] = {}
        updates: list[dict[str, str]] = []
        for env in envelopes:
            event = env.event()
            sealed = event.personal if isinstance(event, ReportSubmitted | ReportAmended) else None
            if not sealed:
                continue
            opened = open_sealed(data_key, report_id, sealed)
            if "information" in opened:
                updates.append({"at": env.time.isoformat(), "information": opened.pop("information")})
            merged.update(opened)
        if updates:
            merged["updates"] = updates
        return merged


def _latest_facts(history: list[Envelope]) -> IncidentFacts:
    facts: IncidentFacts | None = None
    for env in history:
        event = env.event()
        if isinstance(event, ReportSubmitted | ReportAmended) and event.incident:
            facts = event.incident
    if facts is None:
        raise UnknownReport("no submitted event")
    return facts.model_copy(update={"online_platform": None})  # an older event's, in clear: sealed since #15


def _changed_facts(facts: IncidentFacts, update: UpdateIn) -> IncidentFacts | None:
    changes = {k: v for k, v in update.model_dump(exclude={"information"}).items()
               if v is not None and getattr(facts, k) != v}
    return facts.model_copy(update=changes) if changes else None
