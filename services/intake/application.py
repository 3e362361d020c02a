"""Intake's use cases: accept a report durably, answer idempotently, hand out personal data to services."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.intake import tables
from services.intake.domain import (
    ReportIn,
    ReportRejected,
    check_not_in_future,
    contact_warnings,
    default_grading,
    personal_fields,
)
from shared.areas import AreaRegistry
from shared.clock import Clock, utc
from shared.crypto import Fingerprinter, KeyDestroyed, new_data_key, open_sealed, seal, unwrap_key, wrap_key
from shared.db import Database
from shared.events.reports import (
    Channel,
    Fingerprints,
    IncidentFacts,
    LocationFacts,
    ReporterFacts,
    ReportSubmitted,
    Sealed,
)
from shared.eventstore import EventStore
from shared.ids import new_id, new_reference


class IdempotencyConflict(Exception):
    """The same Idempotency-Key was used before with a different request."""


class UnknownReport(LookupError):
    pass


@dataclass(frozen=True)
class Submitter:
    """Who is submitting: the public, or a reporting centre identified by its API key."""

    channel: Channel = Channel.api
    centre_id: str | None = None
    trusted: bool = False

    @property
    def scope(self) -> str:
        return self.centre_id or "public"


@dataclass(frozen=True)
class SubmitReport:
    report: ReportIn
    submitter: Submitter = Submitter()
    idempotency_key: str | None = None
    external_reference: str | None = None


@dataclass(frozen=True)
class Receipt:
    report_id: str
    reference: str
    follow_up_token: str
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"report_id": self.report_id, "reference": self.reference,
                "follow_up_token": self.follow_up_token, "warnings": self.warnings}


def request_hash(report: ReportIn, external_reference: str | None) -> str:
    body = report.model_dump(mode="json") | {"_external_reference": external_reference}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class IntakeApp:
    def __init__(self, db: Database, store: EventStore, areas: AreaRegistry, clock: Clock,
                 master_key: bytes, fingerprints: Fingerprinter) -> None:
        self.db = db
        self.store = store
        self.areas = areas
        self.clock = clock
        self.master_key = master_key
        self.fingerprints = fingerprints

    def submit(self, cmd: SubmitReport) -> Receipt:
        digest = request_hash(cmd.report, cmd.external_reference)
        if cmd.idempotency_key:
            earlier = self._earlier_answer(cmd.submitter.scope, cmd.idempotency_key, digest)
            if earlier is not None:
                return earlier
        report, warnings = contact_warnings(cmd.report)
        now = self.clock.now()
        check_not_in_future(report.incident.occurred_at, now)
        area, district = self._resolve_area(report)
        receipt = Receipt(report_id=new_id(), reference=new_reference(),
                          follow_up_token=secrets.token_urlsafe(24), warnings=warnings)
        built = self._submitted_event(cmd, report, receipt, area, district)
        try:
            with self.db.transaction() as s:
                self._store_key_and_index(s, receipt, area, cmd, built.data_key)
                if cmd.idempotency_key:
                    s.execute(tables.idempotency.insert().values(
                        scope=cmd.submitter.scope, key=cmd.idempotency_key, request_hash=digest,
                        response=json.dumps(receipt.as_dict()), created_at=now))
                self.store.append(s, receipt.report_id, 0, [built.event])
        except IntegrityError:
            if cmd.idempotency_key:  # a concurrent twin won the race: answer as it did
                earlier = self._earlier_answer(cmd.submitter.scope, cmd.idempotency_key, digest)
                if earlier is not None:
                    return earlier
            raise
        return receipt

    def _earlier_answer(self, scope: str, key: str, digest: str) -> Receipt | None:
        with self.db.sessions() as s:
            row = s.execute(select(tables.idempotency).where(
                tables.idempotency.c.scope == scope, tables.idempotency.c.key == key)).mappings().first()
        if row is None:
            return None
        if row["request_hash"] != digest:
            raise IdempotencyConflict(key)
        return Receipt(**json.loads(row["response"]))

    def _resolve_area(self, report: ReportIn) -> tuple[str, str | None]:
        loc = report.incident.location
        if loc.area:
            if not self.areas.is_valid(loc.area):
                raise ReportRejected("incident.location.area", f"unknown area code '{loc.area}'")
            area = self.areas.area_of(loc.area) or loc.area
            return area, (loc.area if loc.area != area else None)
        if loc.postcode:
            area_code = self.areas.area_for_postcode(loc.postcode)
            if area_code:
                return area_code, None
            raise ReportRejected("incident.location.area",
                                 "the postcode's area is not known: please choose the area from the list")
        raise ReportRejected("incident.location.area", "an area (or a postcode we can place) is required")

    def _submitted_event(self, cmd: SubmitReport, report: ReportIn, receipt: Receipt, area: str,
                         district: str | None) -> _Built:
        data_key = new_data_key()
        inc, rep = report.incident, report.reporter
        personal = personal_fields(report)
        event = ReportSubmitted(
            report_id=receipt.report_id, reference=receipt.reference, submitted_at=self.clock.now(),
            channel=cmd.submitter.channel, centre_id=cmd.submitter.centre_id,
            external_reference=cmd.external_reference,
            reporter=ReporterFacts(role=rep.role, anonymous=rep.anonymous,
                                   preferred_language=rep.preferred_language, organisation=rep.organisation,
                                   has_contact=bool(rep.email or rep.phone)),
            consent=report.consent,
            incident=IncidentFacts(
                occurred_at=utc(inc.occurred_at), occurred_at_is_approximate=inc.occurred_at_is_approximate,
                ongoing=inc.ongoing, types=inc.types, targeted_characteristics=inc.targeted_characteristics,
                religion_targeted=inc.religion_targeted,
                location=LocationFacts(area=area, district=district, place_type=inc.location.place_type),
                online_platform=inc.online.platform if inc.online else None, injuries=inc.injuries,
                weapon=inc.weapon, vulnerabilities=inc.vulnerabilities, repeat=inc.repeat),
            grading=default_grading(rep.role, report.consent, cmd.submitter.trusted),
            fingerprints=Fingerprints(contact=self.fingerprints.contact(rep.email, rep.phone),
                                      place=self.fingerprints.place(area, inc.location.place_name)),
            personal=seal(data_key, receipt.report_id, personal) if personal else None,
        )
        return _Built(event, data_key)

    def _store_key_and_index(self, s: Session, receipt: Receipt, area: str, cmd: SubmitReport,
                             data_key: bytes) -> None:
        now = self.clock.now()
        s.execute(tables.report_keys.insert().values(
            report_id=receipt.report_id, created_at=now,
            wrapped_key=wrap_key(self.master_key, data_key, receipt.report_id)))
        s.execute(tables.reports.insert().values(
            report_id=receipt.report_id, reference=receipt.reference,
            token_hash=token_hash(receipt.follow_up_token), status="received", area=area,
            centre_id=cmd.submitter.centre_id, external_reference=cmd.external_reference,
            created_at=now, updated_at=now))

    def personal_data(self, report_id: str) -> dict[str, Any]:
        """Open every sealed part of a report's history, latest value winning; for services only."""
        with self.db.sessions() as s:
            key_row = s.execute(select(tables.report_keys).where(
                tables.report_keys.c.report_id == report_id)).mappings().first()
            if key_row is None:
                raise UnknownReport(report_id)
            if key_row["wrapped_key"] is None:
                raise KeyDestroyed(report_id)
            envelopes = self.store.load(s, report_id)
        data_key = unwrap_key(self.master_key, key_row["wrapped_key"], report_id)
        merged: dict[str, Any] = {}
        for env in envelopes:
            sealed = env.data.get("personal")
            if sealed:
                merged.update(open_sealed(data_key, report_id, Sealed.model_validate(sealed)))
        return merged


@dataclass
class _Built:
    event: ReportSubmitted
    data_key: bytes
