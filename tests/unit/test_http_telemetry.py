"""The HTTP server metrics and trace context every service gets from shared.httptelemetry (ADR 0028)."""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry import trace
from prometheus_client import REGISTRY
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from shared.httptelemetry import HttpTelemetry
from shared.metrics import setup_metrics
from shared.telemetry import setup_telemetry


def samples(name: str, **labels: str) -> dict[str, float]:
    """The current value of each sample of `name` whose labels include `labels`, by sample name."""
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(generate_latest(REGISTRY).decode()):
        for s in family.samples:
            if s.name.startswith(name) and all(s.labels.get(k) == v for k, v in labels.items()):
                found[s.name] = found.get(s.name, 0.0) + s.value
    return found


@pytest.fixture()
def app_and_prefix() -> tuple[FastAPI, str]:
    setup_telemetry("vigil-test")
    setup_metrics("vigil-test")
    prefix = f"/t{uuid.uuid4().hex[:8]}"  # routes of this test only, whatever other tests recorded
    app = FastAPI(telemetry={"logs": False, "operation_spans": False, "metrics": False, "tracing": False})
    app.add_middleware(HttpTelemetry, trace_context=True)
    seen: dict[str, str] = {}

    @app.get(prefix + "/items/{item}")
    def item(item: str) -> dict[str, str]:
        context = trace.get_current_span().get_span_context()
        seen["trace_id"] = format(context.trace_id, "032x")
        return {"item": item, "trace_id": seen["trace_id"]}

    @app.get(prefix + "/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    app.state.seen = seen
    return app, prefix


def test_each_request_is_counted_under_its_route_template_and_status(app_and_prefix: tuple[FastAPI, str]) -> None:
    app, prefix = app_and_prefix
    with TestClient(app, raise_server_exceptions=False) as client:
        for i in range(3):
            assert client.get(f"{prefix}/items/{i}").status_code == 200
        assert client.get(f"{prefix}/boom").status_code == 500
    ok = samples("http_server_request_duration_seconds", http_route=f"{prefix}/items/{{item}}",
                 http_response_status_code="200", http_request_method="GET")
    assert ok["http_server_request_duration_seconds_count"] == 3
    failed = samples("http_server_request_duration_seconds", http_route=f"{prefix}/boom",
                     http_response_status_code="500")
    assert failed["http_server_request_duration_seconds_count"] == 1
    errors = samples("http_server_request_duration_seconds_count", http_route=f"{prefix}/boom",
                     error_type="RuntimeError")
    assert errors == {"http_server_request_duration_seconds_count": 1.0}
    # nothing left counted as active once every answer is out
    assert samples("http_server_active_requests", http_request_method="GET")["http_server_active_requests"] == 0


def test_a_request_continues_the_callers_trace_or_starts_its_own(app_and_prefix: tuple[FastAPI, str]) -> None:
    app, prefix = app_and_prefix
    caller = "0af7651916cd43dd8448eb211c80319c"
    with TestClient(app) as client:
        continued = client.get(f"{prefix}/items/a", headers={"traceparent": f"00-{caller}-b7ad6b7169203331-01"})
        fresh = [client.get(f"{prefix}/items/b").json()["trace_id"] for _ in range(2)]
    assert continued.json()["trace_id"] == caller
    assert all(t != "0" * 32 for t in fresh) and fresh[0] != fresh[1] and caller not in fresh
