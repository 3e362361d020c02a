"""Intake's composition root: the one place real adapters are built and wired."""

from __future__ import annotations

from fastapi import FastAPI

from services.intake import tables
from services.intake.api import router
from services.intake.application import IntakeApp
from services.intake.settings import IntakeSettings
from shared.areas import default_registry
from shared.clock import Clock, SystemClock
from shared.crypto import Fingerprinter
from shared.service import ServiceCore, service_app
from shared.settings import VigilSettings

SERVICE = "intake"


class Intake(ServiceCore):
    def __init__(self, vigil: VigilSettings, settings: IntakeSettings, clock: Clock) -> None:
        super().__init__(SERVICE, vigil, settings.database_url, tables.metadata, clock)
        self.settings = settings
        self.app = IntakeApp(self.db, self.store, default_registry(), clock, vigil.master_key_bytes(),
                             Fingerprinter(vigil.fingerprint_key.get_secret_value()))


def build(vigil: VigilSettings | None = None, settings: IntakeSettings | None = None,
          clock: Clock | None = None) -> Intake:
    return Intake(vigil or VigilSettings(), settings or IntakeSettings(), clock or SystemClock())


def create_app(intake: Intake | None = None, with_worker: bool = True) -> FastAPI:
    """The API runs the outbox relay in-process, so a report reaches Kafka milliseconds after commit."""
    intake = intake or build()
    app = service_app(intake, "Vigil intake", "Accepts hate-crime reports from the public and reporting "
                      "centres, durably, and puts them on Kafka.", [router], with_worker)
    app.state.intake = intake
    return app
