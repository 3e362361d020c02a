"""Assessment's composition root."""

from __future__ import annotations

import functools

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from services.assessment import pages, tables
from services.assessment.api import router
from services.assessment.partner import Pseudonymiser
from services.assessment.settings import AssessmentSettings
from services.assessment.worker import LiveProjection
from shared.clock import Clock, SystemClock
from shared.service import ServiceCore, service_app
from shared.settings import VigilSettings
from shared.staffaccess import StaffAccess
from shared.topics import INCIDENTS, REPORTS
from shared.web.errors import ErrorPages
from shared.web.site import StaffSite

SERVICE = "assessment"


class Assessment(ServiceCore):
    def __init__(self, vigil: VigilSettings, settings: AssessmentSettings, clock: Clock) -> None:
        super().__init__(SERVICE, vigil, settings.database_url, tables.metadata, clock)
        self.settings = settings
        self.staff_access = StaffAccess(vigil)  # staff sign in at triage (ADR 0046)
        self.closers.append(self.staff_access.aclose)
        self.registry = settings.registry()
        self.scoring = settings.scoring()
        pseudonymiser = Pseudonymiser(vigil.fingerprint_key.get_secret_value()) if settings.partner_feed else None
        self.projection = LiveProjection(self.db, self.store, self.registry, clock, self.scoring, pseudonymiser)
        self.consume("projection", [REPORTS, INCIDENTS], self.projection.handle)
        self.add_task("reassess", functools.partial(self.projection.run_timer, settings.reassess_interval_seconds))
        self.add_task("reassess-moved", self.projection.run_reassessor)


def build(vigil: VigilSettings | None = None, settings: AssessmentSettings | None = None,
          clock: Clock | None = None) -> Assessment:
    return Assessment(vigil or VigilSettings(), settings or AssessmentSettings(), clock or SystemClock())


def create_app(assessment: Assessment | None = None, with_worker: bool = True,
               site: StaffSite | None = None) -> FastAPI:
    """`site` is where the other staff pages are (default from VIGIL_STAFF_* settings)."""
    assessment = assessment or build()
    site = site or StaffSite()
    app = service_app(assessment, "Vigil assessment", "Per-area risk and tension pictures and the "
                      "strategic assessment.", [router, pages.exports, pages.router, pages.home_router], with_worker,
                      error_pages=ErrorPages(site=site))
    app.mount(pages.static_prefix(), StaticFiles(directory=pages.STATIC), name="analysis-static")
    # what services.assessment.deps hands to routes
    app.state.db = assessment.db
    app.state.registry = assessment.registry
    app.state.scoring = assessment.scoring
    app.state.clock = assessment.clock
    app.state.staff_access = assessment.staff_access
    app.state.site = site
    app.state.templates = pages.templates_for(site)
    return app
