"""Notify killed with SIGKILL while alerts are in flight, then restarted: every alert arrives, none twice."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from shared.events.incidents import Priority
from shared.migrate import upgrade
from shared.settings import VigilSettings
from tests.integration.test_notify_flow import DI_1, envelope, publish, triaged
from tests.support.services import ServiceProcess
from tests.support.smtp import smtp_server
from tests.support.waiting import eventually

ALERTS = 30
WORKERS = 2


def _directory_file(path: Path) -> Path:
    path.write_text(json.dumps({
        "people": {"di-1": {"name": "DI One", "email": DI_1}, "snt": {"name": "Sgt"}, "clo": {"name": "CLO"}},
        "teams": {"nt": ["snt"], "cl": ["clo"]},
        "policies": {"p": {"levels": [{"targets": ["on_call"], "delay_minutes": 15}]}},
        "areas": {"default": {"rota": {"start": "2026-01-01T00:00:00Z", "people": ["di-1"]}, "policy": "p",
                              "neighbourhood_team": "nt", "community_liaison": "cl"}},
    }))
    return path


def test_alerts_in_flight_when_notify_is_killed_are_all_delivered_once_after_restart(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path, tmp_path: Path) -> None:
    database = new_database("notify")
    upgrade("notify", database)
    with smtp_server() as box:
        box.delay = 0.2  # a slow mail server keeps alerts in flight
        env = {"VIGIL_ENVIRONMENT": "test", "VIGIL_KAFKA_BOOTSTRAP": vigil_settings.kafka_bootstrap,
               "VIGIL_TOPIC_PREFIX": vigil_settings.topic_prefix,
               "VIGIL_TOPIC_PARTITIONS": str(vigil_settings.topic_partitions),
               "NOTIFY_DATABASE_URL": database, "NOTIFY_SMTP_HOST": box.host, "NOTIFY_SMTP_PORT": str(box.port),
               "NOTIFY_DIRECTORY_FILE": str(_directory_file(tmp_path / "directory.json")),
               "NOTIFY_CHANNELS": '["email", "log"]', "NOTIFY_SEND_LEASE_SECONDS": "2",
               "NOTIFY_DISPATCH_WORKERS": str(WORKERS)}
        now = datetime.now(UTC)
        # Not critical but needing the Duty Inspector (heightened tension): alerts only, no CIA prompts.
        incidents = [triaged(now, priority=Priority.P3).model_copy(update={"critical": False})
                     for _ in range(ALERTS)]
        notify = ServiceProcess("notify", env, logdir).start()
        try:
            publish(vigil_settings, *[envelope(i, i.incident_id) for i in incidents])
            eventually(lambda: len(box.all()) >= 6, timeout=90, what="some alerts to be sent", interval=0.02)
            notify.kill()
            at_kill = len(box.all())
            assert at_kill < ALERTS, "every alert was out before the kill: nothing was in flight"
            notify = ServiceProcess("notify", env, logdir).start()
            eventually(lambda: len(box.per_message_id()) >= ALERTS, timeout=90, what="every alert after restart")
        finally:
            notify.stop()
        copies = box.per_message_id()
        subject_of = {m.message_id: str(m.message["Subject"]) for m in box.all()}
    assert len(copies) == ALERTS, "an alert went out under a second idempotency key"
    for incident in incidents:
        keys = [mid for mid, subject in subject_of.items() if incident.reference in subject]
        assert len(keys) == 1, f"alert for {incident.reference}: {len(keys)} idempotency keys"
    # A send cut off by the kill may be retried under the same key (same Message-ID): at most one per worker.
    assert sum(copies.values()) - ALERTS <= WORKERS, f"copies per Message-ID: {copies}"
