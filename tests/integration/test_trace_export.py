"""With VIGIL_OTEL_EXPORTER=otlp a service sends its spans to a collector over OTLP/HTTP.

The collector is a real HTTP server decoding what arrives with OpenTelemetry's own protobuf messages;
intake runs as a real process on a real broker.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from shared.migrate import upgrade
from shared.settings import VigilSettings
from tests.factories import report_body
from tests.support.http_receiver import Receiver, http_receiver
from tests.support.services import ServiceProcess
from tests.support.waiting import eventually

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def spans_by_service(collector: Receiver) -> dict[str, list[tuple[str, str]]]:
    """(span name, trace id) by service.name, from every OTLP export the collector received."""
    found: dict[str, list[tuple[str, str]]] = {}
    for request in collector.all():
        if request.path != "/v1/traces":
            continue
        message = ExportTraceServiceRequest.FromString(request.body)
        for resource_spans in message.resource_spans:
            service = next(a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name")
            for scope in resource_spans.scope_spans:
                found.setdefault(service, []).extend((s.name, s.trace_id.hex()) for s in scope.spans)
    return found


def test_with_otlp_configured_a_reports_spans_reach_the_collector_in_the_callers_trace(
        vigil_settings: VigilSettings, tmp_path: Path, logdir: Path) -> None:
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    upgrade("intake", url)
    with http_receiver(path="") as collector:
        env = {"VIGIL_ENVIRONMENT": "test", "VIGIL_KAFKA_BOOTSTRAP": vigil_settings.kafka_bootstrap,
               "VIGIL_TOPIC_PREFIX": vigil_settings.topic_prefix, "INTAKE_DATABASE_URL": url,
               "VIGIL_OTEL_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
               "OTEL_BSP_SCHEDULE_DELAY": "200"}
        intake = ServiceProcess("intake", env, logdir).start()
        try:
            answer = httpx.post(f"{intake.url}/v1/reports", json=report_body(), timeout=10,
                                headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"})
            assert answer.status_code == 202, answer.text

            def exported() -> list[str]:
                spans = spans_by_service(collector).get("vigil-intake", [])
                names = [name for name, trace in spans if trace == TRACE_ID]
                return names if any(n.startswith("send ") for n in names) else []

            names = eventually(exported, 30, "the request's and the relay's spans at the collector")
        finally:
            intake.stop()
    assert "POST /v1/reports" in names, names
    assert f"send {vigil_settings.topic_prefix}vigil.reports.v1" in names, "the outbox relay's producer span"
