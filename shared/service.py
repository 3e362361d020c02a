"""What every service's composition root shares: the topics task and the common HTTP set-up."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import MetaData

from shared.clock import Clock
from shared.db import Database
from shared.eventstore import EventStore
from shared.inbox import EventConsumer, Handler
from shared.metrics import setup_metrics
from shared.outbox import OutboxRelay
from shared.problems import install_problem_handlers
from shared.runtime import Runner, Task
from shared.settings import VigilSettings
from shared.wiring import KafkaWiring

log = logging.getLogger(__name__)


def topics_task(wiring: KafkaWiring) -> Callable[[threading.Event], None]:
    """Create the topics once Kafka answers; until then the service keeps working on its own database."""

    def run(stop: threading.Event) -> None:
        backoff = 0.5
        while not stop.is_set():
            try:
                wiring.ensure_topics()
                return
            except Exception as e:
                log.warning("cannot create topics yet; Kafka unreachable?", extra={"error": repr(e)})
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)

    return run


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def common_http(app: FastAPI, service: str) -> None:
    install_problem_handlers(app)

    @app.middleware("http")
    async def _security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok", "service": service})

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class ServiceCore:
    """What every service has: its database, Kafka wiring, event store, outbox relay and consumers."""

    def __init__(self, name: str, vigil: VigilSettings, database_url: str, metadata: MetaData,
                 clock: Clock) -> None:
        self.name = name
        self.vigil = vigil
        self.clock = clock
        self.metadata = metadata
        self.db = Database(database_url)
        self.kafka = KafkaWiring(vigil, client_id=f"vigil-{name}")
        self.store = EventStore(metadata, source=f"/vigil/{name}", clock=clock)
        self.relay = OutboxRelay(self.db, metadata, self.kafka.names, self.kafka.producer, name=name, clock=clock)
        self.consumers: list[EventConsumer] = []
        self.tasks: list[tuple[str, Task]] = []

    def consume(self, name: str, topics: list[str], handler: Handler) -> EventConsumer:
        consumer = EventConsumer(f"{self.name}-{name}", self.db, self.metadata, self.kafka.names, topics,
                                 handler, self.kafka.consumer, self.kafka.producer, clock=self.clock)
        self.consumers.append(consumer)
        return consumer

    def add_task(self, name: str, task: Task) -> None:
        self.tasks.append((name, task))

    def runner(self) -> Runner:
        runner = Runner()
        runner.add(f"{self.name}-topics", topics_task(self.kafka))
        runner.add(f"{self.name}-relay", self.relay.run)
        for consumer in self.consumers:
            runner.add(consumer.name, consumer.run)
        for name, task in self.tasks:
            runner.add(f"{self.name}-{name}", task)
        return runner


def service_app(core: ServiceCore, title: str, description: str, routers: list[APIRouter],
                with_worker: bool) -> FastAPI:
    """A service's FastAPI app; with_worker runs its relay, consumers and timers in the same process."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        runner = core.runner().start() if with_worker else None
        yield
        if runner:
            runner.shutdown()
        core.db.dispose()

    setup_metrics(f"vigil-{core.name}")
    app = FastAPI(title=title, version="1.0.0", description=description, lifespan=lifespan)
    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz")
    common_http(app, core.name)
    for router in routers:
        app.include_router(router)
    return app
