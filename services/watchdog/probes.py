"""Looking at the services from outside: their /readyz and /metrics, and their consumer groups on the broker.

Lag is asked of the broker (the end of each topic against what the group has committed), not read from the
services' own gauge: a stopped or stuck consumer's gauge stops with it, and is gone with its process.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx
from kafka import TopicPartition
from kafka.admin import KafkaAdminClient, OffsetSpec
from prometheus_client.parser import text_string_to_metric_families

from services.watchdog.alarms import Finding, Restarts
from services.watchdog.settings import WatchdogSettings

log = logging.getLogger(__name__)
TIMEOUT_MS = 5000


class ServiceProbe:
    """One service's readiness, outbox backlog, timer lateness and restarts; remembers its consumer groups."""

    def __init__(self, name: str, url: str, settings: WatchdogSettings, http: httpx.Client) -> None:
        self.name = name
        self.url = url.rstrip("/")
        self.settings = settings
        self.http = http
        self.groups: dict[str, list[str]] = {}  # consumer group -> topics, as the service last said
        self.restarts = Restarts(settings.restart_window_seconds)

    def findings(self, now: float) -> list[Finding]:
        ready = self._readiness()
        samples = self._metrics()
        return [ready, *self._from_metrics(samples, now)] if samples is not None else [ready]

    def _readiness(self) -> Finding:
        key = f"{self.name}: not ready"
        try:
            answer = self.http.get(f"{self.url}/readyz")
        except httpx.HTTPError as e:
            return Finding(key, True, f"{self.name} does not answer at {self.url} ({type(e).__name__})")
        body = _json(answer)
        self.groups = body.get("consumer_groups") or self.groups
        if answer.status_code == 200:
            return Finding(key, False, f"{self.name} is ready")
        checks = "; ".join(f"{k}: {v}" for k, v in (body.get("checks") or {}).items())
        return Finding(key, True, f"{self.name} answers {answer.status_code} at /readyz. {checks}".strip())

    def _metrics(self) -> dict[str, float] | None:
        """The largest value of each metric Vigil's checks read, or None when /metrics does not answer."""
        try:
            answer = self.http.get(f"{self.url}/metrics")
            answer.raise_for_status()
        except httpx.HTTPError:
            return None
        wanted = ("vigil_outbox_backlog", "vigil_timers_overdue_seconds", "process_start_time_seconds")
        found: dict[str, float] = {}
        for family in text_string_to_metric_families(answer.text):
            for sample in family.samples:
                if sample.name in wanted:
                    found[sample.name] = max(found.get(sample.name, sample.value), sample.value)
        return found

    def _from_metrics(self, samples: Mapping[str, float], now: float) -> list[Finding]:
        s, name, found = self.settings, self.name, []
        if (backlog := samples.get("vigil_outbox_backlog")) is not None:
            found.append(Finding(f"{name}: outbox backlog", backlog > s.max_outbox_backlog,
                                 f"{backlog:.0f} events appended but not yet published (limit {s.max_outbox_backlog})"))
        if (late := samples.get("vigil_timers_overdue_seconds")) is not None:
            limit = s.max_timer_lateness_seconds
            found.append(Finding(f"{name}: timers late", late > limit,
                                 f"the oldest due timer is {late:.0f} s late (limit {limit:.0f} s)"))
        if (started := samples.get("process_start_time_seconds")) is not None:
            count, minutes = self.restarts.seen(started, now), s.restart_window_seconds / 60
            found.append(Finding(f"{name}: keeps restarting", count >= s.max_restarts,
                                 f"started again {count} times in the last {minutes:.0f} minutes"))
        return found


class GroupProbe:
    """Whether each service's consumer groups have members, and how far behind their topics they have committed."""

    def __init__(self, bootstrap: str, max_lag: int) -> None:
        self.bootstrap = bootstrap
        self.max_lag = max_lag
        self._admin: KafkaAdminClient | None = None

    def findings(self, groups_of: Mapping[str, Mapping[str, list[str]]]) -> list[Finding]:
        groups = {group: topics for service_groups in groups_of.values() for group, topics in service_groups.items()}
        if not groups:
            return []
        try:
            members, lag = self._ask(groups)
        except Exception as e:
            self.close()
            return [Finding("kafka: unreachable", True, f"the watchdog cannot ask Kafka at {self.bootstrap} "
                                                         f"about consumer groups ({type(e).__name__})")]
        found = [Finding("kafka: unreachable", False, f"Kafka answers at {self.bootstrap}")]
        for service, service_groups in groups_of.items():
            if service_groups:
                found += self._service_findings(service, service_groups, members, lag)
        return found

    def _service_findings(self, service: str, groups: Mapping[str, list[str]], members: Mapping[str, int],
                          lag: Mapping[str, int]) -> list[Finding]:
        empty = sorted(g for g in groups if not members.get(g))
        behind = sorted(f"{g} {lag[g]} behind" for g in groups if lag.get(g, 0) > self.max_lag)
        return [
            Finding(f"{service}: consumers", bool(empty), f"no consumer running in {', '.join(empty)}" if empty
                    else f"every consumer group of {service} has a consumer"),
            Finding(f"{service}: consumer lag", bool(behind), f"{', '.join(behind)} (limit {self.max_lag})" if behind
                    else f"{service}'s consumers are within {self.max_lag} records of the end"),
        ]

    def _ask(self, groups: Mapping[str, list[str]]) -> tuple[dict[str, int], dict[str, int]]:
        admin = self._client()
        members = {g: len(d.get("members") or []) for g, d in admin.describe_groups(list(groups)).items()}
        topics = sorted({t for ts in groups.values() for t in ts})
        partitions = [TopicPartition(t["name"], p["partition_index"])
                      for t in admin.describe_topics(topics) for p in t["partitions"]]
        latest = admin.list_partition_offsets({tp: OffsetSpec.LATEST for tp in partitions})
        ends = {tp: int(o.offset) for tp, o in latest.items()}
        committed = admin.list_group_offsets(list(groups))
        lag = {g: sum(end - _offset(committed.get(g, {}), tp) for tp, end in ends.items() if tp.topic in ts)
               for g, ts in groups.items()}
        return members, lag

    def _client(self) -> KafkaAdminClient:
        if self._admin is None:
            self._admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="vigil-watchdog",
                                           request_timeout_ms=TIMEOUT_MS, bootstrap_timeout_ms=TIMEOUT_MS,
                                           reconnect_backoff_max_ms=2000)
        return self._admin

    def close(self) -> None:
        if self._admin is not None:
            try:
                self._admin.close()
            except Exception:  # closing a client of a dead broker may itself fail
                log.debug("admin client close failed", exc_info=True)
            self._admin = None


def _offset(committed: Mapping[TopicPartition, Any], tp: TopicPartition) -> int:
    """A partition the group never committed counts from 0: Vigil's topics keep everything."""
    found = committed.get(tp)
    return max(0, int(found.offset)) if found is not None else 0


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
