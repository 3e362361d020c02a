"""OpenTelemetry set-up and the W3C trace context carried through the outbox and Kafka headers."""

from __future__ import annotations

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_propagator = TraceContextTextMapPropagator()
_configured = False


def setup_telemetry(service_name: str, exporter: str = "none", extra: SpanExporter | None = None) -> None:
    """Install the tracer provider once per process; later calls only add exporters."""
    global _configured
    provider = trace.get_tracer_provider()
    if not _configured:
        provider = TracerProvider(resource=Resource.create({"service.name": service_name,
                                                            "service.namespace": "vigil"}))
        trace.set_tracer_provider(provider)
        _configured = True
        if exporter == "console":
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    if extra is not None and isinstance(provider, TracerProvider):
        provider.add_span_processor(SimpleSpanProcessor(extra))


def tracer() -> trace.Tracer:
    return trace.get_tracer("vigil")


def current_traceparent() -> tuple[str | None, str | None]:
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent"), carrier.get("tracestate") or None


def context_from(traceparent: str | None, tracestate: str | None = None) -> otel_context.Context:
    carrier = {k: v for k, v in (("traceparent", traceparent), ("tracestate", tracestate)) if v}
    return _propagator.extract(carrier)


def inject_headers(headers: list[tuple[str, bytes]]) -> None:
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    headers.extend((k, v.encode()) for k, v in carrier.items())
