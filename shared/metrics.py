"""Metrics through OpenTelemetry, exposed for Prometheus at /metrics. Labels never carry personal data."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from opentelemetry import metrics
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, MeterProvider
from opentelemetry.sdk.resources import Resource

_lock = threading.Lock()
_configured = False
_lag_sources: list[Callable[[], dict[tuple[str, str, int], int]]] = []


def setup_metrics(service_name: str) -> None:
    global _configured
    with _lock:
        if _configured:
            return
        # Exemplars off: the Prometheus exporter does not carry them, yet by default every measurement
        # (three per HTTP request) is offered to the exemplar reservoir first.
        provider = MeterProvider(resource=Resource.create({"service.name": service_name}),
                                 metric_readers=[PrometheusMetricReader()], exemplar_filter=AlwaysOffExemplarFilter())
        metrics.set_meter_provider(provider)
        _configured = True
    meter().create_observable_gauge("vigil.consumer.lag", callbacks=[_observe_lag], unit="{message}",
                                    description="records behind the end of each partition, per consumer")


def meter() -> metrics.Meter:
    return metrics.get_meter("vigil")


def register_lag_source(source: Callable[[], dict[tuple[str, str, int], int]]) -> None:
    _lag_sources.append(source)


def _observe_lag(_options: CallbackOptions) -> Iterable[Observation]:
    for source in list(_lag_sources):
        for (consumer, topic, partition), lag in source().items():
            yield Observation(lag, {"consumer": consumer, "topic": topic, "partition": partition})


class Counters:
    """The counters every service shares; created lazily so the provider is set first."""

    def __init__(self) -> None:
        m = meter()
        self.published = m.create_counter("vigil.outbox.published", unit="{event}",
                                          description="events the outbox relay put on Kafka")
        self.processed = m.create_counter("vigil.events.processed", unit="{event}",
                                          description="events applied by a consumer (redeliveries excluded)")
        self.dead_lettered = m.create_counter("vigil.events.dead_lettered", unit="{event}",
                                              description="events sent to a dead-letter topic")


_counters: Counters | None = None


def counters() -> Counters:
    global _counters
    if _counters is None:
        _counters = Counters()
    return _counters
