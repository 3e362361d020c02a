"""A report's trace starts at the HTTP request and continues through the outbox into Kafka headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from services.intake.main import build, create_app
from services.intake.settings import IntakeSettings
from shared.migrate import upgrade
from shared.settings import VigilSettings
from shared.telemetry import setup_telemetry
from tests.factories import report_body


class Sent:
    def get(self, timeout: float | None = None) -> None:
        return None


class Recorder:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, topic: str, **kwargs: Any) -> Sent:
        self.sent.append(kwargs)
        return Sent()

    def flush(self, timeout: float | None = None) -> None:
        pass

    def close(self, timeout: float | None = None) -> None:
        pass


def test_the_kafka_send_continues_the_http_request_trace(tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    setup_telemetry("vigil-test", extra=exporter)
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    upgrade("intake", url)
    intake = build(vigil=VigilSettings(environment="test"), settings=IntakeSettings(database_url=url))
    recorder = Recorder()
    intake.relay.producer_factory = lambda: recorder  # type: ignore[assignment,return-value]
    with TestClient(create_app(intake, with_worker=False)) as client:
        assert client.post("/v1/reports", json=report_body()).status_code == 202
    assert intake.relay.publish_pending() == 1

    spans = exporter.get_finished_spans()
    server = next(s for s in spans if s.kind == SpanKind.SERVER and "/v1/reports" in s.name)
    send = next(s for s in spans if s.kind == SpanKind.PRODUCER)
    assert send.name == "send vigil.reports.v1"
    assert send.attributes and send.attributes["messaging.system"] == "kafka"
    assert send.context.trace_id == server.context.trace_id
    request_spans = {s.context.span_id for s in spans
                     if s is server or (s.parent is not None and s.parent.span_id == server.context.span_id)}
    assert send.parent is not None and send.parent.span_id in request_spans, "send is not inside the request"
    traceparent = dict(recorder.sent[0]["headers"])["traceparent"].decode()
    assert traceparent.startswith(f"00-{send.context.trace_id:032x}-{send.context.span_id:016x}-")
