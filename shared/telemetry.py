"""OpenTelemetry set-up and the W3C trace context carried through the outbox and Kafka headers."""

from __future__ import annotations

from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Decision, ParentBased, Sampler, SamplingResult
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_propagator = TraceContextTextMapPropagator()
_configured = False


class RecordWhenExported(Sampler):
    """Spans are recorded only once something exports them (ADR 0017); trace ids propagate either way.

    With no exporter configured, a recorded span is built, filled and thrown away: on intake's hot
    path that was measurable CPU for nothing. Unrecorded spans still carry the trace id from the
    HTTP request through the outbox and Kafka headers to every consumer.
    """

    def __init__(self) -> None:
        self.exporting = False
        self._recording = ParentBased(ALWAYS_ON)

    def should_sample(self, parent_context: Any, trace_id: int, name: str, kind: Any = None,
                      attributes: Any = None, links: Any = None, trace_state: Any = None) -> SamplingResult:
        if self.exporting:
            return self._recording.should_sample(parent_context, trace_id, name, kind, attributes, links,
                                                 trace_state)
        parent = trace.get_current_span(parent_context).get_span_context()
        return SamplingResult(Decision.DROP, None, parent.trace_state if parent.is_valid else None)

    def get_description(self) -> str:
        return f"RecordWhenExported(exporting={self.exporting})"


_sampler = RecordWhenExported()


def setup_telemetry(service_name: str, exporter: str = "none", extra: SpanExporter | None = None) -> None:
    """Install the tracer provider once per process; later calls only add exporters."""
    global _configured
    provider = trace.get_tracer_provider()
    if not _configured:
        provider = TracerProvider(resource=Resource.create({"service.name": service_name,
                                                            "service.namespace": "vigil"}), sampler=_sampler)
        trace.set_tracer_provider(provider)
        _configured = True
        if exporter == "console":
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
            _sampler.exporting = True
        elif exporter == "otlp":
            # OTLP over HTTP to a collector; where and how, from OpenTelemetry's standard variables
            # (OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4318; _HEADERS, _TIMEOUT ...).
            # Batched on a thread of the SDK's, so a request never waits for the collector.
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
            _sampler.exporting = True
    if extra is not None and isinstance(provider, TracerProvider):
        provider.add_span_processor(SimpleSpanProcessor(extra))
        _sampler.exporting = True


def tracing_recorded() -> bool:
    """Whether spans are recorded (an exporter is configured); if not, hot loops may skip making them."""
    return _sampler.exporting


def tracer() -> trace.Tracer:
    return trace.get_tracer("vigil")


def current_traceparent() -> tuple[str | None, str | None]:
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent"), carrier.get("tracestate") or None


def context_from(traceparent: str | None, tracestate: str | None = None) -> otel_context.Context:
    carrier = {k: v for k, v in (("traceparent", traceparent), ("tracestate", tracestate)) if v}
    return _propagator.extract(carrier)

