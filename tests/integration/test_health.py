"""/healthz says a service's process answers; /readyz says it can do its work; /metrics says how far its worker
has fallen behind, read from its database by any of its processes. Real processes, Kafka and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from infra.procs import free_port
from services.notify import tables as notify_tables
from shared.clock import SystemClock
from shared.db import Database
from shared.events.notifications import NotificationCancelled
from shared.eventstore import EventStore
from shared.migrate import upgrade
from shared.settings import VigilSettings
from tests.support.services import ServiceProcess
from tests.support.waiting import eventually


def _notify(vigil: VigilSettings, database_url: str, logdir: Path, mode: str,
            kafka: str | None = None) -> ServiceProcess:
    env = {"VIGIL_KAFKA_BOOTSTRAP": kafka or vigil.kafka_bootstrap, "VIGIL_TOPIC_PREFIX": vigil.topic_prefix,
           "VIGIL_TOPIC_PARTITIONS": str(vigil.topic_partitions), "VIGIL_ENVIRONMENT": "test",
           "NOTIFY_DATABASE_URL": database_url}
    return ServiceProcess("notify", env, logdir, mode=mode)


def _ready(url: str) -> httpx.Response | None:
    answer = httpx.get(f"{url}/readyz", timeout=5)
    return answer if answer.status_code == 200 else None


def _gauge(url: str, name: str) -> float | None:
    for line in httpx.get(f"{url}/metrics", timeout=5).text.splitlines():
        if line.startswith(f"{name}{{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_a_service_is_ready_once_its_database_broker_and_consumers_answer(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path) -> None:
    url = new_database("notify")
    upgrade("notify", url)
    notify = _notify(vigil_settings, url, logdir, "all").start()
    try:
        assert httpx.get(f"{notify.url}/healthz", timeout=5).json()["status"] == "ok"
        ready = eventually(lambda: _ready(notify.url), 60, "notify to be ready")
        body = ready.json()
        assert body["status"] == "ready"
        assert body["checks"] == {"database": "ok", "kafka": "ok", "consumers": "ok"}
        prefix = vigil_settings.topic_prefix
        assert body["consumer_groups"][f"{prefix}notify-incidents"] == [f"{prefix}vigil.incidents.v1"]
        assert ready.headers["cache-control"] == "no-store"
        assert _gauge(notify.url, "vigil_timers_overdue_seconds") == 0.0
        assert _gauge(notify.url, "vigil_outbox_backlog") == 0.0
    finally:
        notify.stop()


def test_not_ready_is_a_problem_naming_the_broker_while_the_process_stays_alive(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path) -> None:
    url = new_database("notify")
    upgrade("notify", url)
    notify = _notify(vigil_settings, url, logdir, "all", kafka=f"127.0.0.1:{free_port()}").start()
    try:
        assert httpx.get(f"{notify.url}/healthz", timeout=5).status_code == 200
        answer = httpx.get(f"{notify.url}/readyz", timeout=10)
        assert answer.status_code == 503
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["retry-after"] == "5"
        problem = answer.json()
        assert problem["status"] == 503 and problem["title"] == "Service unavailable"
        assert problem["detail"] == "not ready: kafka, consumers"
        assert problem["checks"]["database"] == "ok"
        assert problem["checks"]["kafka"].startswith("Kafka does not answer")
        assert problem["checks"]["consumers"].startswith("no partitions assigned yet: notify-")
    finally:
        notify.stop()


def test_the_http_face_alone_is_ready_and_shows_the_work_its_absent_worker_has_not_done(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path) -> None:
    url = new_database("notify")
    upgrade("notify", url)
    _unpublished_event_and_a_timer_due_five_minutes_ago(url)
    notify = _notify(vigil_settings, url, logdir, "api").start()
    try:
        answer = httpx.get(f"{notify.url}/readyz", timeout=10)
        assert answer.status_code == 200, answer.text
        assert answer.json()["checks"]["consumers"] == "run by the worker process"
        assert _gauge(notify.url, "vigil_outbox_backlog") == 1.0
        late = _gauge(notify.url, "vigil_timers_overdue_seconds")
        assert late is not None and 300 <= late < 400
    finally:
        notify.stop()


def _unpublished_event_and_a_timer_due_five_minutes_ago(url: str) -> None:
    db, clock = Database(url), SystemClock()
    store = EventStore(notify_tables.metadata, source="/vigil/notify", clock=clock)
    now = datetime.now(UTC)
    cancelled = NotificationCancelled(notification_id=str(uuid.uuid4()), idempotency_key="k", incident_id=None,
                                      purpose="test", channel="log", cancelled_at=now)
    try:
        with db.transaction() as s:
            store.extend(s, cancelled.notification_id, [cancelled])
            s.execute(notify_tables.timers.insert().values(
                timer_id=str(uuid.uuid4()), kind="test", due_at=now - timedelta(minutes=5), created_at=now,
                payload=json.dumps({}), fired_at=None))
    finally:
        db.dispose()
