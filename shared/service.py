"""What every service's composition root shares: the topics task and the common HTTP set-up.

Every service answers /healthz (the process answers) and /readyz (it can do its work: shared.health), and
exposes at /metrics how far its outbox and timers have fallen behind, read from its database, so any of its
processes tells the watchdog what its worker is failing to do.

The HTTP set-up includes the pages' ground floor (shared.web): the design system under /assets, HTML
error pages for browsers, a Content-Security-Policy on every HTML answer, and /docs from Vigil's own
Swagger UI in development only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Response
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from opentelemetry.sdk.metrics import MetricsTimeoutError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import MetaData, func, select
from sqlalchemy.orm import Session
from starlette.middleware import Middleware

from shared.clock import Clock
from shared.db import Database
from shared.edge import Edge, Headers
from shared.eventstore import EventStore
from shared.health import BrokerProbe, Readiness
from shared.httptelemetry import HttpTelemetry
from shared.inbox import EventConsumer, Handler
from shared.metrics import register_outbox_backlog, register_timer_lateness, setup_metrics
from shared.outbox import OutboxRelay
from shared.problems import PROBLEM, install_problem_handlers
from shared.runtime import Runner, Task
from shared.settings import VigilSettings
from shared.telemetry import tracing_recorded
from shared.web.assets import mount_design_system
from shared.web.docs import mount_api_docs
from shared.web.errors import ErrorPages
from shared.web.policy import HtmlPolicy, page_policy
from shared.wiring import KafkaWiring

log = logging.getLogger(__name__)


def topics_task(wiring: KafkaWiring, ready: threading.Event | None = None) -> Callable[[threading.Event], None]:
    """Create the topics once Kafka answers; until then the service keeps working on its own database."""

    def run(stop: threading.Event) -> None:
        backoff = 0.5
        while not stop.is_set():
            try:
                wiring.ensure_topics()
                if ready is not None:
                    ready.set()
                return
            except Exception as e:
                log.warning("cannot create topics yet; Kafka unreachable?", extra={"error": repr(e)})
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)

    return run


def common_http(app: FastAPI, service: str, edge_extra: Callable[[str], Headers] | None = None,
                inner: Sequence[Middleware] = (), error_pages: ErrorPages | None = None,
                https_only: bool = False) -> None:
    """Problem handlers (HTML error pages for browsers), /healthz, /metrics, the design system's assets,
    one Edge (so even an inner middleware's answer, a 413 say, carries the security headers) with `inner`
    middleware inside it, the pages' CSP around it (a service's own, from Edge or a route, wins), and
    the HTTP telemetry outermost."""
    pages = error_pages or ErrorPages()
    install_problem_handlers(app, pages)
    mount_design_system(app)
    for middleware in inner:
        app.add_middleware(middleware.cls, *middleware.args, **middleware.kwargs)
    app.add_middleware(Edge, extra=edge_extra, https_only=https_only)
    app.add_middleware(HtmlPolicy, policy=page_policy(pages.site.form_origins()))
    app.add_middleware(HttpTelemetry, trace_context=not tracing_recorded())

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok", "service": service})

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        try:
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
        except MetricsTimeoutError:  # a gauge's database read waited too long: the scraper tries again
            return JSONResponse({"type": "about:blank", "title": "Service unavailable", "status": 503,
                                 "detail": "a metric could not be read in time"}, status_code=503, media_type=PROBLEM)


def after(ready: threading.Event, task: Task) -> Task:
    """Start `task` once `ready` is set. A consumer that joins its group before its topics exist is assigned
    nothing and, with kafka-python, stays so until the next metadata refresh (metadata_max_age_ms: 5 minutes)."""

    def run(stop: threading.Event) -> None:
        while not stop.is_set():
            if ready.wait(0.2):
                task(stop)
                return

    return run


class ServiceCore:
    """What every service has: its database, Kafka wiring, event store, outbox relay and consumers."""

    def __init__(self, name: str, vigil: VigilSettings, database_url: str, metadata: MetaData,
                 clock: Clock) -> None:
        vigil.check_secrets(name)
        self.name = name
        self.vigil = vigil
        self.clock = clock
        self.metadata = metadata
        self.db = Database(database_url)
        self.kafka = KafkaWiring(vigil, client_id=f"vigil-{name}")
        self.store = EventStore(metadata, source=f"/vigil/{name}", clock=clock)
        self.relay = OutboxRelay(self.db, metadata, self.kafka.names, self.kafka.producer, name=name, clock=clock,
                                 gather=vigil.outbox_gather_ms / 1000)
        self.consumers: list[EventConsumer] = []
        self.tasks: list[tuple[str, Task]] = []
        self.closers: list[Callable[[], Awaitable[None]]] = []  # awaited when the HTTP app shuts down
        register_outbox_backlog(name, self.outbox_backlog)

    def consume(self, name: str, topics: list[str], handler: Handler) -> EventConsumer:
        consumer = EventConsumer(f"{self.name}-{name}", self.db, self.metadata, self.kafka.names, topics,
                                 handler, self.kafka.consumer, self.kafka.producer, clock=self.clock)
        self.consumers.append(consumer)
        return consumer

    def add_task(self, name: str, task: Task) -> None:
        self.tasks.append((name, task))

    def outbox_backlog(self) -> int:
        """Events appended but not yet published (vigil.outbox.backlog)."""
        log_table = self.metadata.tables["event_log"]
        with self.db.sessions() as s:
            last = s.execute(select(func.max(log_table.c.seq))).scalar() or 0
        return max(0, int(last) - self.relay.position())

    def watch_timers(self, name: str, oldest_due: Callable[[Session, datetime], datetime | None]) -> None:
        """Expose how late the oldest due, unfired timer is (vigil.timers.overdue), whichever process fires them."""

        def lateness() -> float:
            now = self.clock.now()
            with self.db.sessions() as s:
                due = oldest_due(s, now)
            return max(0.0, (now - due).total_seconds()) if due is not None else 0.0

        register_timer_lateness(f"{self.name}-{name}", lateness)

    def runner(self) -> Runner:
        runner = Runner()
        topics_ready = threading.Event()
        runner.add(f"{self.name}-topics", topics_task(self.kafka, topics_ready))
        runner.add(f"{self.name}-relay", self.relay.run)
        for consumer in self.consumers:
            runner.add(consumer.name, after(topics_ready, consumer.run))
        for name, task in self.tasks:
            runner.add(f"{self.name}-{name}", task)
        return runner


def service_app(core: ServiceCore, title: str, description: str, routers: list[APIRouter],
                with_worker: bool, edge_extra: Callable[[str], Headers] | None = None,
                inner: Sequence[Middleware] = (), error_pages: ErrorPages | None = None) -> FastAPI:
    """A service's FastAPI app; with_worker runs its relay, consumers and timers in the same process.

    `error_pages` are the HTML error pages browsers get (a public service passes
    `ErrorPages(public=True, quick_exit_url=...)`).
    """

    broker = BrokerProbe(core.vigil.kafka_bootstrap, f"vigil-{core.name}-readiness")

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        runner = core.runner().start() if with_worker else None
        yield
        for close in core.closers:
            await close()
        if runner:
            runner.shutdown()
        broker.close()
        core.db.dispose()

    setup_metrics(f"vigil-{core.name}")
    app = http_app(core.name, title, description, core.vigil, lifespan=lifespan, edge_extra=edge_extra,
                   inner=inner, error_pages=error_pages)
    readiness = Readiness(core.name, core.db, broker, core.kafka.names, core.consumers, with_worker)
    app.add_api_route("/readyz", readiness.answer, methods=["GET"], include_in_schema=False)
    for router in routers:
        app.include_router(router)
    return app


def http_app(name: str, title: str, description: str, vigil: VigilSettings,
             lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
             edge_extra: Callable[[str], Headers] | None = None, inner: Sequence[Middleware] = (),
             error_pages: ErrorPages | None = None) -> FastAPI:
    """The HTTP side of a service, without its database or Kafka: common_http, and /docs (Vigil's own
    Swagger UI) in development only, FastAPI's CDN-loaded pages never."""
    # FastAPI's native telemetry only for the HTTP server span, and only while spans are recorded: the
    # trace context and the HTTP metrics are otherwise shared.httptelemetry's, at a fraction of the cost
    # (ADR 0028). Not its OpenTelemetry logs (Vigil logs JSON to stdout) nor its per-operation spans.
    app = FastAPI(title=title, version="1.0.0", description=description, lifespan=lifespan,
                  docs_url=None, redoc_url=None,
                  telemetry={"logs": False, "operation_spans": False, "metrics": False,
                             "tracing": tracing_recorded()})
    common_http(app, name, edge_extra, inner, error_pages, https_only=vigil.https_only)
    app.openapi = lambda: problem_openapi(app)  # type: ignore[method-assign]
    if vigil.environment == "development":
        mount_api_docs(app, title)
    return app


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object", "title": "Problem", "required": ["title", "status", "detail"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "pointer": {"type": "string"},
            "message": {"type": "string"}, "code": {"type": "string"}}}}},
}


def problem_openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document with every error answer documented as problem+json, which is what every service's
    handlers send (`shared/problems.py`), 422 included; and 404 on every path that names something (an unknown
    id, or one the caller may not know of, answers as an unknown one)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for item in schema.get("paths", {}).values():
        for op in item.values():
            if any(p.get("in") == "path" for p in op.get("parameters", [])):
                op.setdefault("responses", {}).setdefault("404", {"description": (
                    "no such thing at this path, or one outside the caller's areas (told apart from nothing)")})
            for code, response in op.get("responses", {}).items():
                if code.isdigit() and int(code) >= 400:
                    response["content"] = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    app.openapi_schema = schema
    return schema
