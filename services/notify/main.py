"""Notify's composition root."""

from __future__ import annotations

from fastapi import FastAPI

from services.notify import tables
from services.notify.api import router
from services.notify.application import NotifyApp
from services.notify.channels import Channel, LogChannel
from services.notify.settings import NotifySettings
from shared.clock import Clock, SystemClock
from shared.service import ServiceCore, service_app
from shared.settings import VigilSettings
from shared.topics import INCIDENTS

SERVICE = "notify"


class Notify(ServiceCore):
    def __init__(self, vigil: VigilSettings, settings: NotifySettings, clock: Clock,
                 channels: dict[str, Channel] | None = None) -> None:
        super().__init__(SERVICE, vigil, settings.database_url, tables.metadata, clock)
        self.settings = settings
        self.channels: dict[str, Channel] = channels or {"log": LogChannel()}
        self.app = NotifyApp(self.db, self.store, clock, self.channels, settings.duty_inspector_address,
                             settings.max_attempts)
        self.consume("incidents", [INCIDENTS], self.app.on_incident_event)
        self.add_task("dispatcher", self.app.run_dispatcher)


def build(vigil: VigilSettings | None = None, settings: NotifySettings | None = None,
          clock: Clock | None = None, channels: dict[str, Channel] | None = None) -> Notify:
    return Notify(vigil or VigilSettings(), settings or NotifySettings(), clock or SystemClock(), channels)


def create_app(notify: Notify | None = None, with_worker: bool = True) -> FastAPI:
    notify = notify or build()
    app = service_app(notify, "Vigil notify", "Receipts, Duty Inspector alerts chased until acknowledged, "
                      "community impact assessment prompts.", [router], with_worker)
    app.state.notify = notify
    return app
