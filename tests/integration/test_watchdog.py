"""`vigil watchdog` pages the on-call administrator over a real SMTP server when notify's worker stops, once per
problem, and sends the recovery when it is back. Real processes, Kafka, PostgreSQL; small thresholds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from kafka.admin import KafkaAdminClient

from infra.procs import stop_process
from shared.events.reports import ReportErased
from shared.kafka import encode_record, make_producer
from shared.migrate import upgrade
from shared.settings import VigilSettings
from shared.topics import REPORTS, TopicNames
from tests.support.services import ROOT, ServiceProcess
from tests.support.smtp import Mailbox, smtp_server
from tests.support.waiting import eventually

ADMIN = "oncall-admin@example.org"
NOTIFY_GROUPS = ("notify-incidents", "notify-reports", "notify-areas", "notify-partner")


@contextmanager
def _process(args: list[str], env: dict[str, str], logfile: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(logfile, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "services.cli", *args], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        stop_process(proc, grace=20)


def _subjects(box: Mailbox) -> list[str]:
    return [str(r.message["Subject"]) for r in box.to(ADMIN)]


def _members(admin: KafkaAdminClient, groups: list[str]) -> bool:
    return all(d["members"] for d in admin.describe_groups(groups).values())


def _erasures(vigil: VigilSettings, count: int) -> None:
    """Events notify's reports consumer has to read: while its worker is away they are lag."""
    producer = make_producer(vigil.kafka_bootstrap, "test-watchdog")
    topic = TopicNames(vigil.topic_prefix)(REPORTS)
    try:
        for _ in range(count):
            report_id = str(uuid.uuid4())
            erased = ReportErased(report_id=report_id, erased_at=datetime.now(UTC), requested_by="test")
            producer.send(**encode_record(topic, event_id=str(uuid.uuid4()), source="/vigil/intake",
                                          type=erased.TYPE, time=erased.erased_at, subject=report_id, sequence=2,
                                          key=report_id, data=erased.to_json_bytes()))
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=5)


def test_the_watchdog_pages_once_when_notifys_worker_stops_and_again_when_it_is_back(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path) -> None:
    database = new_database("notify")
    upgrade("notify", database)
    env = {**os.environ, "VIGIL_KAFKA_BOOTSTRAP": vigil_settings.kafka_bootstrap,
           "VIGIL_TOPIC_PREFIX": vigil_settings.topic_prefix, "VIGIL_TOPIC_PARTITIONS": "3",
           "VIGIL_ENVIRONMENT": "test", "NOTIFY_DATABASE_URL": database}
    groups = [TopicNames(vigil_settings.topic_prefix).group(g) for g in NOTIFY_GROUPS]
    admin = KafkaAdminClient(bootstrap_servers=vigil_settings.kafka_bootstrap, client_id="test-watchdog")
    notify = ServiceProcess("notify", env, logdir, mode="api").start()
    try:
        with smtp_server() as box, _process(["notify", "worker"], env, logdir / "worker.log") as worker:
            eventually(lambda: _members(admin, groups), 60, "notify's worker to join its consumer groups")
            watchdog_env = {**env, "WATCHDOG_SERVICES": json.dumps({"notify": notify.url}),
                            "WATCHDOG_INTERVAL_SECONDS": "0.5", "WATCHDOG_GRACE_SECONDS": "2",
                            "WATCHDOG_MAX_CONSUMER_LAG": "2", "WATCHDOG_ADMIN_EMAIL": ADMIN,
                            "NOTIFY_SMTP_HOST": box.host, "NOTIFY_SMTP_PORT": str(box.port)}
            with _process(["watchdog"], watchdog_env, logdir / "watchdog.log"):
                stop_process(worker, grace=20)
                eventually(lambda: "Vigil watchdog: PROBLEM notify: consumers" in _subjects(box), 60,
                           f"the page for the stopped worker; mail so far: {_subjects(box)}")
                page = box.to(ADMIN)[0]
                assert "No consumer running in" in page.part("plain") and groups[0] in page.part("plain")
                assert "A recovery message follows" in page.part("plain")

                _erasures(vigil_settings, 5)
                eventually(lambda: "Vigil watchdog: PROBLEM notify: consumer lag" in _subjects(box), 60,
                           f"the page for the growing lag; mail so far: {_subjects(box)}")
                assert _subjects(box).count("Vigil watchdog: PROBLEM notify: consumers") == 1, "paged once"

                with _process(["notify", "worker"], env, logdir / "worker-again.log"):
                    recovered = ["Vigil watchdog: RECOVERED notify: consumers",
                                 "Vigil watchdog: RECOVERED notify: consumer lag"]
                    eventually(lambda: all(s in _subjects(box) for s in recovered), 90,
                               f"the recovery messages; mail so far: {_subjects(box)}")
                    assert sorted(_subjects(box)) == sorted([
                        "Vigil watchdog: PROBLEM notify: consumers", "Vigil watchdog: PROBLEM notify: consumer lag",
                        *recovered])
    finally:
        notify.stop()
        admin.close()
