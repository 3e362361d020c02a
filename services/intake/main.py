"""Intake's composition root: the one place real adapters are built and wired."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic.json_schema import models_json_schema
from starlette.middleware import Middleware

from services.intake import tables
from services.intake.api import router
from services.intake.application import IntakeApp
from services.intake.audit import PrivacyLog
from services.intake.centres import Centres
from services.intake.deps import IntakeParts
from services.intake.domain import ReportIn
from services.intake.edge import BodyLimit, page_headers
from services.intake.erasure import DataProtection
from services.intake.follow_up import follow_up_router
from services.intake.pages import Pages
from services.intake.privacy import privacy_router
from services.intake.ratelimit import RateLimiter
from services.intake.retention import RetentionJob, RetentionSchedule
from services.intake.settings import IntakeSettings
from services.intake.staff_text import staff_text_router
from services.intake.status import StatusFollower
from services.intake.web import web_router
from services.intake.withdrawal import Withdrawals
from shared.areas import default_registry
from shared.clock import Clock, SystemClock
from shared.crypto import Fingerprinter
from shared.service import ServiceCore, service_app
from shared.service import problem_openapi as service_openapi
from shared.settings import VigilSettings
from shared.staffaccess import StaffAccess
from shared.topics import INCIDENTS

SERVICE = "intake"


class Intake(ServiceCore):
    def __init__(self, vigil: VigilSettings, settings: IntakeSettings, clock: Clock) -> None:
        super().__init__(SERVICE, vigil, settings.database_url, tables.metadata, clock)
        self.settings = settings
        self.relay.gather = settings.outbox_gather_ms / 1000  # the surge path's own interval (ADR 0026)
        self.areas = default_registry()
        self.app = IntakeApp(self.db, self.store, self.areas, clock, vigil.master_key_bytes(),
                             Fingerprinter(vigil.fingerprint_key.get_secret_value()))
        self.centres = Centres(self.db, clock)
        self.limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
        self.centre_limiter = RateLimiter(settings.rate_limit_centre_per_minute, settings.rate_limit_centre_burst)
        self.pages = Pages(settings, vigil.master_key.get_secret_value())
        self.consume("status", [INCIDENTS], StatusFollower(clock))
        if self.app.loop_writer is not None:
            self.closers.append(self.app.loop_writer.aclose)
        self._add_data_protection()

    def _add_data_protection(self) -> None:
        """Erasure, holds, withdrawal and retention (docs/retention.md); staff sign in at triage (ADR 0046)."""
        master_key, schedule = self.vigil.master_key_bytes(), RetentionSchedule.of(self.settings)
        self.staff_access = StaffAccess(self.vigil, "intake")
        self.closers.append(self.staff_access.aclose)
        self.protection = DataProtection(self.db, self.store, self.clock, master_key)
        self.withdrawals = Withdrawals(self.db, self.store, self.clock, master_key, schedule.withdrawn)
        self.retention = RetentionJob(self.db, self.protection, schedule, self.clock,
                                      self.settings.retention_interval_seconds)
        if self.settings.retention_enabled:
            self.add_task("retention", self.retention.run)

    def parts(self) -> IntakeParts:
        """What the routes may reach (deps.py), and nothing else of the root."""
        return IntakeParts(app=self.app, settings=self.settings, vigil=self.vigil, centres=self.centres,
                           limiter=self.limiter, centre_limiter=self.centre_limiter, pages=self.pages,
                           areas=self.areas, clock=self.clock, protection=self.protection,
                           withdrawals=self.withdrawals, privacy_log=PrivacyLog(self.db))


def build(vigil: VigilSettings | None = None, settings: IntakeSettings | None = None,
          clock: Clock | None = None) -> Intake:
    return Intake(vigil or VigilSettings(), settings or IntakeSettings(), clock or SystemClock())


def create_app(intake: Intake | None = None, with_worker: bool = True) -> FastAPI:
    """The API runs the outbox relay in-process, so a report reaches Kafka milliseconds after commit."""
    intake = intake or build()
    body_limit = Middleware(BodyLimit, limit=intake.settings.max_body_bytes,
                            limits_by_path={"/v1/reports:batch": intake.settings.max_batch_body_bytes})
    routers = [router, privacy_router, staff_text_router, web_router, follow_up_router]
    app = service_app(intake, "Vigil intake", DESCRIPTION, routers,
                      with_worker, edge_extra=page_headers, inner=[body_limit], error_pages=intake.pages.error_pages())
    app.state.intake = intake.parts()
    app.state.staff_access = intake.staff_access
    app.openapi = lambda: problem_openapi(app)  # type: ignore[method-assign]
    intake.pages.mount_static(app)
    return app


DESCRIPTION = """Accepts hate-crime and hate-incident reports from the public and from third-party reporting
centres, stores them durably and puts them on Kafka (`vigil.reports.v1`) through an outbox.

Every error is `application/problem+json` (RFC 9457); a bad request names each field in `errors`
(`field`, `pointer`, `message`, `code`). Unknown fields are rejected. Public endpoints are rate limited
per client address (429 with `Retry-After`)."""

def problem_openapi(app: FastAPI) -> dict[str, Any]:
    """The services' OpenAPI document (every error as problem+json: `shared.service.problem_openapi`), with the
    report's schema, which POST /v1/reports reads itself (ADR 0016)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = service_openapi(app)
    components = schema["components"]["schemas"]
    _, report_schemas = models_json_schema([(ReportIn, "validation")], ref_template="#/components/schemas/{model}")
    for name, model_schema in report_schemas.get("$defs", {}).items():
        components.setdefault(name, model_schema)
    components["ReportIn"]["examples"] = [REPORT_EXAMPLE]
    return schema


REPORT_EXAMPLE: dict[str, Any] = {
    "reporter": {"role": "witness", "anonymous": False, "name": "A. Reporter", "email": "a@example.org",
                 "preferred_language": "en"},
    "consent": {"contact": True, "share_with_police": True, "share_with_partners": False,
                "refer_to_support": False},
    "incident": {"occurred_at": "2026-11-20T21:30:00Z", "occurred_at_is_approximate": True, "ongoing": False,
                 "types": ["graffiti"], "targeted_characteristics": ["religion"], "religion_targeted": "muslim",
                 "location": {"area": "E23000001", "postcode": "E1 6AN", "place_type": "place_of_worship",
                              "place_name": "the mosque on the high street"},
                 "injuries": "none", "weapon": False, "vulnerabilities": [], "repeat": False,
                 "description": "Offensive graffiti sprayed on the front wall overnight."},
}
