"""Triage's composition root: builds each feature over one database and event store, and wires the routes."""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.triage import tables
from services.triage.admin import router as admin_router
from services.triage.api import install_error_mapping, router
from services.triage.area_cia import AreaCias, AreaCiaStore
from services.triage.area_cia_routes import api as area_cia_api
from services.triage.area_cia_routes import pages as area_cia_pages
from services.triage.auth import Auth
from services.triage.decisions import Decisions
from services.triage.deps import Provided, provide
from services.triage.groups_api import router as groups_router
from services.triage.incident import Policy
from services.triage.incident_store import IncidentRepository
from services.triage.internal import router as internal_router
from services.triage.publishing import Rulesets
from services.triage.queries import Queries
from services.triage.rules import DEFAULT_RULESET, Ruleset, load_ruleset_file
from services.triage.settings import TriageSettings
from services.triage.site_visits import SiteVisits
from services.triage.sso import CALLBACK_PATH, OidcClient, SingleSignOn
from services.triage.sso_routes import router as sso_router
from services.triage.tension import Tension, TensionStore
from services.triage.ui import router as ui_router
from services.triage.workflow import Workflow
from shared.areas import default_registry
from shared.clock import Clock, SystemClock
from shared.db import Database
from shared.events.incidents import Priority
from shared.personal import PersonalDataClient
from shared.service import ServiceCore, service_app
from shared.settings import PLAIN_HTTP_ENVIRONMENTS, VigilSettings
from shared.stafftext import StaffTextClient
from shared.topics import AREAS, REPORTS, SITES
from shared.web.site import StaffSite

SERVICE = "triage"
STATIC = Path(__file__).resolve().parent / "static"


def sealing_staff_text(vigil: VigilSettings, settings: TriageSettings) -> bool:
    """Staff text is sealed with the report's key (ADR 0055); only development and tests may run triage without an
    intake to seal it, and say so (`TRIAGE_SEAL_STAFF_TEXT=false`)."""
    if not settings.seal_staff_text and vigil.environment not in PLAIN_HTTP_ENVIRONMENTS:
        raise ValueError("TRIAGE_SEAL_STAFF_TEXT=false is for development and tests: staff text about a report "
                         "must travel sealed with the report's key")
    return settings.seal_staff_text


def single_sign_on(vigil: VigilSettings, settings: TriageSettings, db: Database, clock: Clock) -> SingleSignOn | None:
    """Staff single sign-on at the force's OpenID Connect provider (ADR 0060), if configured: over HTTPS outside
    development and test. The provider sends people back to triage's public address (VIGIL_STAFF_TRIAGE_URL)."""
    if not settings.oidc_issuer:
        return None
    if not settings.oidc_issuer.startswith("https://") and vigil.environment not in PLAIN_HTTP_ENVIRONMENTS:
        raise ValueError("TRIAGE_OIDC_ISSUER must be an https:// URL outside development and test")
    redirect_uri = StaffSite().triage_url.rstrip("/") + CALLBACK_PATH
    client = OidcClient(settings.oidc_issuer, settings.oidc_client_id,
                        settings.oidc_client_secret.get_secret_value(), redirect_uri)
    return SingleSignOn(db, clock, client, settings.oidc_label, settings.oidc_passwords)


class Triage(ServiceCore):
    def __init__(self, vigil: VigilSettings, settings: TriageSettings, clock: Clock) -> None:
        super().__init__(SERVICE, vigil, settings.database_url, tables.metadata, clock)
        self.settings = settings
        policy = Policy({Priority.P1: settings.ack_minutes_p1, Priority.P2: settings.ack_minutes_p2},
                        settings.cia_due_hours)
        incidents, tension = IncidentRepository(self.store), TensionStore()
        self.rulesets = Rulesets(self.db, self.store, clock, self.configured_ruleset)
        self.decisions = Decisions(self.db, incidents, self.rulesets.store, tension, clock, policy)
        self.tension = Tension(self.db, self.store, tension, self.decisions, clock, policy, default_registry())
        texts = StaffTextClient.from_settings(vigil, SERVICE) if sealing_staff_text(vigil, settings) else None
        self.workflow = Workflow(self.db, incidents, clock, policy, PersonalDataClient.from_settings(vigil, "triage"),
                                 texts)
        self.queries = Queries(self.db, clock, incidents, self.decisions.memory, self.tension.store,
                               self.rulesets.store, self.workflow.store, settings.default_centre, texts)
        self.auth = Auth(self.db, clock, settings.session_idle_minutes, settings.session_max_hours,
                         passwords_allowed=settings.oidc_passwords)
        self.sso = single_sign_on(vigil, settings, self.db, clock)
        self.area_cias = AreaCias(self.db, AreaCiaStore(self.store), clock, default_registry())
        self.consume("reports", [REPORTS], self.decisions.on_report_event)
        self.consume("areas", [AREAS], self.tension.on_area_event)
        self.site_visits = SiteVisits()  # visits at places of worship, for incidents' assessments
        self.consume("sites", [SITES], self.site_visits.on_site_event)
        self.add_task("timers", self.run_timers)
        self.watch_timers("deadlines", incidents.oldest_overdue)
        self.wake_timers = threading.Event()

    def configured_ruleset(self) -> Ruleset:
        return load_ruleset_file(self.settings.ruleset_file or DEFAULT_RULESET)

    def run_timers(self, stop: threading.Event) -> None:
        """Acknowledgement deadlines and tension end times live in the database, so they survive restarts."""
        while not stop.is_set():
            self.workflow.escalate_overdue()
            self.tension.lift_expired()
            self.wake_timers.wait(self.settings.timer_interval_seconds)
            self.wake_timers.clear()


def build(vigil: VigilSettings | None = None, settings: TriageSettings | None = None,
          clock: Clock | None = None) -> Triage:
    return Triage(vigil or VigilSettings(), settings or TriageSettings(), clock or SystemClock())


def create_app(triage: Triage | None = None, with_worker: bool = True) -> FastAPI:
    triage = triage or build()
    routers = [router, ui_router, admin_router, internal_router, groups_router, area_cia_api, area_cia_pages,
               sso_router]
    app = service_app(triage, "Vigil triage", "Critical-incident criteria, the Duty Inspector's "
                      "workflow and the staff UI.", routers, with_worker)
    install_error_mapping(app)
    app.state.area_cias = triage.area_cias  # area_cia_routes.py's (ADR 0059)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    provide(app, Provided(triage.vigil, triage.settings, triage.auth, triage.workflow, triage.tension,
                          triage.queries, triage.sso))
    return app
