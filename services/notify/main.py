"""Notify's composition root: channels, directory, templates, the features, their consumers, the dispatchers
and the timer task. The features are wired here and nowhere else; the HTTP face reaches them through deps.py."""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import FastAPI
from kafka import KafkaConsumer
from sqlalchemy import event
from sqlalchemy.orm import Session

from services.notify import tables
from services.notify.api import router
from services.notify.area_cia.chase import AreaCiaActions
from services.notify.assessments.model import AssessmentSchedule
from services.notify.assessments.service import AssessmentService
from services.notify.assessments.store import AssessmentStore
from services.notify.channels import (
    Channel,
    LogChannel,
    ReporterRouter,
    SmsChannel,
    SmsGatewayConfig,
    SmtpChannel,
    SmtpConfig,
    WebhookChannel,
)
from services.notify.chase.rota import RotaService, RotaStore
from services.notify.chase.service import ChaseService
from services.notify.chase.store import ChaseStore
from services.notify.deps import STATE, NotifyServices, Pages
from services.notify.dispatch import Dispatcher, Retry
from services.notify.ledger import LedgerService
from services.notify.links import PagerAnswers, install_pager_links
from services.notify.messages import Templates
from services.notify.neighbourhood import NeighbourhoodOfficers
from services.notify.pages.routes import TEMPLATES as PAGE_TEMPLATES
from services.notify.pages.routes import router as pages_router
from services.notify.partners.service import PartnerService
from services.notify.policy import Directory, load_directory
from services.notify.rendering import MessageRenderer
from services.notify.reporters.referrals import Referrals
from services.notify.reporters.service import ReporterService
from services.notify.reporters.store import ReporterStore
from services.notify.settings import NotifySettings
from services.notify.sites.pages import install_site_pages
from services.notify.sites.record import NAMESPACE as SITE_LINKS
from services.notify.sites.record import AssessmentClient, SiteRecordLinks
from services.notify.sites.reminders import SiteRoutines
from services.notify.staff import StaffContacts
from services.notify.staff_directory import StaffDirectory, TriageAccounts
from services.notify.tasking.morning import TaskingMessages
from services.notify.tasking.pages import install_visit_pages
from services.notify.tasking.visits import NAMESPACE as VISIT_LINKS
from services.notify.tasking.visits import VisitLinks
from services.notify.tension_alerts import TensionAlerts
from services.notify.timers import TimerRunner, by_kind, oldest_due
from services.notify.wakeups import TIMERS, woken
from shared.areas import default_registry
from shared.clock import Clock, SystemClock
from shared.events.areas import AreaTensionRaised
from shared.events.base import Envelope
from shared.events.handlers import HandlerTable
from shared.events.incidents import (
    CommunityImpactAssessmentCompleted,
    CommunityImpactAssessmentRequested,
    CriteriaOverridden,
    HeightenedTensionDeclared,
    IncidentAcknowledged,
    IncidentClosed,
    IncidentEscalated,
    IncidentTriaged,
)
from shared.kafka import make_consumer
from shared.personal import PersonalDataClient
from shared.service import ServiceCore, service_app
from shared.settings import VigilSettings
from shared.signedlinks import SignedLinks, UsedLinks
from shared.staffaccess import StaffAccess
from shared.topics import AREAS, INCIDENTS, PARTNER, REPORTS, SITES
from shared.web.errors import ErrorPages
from shared.web.site import StaffSite
from shared.web.templates import page_templates

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
        self.staff_access = StaffAccess(vigil, "notify")  # staff sign in at triage (ADR 0046)
        self.closers.append(self.staff_access.aclose)
        self.directory = directory or load_directory(settings.directory_file)
        self.channels: dict[str, Channel] = channels if channels is not None else real_channels(settings)
        if "email" not in self.channels and vigil.environment == "production":
            log.warning("email is not enabled (NOTIFY_CHANNELS): alerts will only be logged")
        self.personal = PersonalDataClient.from_settings(vigil, "notify")
        self._add_features()
        kinds = {**self.chase.timers(), **self.assessments.timers(), **self.area_cia.timers()}
        self.timers = TimerRunner(self.db, clock, by_kind(kinds), settings.timer_poll_seconds)
        self.add_task("timers", self.timers.run)
        self.watch_timers("timers", oldest_due)
        self._add_dispatchers()
        self._add_consumers()

    def _add_features(self) -> None:
        s, clock = self.settings, self.clock
        staff = StaffContacts(self.directory, default_registry(), s.staff_ui_url, tuple(self.channels))
        self.staff_accounts = TriageAccounts(self.vigil)  # the rota's people are staff accounts (docs/notify.md)
        self.closers.append(self.staff_accounts.aclose)
        self.staff_directory = StaffDirectory(self.directory, self.staff_accounts)
        self.chases = ChaseStore(clock)
        self.ledger = LedgerService(self.db, self.store, clock)
        self.reporters = ReporterService(ReporterStore(), self.store, clock,
                                         Referrals(self.directory, self.personal, clock, tuple(self.channels)))
        self.rota = RotaService(self.db, RotaStore(), self.store, clock, self.directory)
        self.chase = ChaseService(self.db, self.chases, self.rota, self.store, clock, self.directory, staff,
                                  self.reporters, self.staff_directory)
        schedule = AssessmentSchedule.of(s.cia_due_hours, s.cia_remind_every_hours, s.cia_review_days)
        self.assessments = AssessmentService(self.db, AssessmentStore(), self.chases, clock, self.directory, staff,
                                             schedule)
        self.partners = PartnerService(self.directory, clock)
        self.area_cia = AreaCiaActions(clock, staff, timedelta(hours=s.area_cia_chase_every_hours), self.assessments)
        self._add_sites(staff)
        self._add_tasking(staff)

    def _add_sites(self, staff: StaffContacts) -> None:
        """Places of worship (docs/notify.md): routines reminded to site leads, with a link to record them, and
        escalated to the area's neighbourhood officers when overdue."""
        s, site = self.settings, StaffSite()
        self.site_routines = SiteRoutines(self.clock, staff, self.staff_directory,
                                          NeighbourhoodOfficers(self.directory, self.staff_accounts),
                                          site.assessment_url)
        self.assessment_client = assessment = AssessmentClient(self.vigil)  # the tasking's visit links use it too
        self.closers.append(assessment.aclose)
        links = SignedLinks(s.link_secret.get_secret_value(), SITE_LINKS,
                            SiteRecordLinks.lifetimes(s.site_link_hours), self.clock)
        self.site_links = SiteRecordLinks(self.db, self.clock, links, UsedLinks(tables.used_links), assessment,
                                          self.staff_directory, s.links_url or site.notify_url, site.assessment_url,
                                          s.sms_max_parts)

    def _add_tasking(self, staff: StaffContacts) -> None:
        """Patrols and visits (docs/notify.md): the morning tasking list to an area's neighbourhood officers, with
        a link per task to record the visit."""
        s, site = self.settings, StaffSite()
        self.tasking = TaskingMessages(self.clock, staff, NeighbourhoodOfficers(self.directory, self.staff_accounts))
        links = SignedLinks(s.link_secret.get_secret_value(), VISIT_LINKS, VisitLinks.lifetimes(s.tasking_link_hours),
                            self.clock)
        self.visit_links = VisitLinks(self.db, self.clock, links, UsedLinks(tables.used_links), self.assessment_client,
                                      self.staff_directory, s.links_url or site.notify_url, site.assessment_url)

    def _add_consumers(self) -> None:
        incidents = HandlerTable({
            IncidentTriaged: self._on_triaged,
            CriteriaOverridden: self.chase.on_overridden,
            IncidentAcknowledged: self.chase.on_acknowledged,
            IncidentEscalated: self.chase.on_escalated,
            IncidentClosed: self.chase.on_closed,
            HeightenedTensionDeclared: self.assessments.on_tension_declared,
            CommunityImpactAssessmentRequested: self.assessments.on_requested,
            CommunityImpactAssessmentCompleted: self.assessments.on_completed,
            **self.area_cia.handlers(),
        })
        reports = HandlerTable(self.reporters.handlers())
        areas = HandlerTable({AreaTensionRaised: TensionAlerts(self.assessments, self.staff_accounts).on_raised})
        partner = HandlerTable(self.partners.handlers())
        sites = HandlerTable({**self.site_routines.handlers(), **self.tasking.handlers()})
        for name, topic, table in (("incidents", INCIDENTS, incidents), ("reports", REPORTS, reports),
                                   ("areas", AREAS, areas), ("partner", PARTNER, partner), ("sites", SITES, sites)):
            self.consume(name, [topic], table).consumer_factory = self._consumer

    def _on_triaged(self, s: Session, e: IncidentTriaged, env: Envelope) -> None:
        """The chase first: a critical incident's assessment prompt quotes the chase's reference and priority."""
        chase = self.chase.on_triaged(s, e, env)
        self.assessments.on_triaged(s, e, chase)

    def _consumer(self, group: str) -> KafkaConsumer:
        """A consumer that refreshes metadata often: one that subscribed before its topic had partitions (made at
        the same moment by the topics task, or slow to elect leaders) would otherwise wait minutes to see them."""
        return make_consumer(self.vigil.kafka_bootstrap, group, f"vigil-{SERVICE}",
                             metadata_max_age_ms=int(self.settings.consumer_metadata_max_age_seconds * 1000))

    def _add_dispatchers(self) -> None:
        s = self.settings
        retry = Retry(s.max_attempts, s.retry_base_seconds, s.retry_max_seconds, s.send_lease_seconds)
        self.answers = PagerAnswers.build(self.vigil, s, self.db, self.clock, self.directory, self.chases,
                                          tuple(self.channels), self.closers)
        render = self.visit_links.renderer(self.site_links.renderer(self.reporters.renderer(MessageRenderer(
            self.directory, Templates(), self.personal, self.answers, self.staff_directory))))
        routes: dict[str, Channel] = {**self.channels, "reporter": ReporterRouter(self.channels)}
        self.dispatchers: dict[str, Dispatcher] = {}
        for name, channel in routes.items():
            dispatcher = Dispatcher(self.db, self.store, self.clock, name, channel, render, retry, s.dispatch_workers,
                                    self.chases.alert_still_wanted)
            self.add_task(f"dispatch-{name}", dispatcher.run)
            self.dispatchers[name] = dispatcher
        event.listen(self.db.sessions, "after_commit", self._wake_after_commit)

    def _wake_after_commit(self, session: Session) -> None:
        for name in woken(session):
            target = self.timers if name == TIMERS else self.dispatchers.get(name)
            if target is not None:
                target.wake()

    def services(self, site: StaffSite) -> NotifyServices:
        pages = Pages(self.directory, default_registry(), site, page_templates(PAGE_TEMPLATES, site=site),
                      self.staff_directory)
        return NotifyServices(ledger=self.ledger, chases=self.chase, assessments=self.assessments, rota=self.rota,
                              pages=pages)


def build(vigil: VigilSettings | None = None, settings: NotifySettings | None = None,
          clock: Clock | None = None, channels: dict[str, Channel] | None = None,
          directory: Directory | None = None) -> Notify:
    return Notify(vigil or VigilSettings(), settings or NotifySettings(), clock or SystemClock(), channels,
                  directory)


def create_app(notify: Notify | None = None, with_worker: bool = True) -> FastAPI:
    notify = notify or build()
    site = StaffSite()
    app = service_app(notify, "Vigil notify", "Receipts, Duty Inspector alerts chased until acknowledged, "
                      "community impact assessment prompts, partner webhooks.", [router, pages_router], with_worker,
                      error_pages=ErrorPages(site=site))
    setattr(app.state, STATE, notify.services(site))
    app.state.staff_access = notify.staff_access
    install_pager_links(app, notify.answers, site)
    install_site_pages(app, notify.site_links, site)
    install_visit_pages(app, notify.visit_links, site)
    return app
