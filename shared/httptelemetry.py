"""Every HTTP request's trace context and the OpenTelemetry HTTP server metrics, as plain ASGI middleware.

FastAPI's native telemetry does this too, and more, at a price measured on intake's report route: its
request wrapper, a span, two active-request measurements and a histogram record cost about 200 µs a
request, a third of the application's own work for a report. So (ADR 0028):

- metrics are recorded here: `http.server.request.duration` (the semantic conventions' histogram, same
  name, unit, buckets and attributes) once per request, and `http.server.active_requests` as an
  observable up-down counter read at collection time, instead of two measurements per request;
- the server span stays FastAPI's while spans are recorded (an exporter is configured, ADR 0017). While
  none is, FastAPI's tracing is off and this middleware gives each request the context FastAPI's
  unrecorded span gave it: a span context with fresh ids from the SDK (continuing an incoming
  `traceparent`), so logs, events and Kafka headers still carry the request's trace id.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from time import perf_counter
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.trace import SpanKind

from shared.edge import ASGIApp, Message, Receive, Scope, Send
from shared.metrics import meter
from shared.telemetry import context_from, tracer

# The semantic conventions' advisory buckets for http.server.request.duration (FastAPI's too).
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
KNOWN_METHODS = frozenset({"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"})


class _Instruments:
    """One set per process, however many apps it builds (tests build many): the SDK keeps the first
    instrument of a name, and would drop a second one's callback."""

    def __init__(self) -> None:
        m = meter()
        self.duration = m.create_histogram("http.server.request.duration", unit="s",
                                           description="Duration of HTTP server requests.",
                                           explicit_bucket_boundaries_advisory=DURATION_BUCKETS)
        self.active: Counter[tuple[str, str]] = Counter()
        m.create_observable_up_down_counter("http.server.active_requests", callbacks=[self._observe_active],
                                            unit="{request}", description="Number of active HTTP server requests.")
        self.attributes: dict[tuple[Any, ...], dict[str, Any]] = {}

    def _observe_active(self, _options: CallbackOptions) -> Iterable[Observation]:
        for (method, scheme), n in list(self.active.items()):
            yield Observation(n, {"http.request.method": method, "url.scheme": scheme})


_instruments: _Instruments | None = None


def instruments() -> _Instruments:
    global _instruments
    if _instruments is None:
        _instruments = _Instruments()
    return _instruments


class HttpTelemetry:
    """Outermost middleware of every service. `trace_context`: give each request its (unrecorded) span
    context here, because FastAPI's own tracing is off."""

    def __init__(self, app: ASGIApp, trace_context: bool) -> None:
        self.app = app
        self.trace_context = trace_context
        self.tracer = tracer()
        i = instruments()
        self.duration, self.active, self._attributes = i.duration, i.active, i.attributes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"] if scope["method"] in KNOWN_METHODS else "_OTHER"
        active = (method, scope.get("scheme", "http"))
        self.active[active] += 1
        started = perf_counter()
        status: int | None = None
        recorded = False

        def record(error: str | None = None) -> None:
            nonlocal recorded
            recorded = True
            self.active[active] -= 1
            route = getattr(scope.get("route"), "path_format", None)
            self.duration.record(perf_counter() - started,
                                 self._attributes_of(active, scope.get("http_version"), route, status, error))

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                record()

        token = otel_context.attach(self._context(scope)) if self.trace_context else None
        try:
            await self.app(scope, receive, sending)
        except BaseException as e:
            if not recorded:
                status = status or 500  # Starlette's ServerErrorMiddleware answers 500
                record(type(e).__qualname__)
            raise
        finally:
            if not recorded:
                record("incomplete_response" if status is None else None)
            if token is not None:
                otel_context.detach(token)

    def _context(self, scope: Scope) -> otel_context.Context:
        """An unrecorded server span's context: the SDK's sampler and ids, the caller's trace if it sent one."""
        parent = state = None
        for name, value in scope["headers"]:  # one pass for both headers of the W3C trace context
            if name == b"traceparent":
                parent = value.decode("latin-1")
            elif name == b"tracestate":
                state = value.decode("latin-1")
        caller = context_from(parent, state) if parent else None  # None: a new trace, from the current context
        return trace.set_span_in_context(self.tracer.start_span("HTTP", context=caller, kind=SpanKind.SERVER), caller)

    def _attributes_of(self, active: tuple[str, str], version: str | None, route: str | None, status: int | None,
                       error: str | None) -> dict[str, Any]:
        """The measurement's attributes, built once per distinct combination (there are few)."""
        key = (active, version, route, status, error)
        attributes = self._attributes.get(key)
        if attributes is None:
            attributes = {"http.request.method": active[0], "url.scheme": active[1]}
            if version:
                attributes["network.protocol.version"] = version
            if route:
                attributes["http.route"] = route
            if status is not None:
                attributes["http.response.status_code"] = status
            if error or (status is not None and status >= 500):
                attributes["error.type"] = error or str(status)
            if len(self._attributes) < 10_000:  # bounded, whatever clients send
                self._attributes[key] = attributes
        return attributes
