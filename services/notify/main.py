"""Notify's composition root: channels, directory, templates, consumers, dispatchers and the timer task."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from kafka import KafkaConsumer
from sqlalchemy import event
from sqlalchemy.orm import Session

from services.notify import tables
from services.notify.api import router
from services.notify.application import NotifyApp, assessment_schedule
from services.notify.channels import (
    Channel,
    LogChannel,
    SmsChannel,
    SmsGatewayConfig,
    SmtpChannel,
    SmtpConfig,
    WebhookChannel,
)
from services.notify.compose import Composer, ReporterRouter, still_wanted
from services.notify.dispatch import WAKE, Dispatcher, Retry
from services.notify.messages import Templates
from services.notify.policy import Directory, load_directory
from services.notify.settings import NotifySettings
from services.notify.timers import TimerRunner
from shared.clock import Clock, SystemClock
from shared.kafka import make_consumer
from shared.personal import PersonalDataClient
from shared.service import ServiceCore, service_app
from shared.settings import VigilSettings
from shared.staffaccess import StaffAccess
from shared.topics import AREAS, INCIDENTS, PARTNER, REPORTS

SERVICE = "notify"
log = logging.getLogger(__name__)


def real_channels(settings: NotifySettings) -> dict[str, Channel]:
    available: dict[str, Channel] = {"log": LogChannel()}
    if "email" in settings.channels:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        available["email"] = SmtpChannel(SmtpConfig(
            host=settings.smtp_host, port=settings.smtp_port, security=settings.smtp_security,
            username=settings.smtp_username, password=password, sender=settings.smtp_sender,
            ca_file=settings.smtp_ca_file, timeout=settings.smtp_timeout))
    if "sms" in settings.channels:
        token = settings.sms_gateway_token.get_secret_value() if settings.sms_gateway_token else None
        available["sms"] = SmsChannel(SmsGatewayConfig(url=settings.sms_gateway_url, token=token,
                                                       sender=settings.sms_sender, max_parts=settings.sms_max_parts))
    if "webhook" in settings.channels:
        available["webhook"] = WebhookChannel()
    return available


class Notify(ServiceCore):
    def __init__(self, vigil: VigilSettings, settings: NotifySettings, clock: Clock,
                 channels: dict[str, Channel] | None = None, directory: Directory | None = None) -> None:
        super().__init__(SERVICE, vigil, settings.database_url, tables.metadata, clock)
        self.settings = settings
        self.staff_access = StaffAccess(vigil)  # staff sign in at triage (ADR 0046)
        self.closers.append(self.staff_access.aclose)
        self.directory = directory or load_directory(settings.directory_file)
        self.channels: dict[str, Channel] = channels if channels is not None else real_channels(settings)
        if "email" not in self.channels and vigil.environment == "production":
            log.warning("email is not enabled (NOTIFY_CHANNELS): alerts will only be logged")
        self.personal = PersonalDataClient.from_settings(vigil)
        self.app = NotifyApp(self.store, clock, self.directory, settings.staff_ui_url,
                             assessment_schedule(settings.cia_due_hours, settings.cia_remind_every_hours,
                                                 settings.cia_review_days),
                             channels=tuple(self.channels))
        self.timers = TimerRunner(self.db, clock, self.app.on_timer, settings.timer_poll_seconds)
        self.add_task("timers", self.timers.run)
        self._add_dispatchers()
        for name, topic, handler in (("incidents", INCIDENTS, self.app.on_incident_event),
                                     ("reports", REPORTS, self.app.on_report_event),
                                     ("areas", AREAS, self.app.on_area_event),
                                     ("partner", PARTNER, self.app.on_partner_event)):
            self.consume(name, [topic], handler).consumer_factory = self._consumer

    def _consumer(self, group: str) -> KafkaConsumer:
        """A consumer that refreshes metadata often: one that subscribed before its topic had partitions (made at
        the same moment by the topics task, or slow to elect leaders) would otherwise wait minutes to see them."""
        return make_consumer(self.vigil.kafka_bootstrap, group, f"vigil-{SERVICE}",
                             metadata_max_age_ms=int(self.settings.consumer_metadata_max_age_seconds * 1000))

    def _add_dispatchers(self) -> None:
        s = self.settings
        retry = Retry(s.max_attempts, s.retry_base_seconds, s.retry_max_seconds, s.send_lease_seconds)
        compose = Composer(self.directory, Templates(), self.personal)
        routes: dict[str, Channel] = {**self.channels, "reporter": ReporterRouter(self.channels)}
        self.dispatchers: dict[str, Dispatcher] = {}
        for name, channel in routes.items():
            dispatcher = Dispatcher(self.db, self.store, self.clock, name, channel, compose, retry, s.dispatch_workers,
                                    still_wanted)
            self.add_task(f"dispatch-{name}", dispatcher.run)
            self.dispatchers[name] = dispatcher
        event.listen(self.db.sessions, "after_commit", self._wake_after_commit)

    def _wake_after_commit(self, session: Session) -> None:
        for name in session.info.pop(WAKE, ()):
            target = self.timers if name == "timers" else self.dispatchers.get(name)
            if target is not None:
                target.wake()


def build(vigil: VigilSettings | None = None, settings: NotifySettings | None = None,
          clock: Clock | None = None, channels: dict[str, Channel] | None = None,
          directory: Directory | None = None) -> Notify:
    return Notify(vigil or VigilSettings(), settings or NotifySettings(), clock or SystemClock(), channels,
                  directory)


def create_app(notify: Notify | None = None, with_worker: bool = True) -> FastAPI:
    notify = notify or build()
    app = service_app(notify, "Vigil notify", "Receipts, Duty Inspector alerts chased until acknowledged, "
                      "community impact assessment prompts, partner webhooks.", [router], with_worker)
    app.state.notify = notify
    app.state.staff_access = notify.staff_access
    return app
