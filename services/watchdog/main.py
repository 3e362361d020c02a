"""The watchdog's rounds: look at every service and the broker, decide, page; `vigil watchdog` runs it."""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import timedelta
from types import FrameType

import httpx

from services.assessment.settings import AssessmentSettings
from services.intake.settings import IntakeSettings
from services.notify.settings import NotifySettings
from services.triage.settings import TriageSettings
from services.watchdog.alarms import Alarms, Page
from services.watchdog.pager import Pager, routes
from services.watchdog.probes import GroupProbe, ServiceProbe
from services.watchdog.settings import WatchdogSettings
from shared.clock import Clock, SystemClock
from shared.logs import configure_logging
from shared.settings import VigilSettings

log = logging.getLogger(__name__)
LOCAL_SERVICES = (("intake", IntakeSettings), ("triage", TriageSettings), ("notify", NotifySettings),
                  ("assessment", AssessmentSettings))


def service_urls(settings: WatchdogSettings) -> dict[str, str]:
    if settings.services:
        return dict(settings.services)
    found = {}
    for name, cls in LOCAL_SERVICES:
        service = cls()
        host = "127.0.0.1" if service.host in ("0.0.0.0", "::", "") else service.host  # noqa: S104  (a comparison)
        found[name] = f"http://{host}:{service.port}"
    return found


class Watchdog:
    def __init__(self, settings: WatchdogSettings, probes: list[ServiceProbe], groups: GroupProbe, pager: Pager,
                 clock: Clock) -> None:
        self.settings = settings
        self.probes = probes
        self.groups = groups
        self.pager = pager
        self.clock = clock
        self.alarms = Alarms(grace=timedelta(seconds=settings.grace_seconds))

    def round(self) -> list[Page]:
        now = self.clock.now()
        findings = [f for probe in self.probes for f in probe.findings(now.timestamp())]
        findings += self.groups.findings({probe.name: probe.groups for probe in self.probes})
        pages = self.alarms.observe(findings, now)
        self.pager.send(pages)
        return pages

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            began = time.monotonic()
            try:
                self.round()
            except Exception:  # one bad round must not end the watching
                log.exception("watchdog round failed")
            stop.wait(max(0.0, self.settings.interval_seconds - (time.monotonic() - began)))
        self.groups.close()


def build(settings: WatchdogSettings, vigil: VigilSettings, notify: NotifySettings,
          clock: Clock | None = None) -> Watchdog:
    http = httpx.Client(timeout=settings.request_timeout_seconds)
    probes = [ServiceProbe(name, url, settings, http) for name, url in service_urls(settings).items()]
    groups = GroupProbe(vigil.kafka_bootstrap, settings.max_consumer_lag)
    return Watchdog(settings, probes, groups, Pager(routes(settings, notify)), clock or SystemClock())


def run_watchdog() -> int:
    vigil = VigilSettings()
    configure_logging("watchdog", vigil.log_level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per probe would bury the pages
    settings = WatchdogSettings()
    watchdog = build(settings, vigil, NotifySettings())
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping", extra={"signal": signum})
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("watchdog started", extra={"services": {p.name: p.url for p in watchdog.probes},
                                        "paging": [channel.name for channel, _ in watchdog.pager.routes] or ["log"],
                                        "grace_seconds": settings.grace_seconds})
    watchdog.run(stop)
    return 0
