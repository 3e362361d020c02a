"""Assessment's composition root."""

from __future__ import annotations

import functools

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from services.assessment import pages, tables
from services.assessment.api import router
from services.assessment.partner import Pseudonymiser
from services.assessment.projection import Fold
from services.assessment.settings import AssessmentSettings
from services.assessment.sites import api as sites_api
from services.assessment.sites import pages as sites_pages
from services.assessment.sites import tasking_api, tasking_pages
from services.assessment.sites.guidance import load_guidance_file
from services.assessment.sites.mornings import TaskingMornings
from services.assessment.sites.reminders import RoutineReminders
from services.assessment.sites.sealing import SiteKeys
from services.assessment.sites.service import SiteService, SiteWriter
from services.assessment.sites.taskboard import Taskboard
from services.assessment.sites.teams import load_teams_file
from services.assessment.worker import LiveProjection
from shared.clock import Clock, SystemClock
from shared.crypto import Fingerprinter
from shared.service import ServiceCore, service_app
from shared.settings import VigilSettings
from shared.staffaccess import StaffAccess
from shared.topics import INCIDENTS, REPORTS, SITES
from shared.web.errors import ErrorPages
from shared.web.site import StaffSite

SERVICE = "assessment"


class Assessment(ServiceCore):
    def __init__(self, vigil: VigilSettings, settings: AssessmentSettings, clock: Clock) -> None:
        super().__init__(SERVICE, vigil, settings.database_url, tables.metadata, clock)
        self.settings = settings
        self.staff_access = StaffAccess(vigil, "assessment")  # staff sign in at triage (ADR 0046)
        self.closers.append(self.staff_access.aclose)
        self.registry = settings.registry()
        self.scoring = settings.scoring()
        pseudonymiser = Pseudonymiser(vigil.fingerprint_key.get_secret_value()) if settings.partner_feed else None
        self.projection = LiveProjection(self.db, self.store, self.registry, clock, self.scoring, pseudonymiser)
        self.guidance = load_guidance_file(settings.guidance_file)
        self.sites = SiteService(self.db, SiteWriter(self.store, Fold(self.registry)),
                                 SiteKeys(settings.sites_key_bytes(vigil.environment)),
                                 Fingerprinter(vigil.fingerprint_key.get_secret_value()), self.registry, self.guidance,
                                 clock)
        self.reminders = RoutineReminders(self.db, self.store, self.guidance, self.scoring, clock)
        self.taskboard = Taskboard(self.db, self.store, self.sites.keys, self.guidance, self.scoring, clock)
        self.teams = load_teams_file(settings.tasking_teams_file, self.registry)
        self.mornings = TaskingMornings(self.db, self.store, self.guidance, self.scoring, clock,
                                        settings.tasking_morning_at, self.teams)
        self.consume("projection", [REPORTS, INCIDENTS, SITES], self.projection.handle)
        self.add_task("reassess", functools.partial(self.projection.run_timer, settings.reassess_interval_seconds))
        self.add_task("reassess-moved", self.projection.run_reassessor)
        self.add_task("site-reminders", functools.partial(self.reminders.run, settings.reminder_interval_seconds))
        self.add_task("tasking-mornings", functools.partial(self.mornings.run, settings.tasking_interval_seconds))


def build(vigil: VigilSettings | None = None, settings: AssessmentSettings | None = None,
          clock: Clock | None = None) -> Assessment:
    return Assessment(vigil or VigilSettings(), settings or AssessmentSettings(), clock or SystemClock())


def create_app(assessment: Assessment | None = None, with_worker: bool = True,
               site: StaffSite | None = None) -> FastAPI:
    """`site` is where the other staff pages are (default from VIGIL_STAFF_* settings)."""
    assessment = assessment or build()
    site = site or StaffSite()
    app = service_app(assessment, "Vigil assessment", "Per-area risk and tension pictures and the "
                      "strategic assessment; the register of places of worship, each site's risk, plan and routines.",
                      [router, sites_api.router, sites_api.internal, tasking_api.router, tasking_api.internal,
                       tasking_pages.router, sites_pages.router, pages.exports,
                       pages.router, pages.home_router], with_worker, error_pages=ErrorPages(site=site))
    app.mount(pages.static_prefix(), StaticFiles(directory=pages.STATIC), name="analysis-static")
    # what services.assessment.deps hands to routes
    app.state.db = assessment.db
    app.state.registry = assessment.registry
    app.state.scoring = assessment.scoring
    app.state.clock = assessment.clock
    app.state.staff_access = assessment.staff_access
    app.state.sites = assessment.sites
    app.state.guidance = assessment.guidance
    app.state.taskboard = assessment.taskboard
    app.state.teams = assessment.teams
    app.state.vigil = assessment.vigil
    app.state.site = site
    app.state.templates = pages.templates_for(site)
    return app
