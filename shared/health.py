"""Readiness: whether a service can do its work now, as `/readyz` answers it.

`/healthz` only says the process answers. Ready means the database answers a query, the broker answers a
metadata request, and, where the worker runs in the same process, every consumer holds partitions. The
answer also names the service's consumer groups and their topics, wherever its worker runs, so the
watchdog can ask the broker whether anyone is consuming them (`vigil watchdog`).

The broker is asked at most once per BROKER_TTL seconds, through one admin client kept for the process's
lifetime, so an orchestrator probing every second costs the broker nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi.responses import JSONResponse
from kafka.admin import KafkaAdminClient

from shared.db import Database
from shared.inbox import EventConsumer
from shared.problems import PROBLEM
from shared.topics import TopicNames

log = logging.getLogger(__name__)
BROKER_TTL = 5.0  # seconds an answer from the broker is reused
BROKER_TIMEOUT_MS = 2000


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str


class BrokerProbe:
    """A cheap metadata request with a short timeout; the client is made again after any failure."""

    def __init__(self, bootstrap: str, client_id: str, ttl: float = BROKER_TTL) -> None:
        self.bootstrap = bootstrap
        self.client_id = client_id
        self.ttl = ttl
        self._lock = threading.Lock()
        self._admin: KafkaAdminClient | None = None
        self._answer = Check(False, "not asked yet")
        self._asked_at: float | None = None

    def check(self) -> Check:
        with self._lock:
            if self._asked_at is None or time.monotonic() - self._asked_at >= self.ttl:
                self._answer = self._ask()
                self._asked_at = time.monotonic()
            return self._answer

    def _ask(self) -> Check:
        try:
            if self._admin is None:
                self._admin = KafkaAdminClient(
                    bootstrap_servers=self.bootstrap, client_id=self.client_id, request_timeout_ms=BROKER_TIMEOUT_MS,
                    bootstrap_timeout_ms=BROKER_TIMEOUT_MS, reconnect_backoff_max_ms=1000)
            self._admin.describe_cluster()
            return Check(True, "ok")
        except Exception as e:
            self._close()
            return Check(False, f"Kafka does not answer ({type(e).__name__})")

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._admin is not None:
            try:
                self._admin.close()
            except Exception:  # closing a client of a dead broker may itself fail
                log.debug("admin client close failed", exc_info=True)
            self._admin = None


class Readiness:
    def __init__(self, service: str, db: Database, broker: BrokerProbe, names: TopicNames,
                 consumers: Sequence[EventConsumer], worker_here: bool) -> None:
        self.service = service
        self.db = db
        self.broker = broker
        self.consumers = consumers
        self.worker_here = worker_here
        self.groups = {names.group(c.name): [names(t) for t in c.topics] for c in consumers}

    def checks(self) -> dict[str, Check]:
        return {"database": self._database(), "kafka": self.broker.check(), "consumers": self._consumers()}

    def answer(self) -> JSONResponse:
        checks = self.checks()
        body = {"service": self.service, "checks": {name: c.detail for name, c in checks.items()},
                "consumer_groups": self.groups}
        failing = [name for name, c in checks.items() if not c.ok]
        headers = {"Cache-Control": "no-store"}
        if not failing:
            return JSONResponse({"status": "ready", **body}, headers=headers)
        return JSONResponse({"type": "about:blank", "title": "Service unavailable", "status": 503,
                             "detail": f"not ready: {', '.join(failing)}", **body},
                            status_code=503, media_type=PROBLEM, headers={**headers, "Retry-After": "5"})

    def _database(self) -> Check:
        """On the raw connection: the session's BEGIN IMMEDIATE would take SQLite's write lock for a probe."""
        try:
            raw = self.db.engine.raw_connection()
            try:
                raw.cursor().execute("SELECT 1")
            finally:
                raw.close()
            return Check(True, "ok")
        except Exception as e:
            return Check(False, f"the database does not answer ({type(e).__name__})")

    def _consumers(self) -> Check:
        if not self.worker_here:
            return Check(True, "run by the worker process")
        waiting = [c.name for c in self.consumers if c.assigned == 0]
        if waiting:
            return Check(False, f"no partitions assigned yet: {', '.join(waiting)}")
        return Check(True, "ok")
