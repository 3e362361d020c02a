"""Triage's composition root."""

from __future__ import annotations

from fastapi import FastAPI

from services.triage import tables
from services.triage.api import router
from services.triage.application import TriageApp
from services.triage.settings import TriageSettings
from shared.clock import Clock, SystemClock
from shared.events.incidents import Priority
from shared.service import ServiceCore, service_app
from shared.settings import VigilSettings
from shared.topics import REPORTS

SERVICE = "triage"


class Triage(ServiceCore):
    def __init__(self, vigil: VigilSettings, settings: TriageSettings, clock: Clock) -> None:
        super().__init__(SERVICE, vigil, settings.database_url, tables.metadata, clock)
        self.settings = settings
        self.app = TriageApp(self.store, clock, {Priority.P1: settings.ack_minutes_p1,
                                                 Priority.P2: settings.ack_minutes_p2})
        self.consume("reports", [REPORTS], self.app.on_report_event)


def build(vigil: VigilSettings | None = None, settings: TriageSettings | None = None,
          clock: Clock | None = None) -> Triage:
    return Triage(vigil or VigilSettings(), settings or TriageSettings(), clock or SystemClock())


def create_app(triage: Triage | None = None, with_worker: bool = True) -> FastAPI:
    triage = triage or build()
    app = service_app(triage, "Vigil triage", "Critical-incident criteria, the Duty Inspector's "
                      "workflow and the staff UI.", [router], with_worker)
    app.state.triage = triage
    return app
