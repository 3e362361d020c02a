"""Triage's composition root."""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.triage import tables
from services.triage.api import install_error_mapping, router
from services.triage.application import Policy, TriageApp
from services.triage.auth import Auth
from services.triage.rules import DEFAULT_RULESET, Ruleset, load_ruleset_file
from services.triage.settings import TriageSettings
from services.triage.ui import router as ui_router
from shared.areas import default_registry
from shared.clock import Clock, SystemClock
from shared.events.incidents import Priority
from shared.personal import PersonalDataClient
from shared.service import ServiceCore, service_app
from shared.settings import VigilSettings
from shared.topics import AREAS, REPORTS

SERVICE = "triage"
STATIC = Path(__file__).resolve().parent / "static"


class Triage(ServiceCore):
    def __init__(self, vigil: VigilSettings, settings: TriageSettings, clock: Clock) -> None:
        super().__init__(SERVICE, vigil, settings.database_url, tables.metadata, clock)
        self.settings = settings
        policy = Policy({Priority.P1: settings.ack_minutes_p1, Priority.P2: settings.ack_minutes_p2},
                        settings.cia_due_hours)
        intake = PersonalDataClient.from_settings(vigil)
        self.app = TriageApp(self.db, self.store, clock, policy, self.configured_ruleset, default_registry(),
                             intake)
        self.auth = Auth(self.db, clock, settings.session_idle_minutes, settings.session_max_hours)
        self.consume("reports", [REPORTS], self.app.on_report_event)
        self.consume("areas", [AREAS], self.app.on_area_event)
        self.add_task("timers", self.run_timers)
        self.wake_timers = threading.Event()

    def configured_ruleset(self) -> Ruleset:
        return load_ruleset_file(self.settings.ruleset_file or DEFAULT_RULESET)

    def run_timers(self, stop: threading.Event) -> None:
        """Acknowledgement deadlines and tension end times live in the database, so they survive restarts."""
        while not stop.is_set():
            self.app.escalate_overdue()
            self.app.lift_expired_tensions()
            self.wake_timers.wait(self.settings.timer_interval_seconds)
            self.wake_timers.clear()


def build(vigil: VigilSettings | None = None, settings: TriageSettings | None = None,
          clock: Clock | None = None) -> Triage:
    return Triage(vigil or VigilSettings(), settings or TriageSettings(), clock or SystemClock())


def create_app(triage: Triage | None = None, with_worker: bool = True) -> FastAPI:
    triage = triage or build()
    app = service_app(triage, "Vigil triage", "Critical-incident criteria, the Duty Inspector's "
                      "workflow and the staff UI.", [router, ui_router], with_worker)
    install_error_mapping(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.state.triage = triage
    return app
