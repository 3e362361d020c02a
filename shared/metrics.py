"""Metrics through OpenTelemetry, exposed for Prometheus at /metrics. Labels never carry personal data."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping

from opentelemetry import metrics
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, MeterProvider
from opentelemetry.sdk.resources import Resource

log = logging.getLogger(__name__)
_lock = threading.Lock()
_configured = False
_lag_sources: list[Callable[[], dict[tuple[str, str, int], int]]] = []
# Read from the database at scrape time, so any process of a service (the HTTP face too) tells how far its
# background work has fallen behind, even when the process doing that work is gone. One source per name.
_backlog_sources: dict[str, Callable[[], int]] = {}
_lateness_sources: dict[str, Callable[[], float]] = {}


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
    meter().create_observable_gauge("vigil.outbox.backlog", callbacks=[_observe_backlog], unit="{event}",
                                    description="events appended to the event table but not yet published")
    meter().create_observable_gauge("vigil.timers.overdue", callbacks=[_observe_lateness], unit="s",
                                    description="how long the oldest due timer has waited to fire (0: none)")


def meter() -> metrics.Meter:
    return metrics.get_meter("vigil")


def register_lag_source(source: Callable[[], dict[tuple[str, str, int], int]]) -> None:
    _lag_sources.append(source)


def _observe_lag(_options: CallbackOptions) -> Iterable[Observation]:
    for source in list(_lag_sources):
        for (consumer, topic, partition), lag in source().items():
            yield Observation(lag, {"consumer": consumer, "topic": topic, "partition": partition})


def register_outbox_backlog(relay: str, source: Callable[[], int]) -> None:
    _backlog_sources[relay] = source


def register_timer_lateness(timers: str, source: Callable[[], float]) -> None:
    _lateness_sources[timers] = source


def _observe_backlog(_options: CallbackOptions) -> Iterable[Observation]:
    yield from _observed(_backlog_sources, "relay")


def _observe_lateness(_options: CallbackOptions) -> Iterable[Observation]:
    yield from _observed(_lateness_sources, "timers")


def _observed(sources: Mapping[str, Callable[[], float]], label: str) -> Iterable[Observation]:
    """A source whose database does not answer is left out of this scrape: /readyz reports that."""
    for name, source in list(sources.items()):
        try:
            value = source()
        except Exception:
            log.debug("metric source failed", extra={label: name}, exc_info=True)
            continue
        yield Observation(value, {label: name})


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
