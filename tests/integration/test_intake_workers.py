"""`vigil intake all --workers 2`: two HTTP workers and one background process, as deployed for load."""

from __future__ import annotations

import contextlib
import json
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from infra.procs import children, proc_status
from shared.migrate import upgrade
from shared.settings import VigilSettings
from tests.factories import report_body
from tests.support.kafka_reader import read_topic
from tests.support.services import ServiceProcess
from tests.support.waiting import eventually


def _children(pid: int) -> list[tuple[int, str]]:
    found = []
    for child in children(pid):
        with contextlib.suppress(OSError):
            found.append((child, Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()))
    return found


def _alive(pid: int) -> bool:
    return proc_status(pid).get("State", "Z").split()[0] != "Z"  # a zombie has ended; only bookkeeping remains


def test_several_http_workers_share_one_relay_and_every_report_reaches_kafka_once(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path) -> None:
    url = new_database("intake")
    upgrade("intake", url)
    env = {"VIGIL_ENVIRONMENT": "test", "VIGIL_KAFKA_BOOTSTRAP": vigil_settings.kafka_bootstrap,
           "VIGIL_TOPIC_PREFIX": vigil_settings.topic_prefix, "INTAKE_DATABASE_URL": url,
           "INTAKE_RATE_LIMIT_ENABLED": "false"}
    intake = ServiceProcess("intake", env, logdir, args=("--workers", "2")).start()
    try:
        assert intake.proc is not None
        children = _children(intake.proc.pid)
        background = [pid for pid, cmd in children if cmd.rstrip().endswith("intake worker")]
        assert len(background) == 1, f"one background process expected: {children}"
        assert len(children) >= 3, f"two HTTP workers and the background process expected: {children}"

        with ThreadPoolExecutor(8) as pool:  # spread over both workers' connections
            answers = list(pool.map(lambda _: httpx.post(f"{intake.url}/v1/reports", json=report_body(),
                                                         timeout=10), range(40)))
        assert [a.status_code for a in answers] == [202] * 40
        records = read_topic(vigil_settings.kafka_bootstrap, f"{vigil_settings.topic_prefix}vigil.reports.v1",
                             expect=40, timeout=60, until=2)
        assert sorted(json.loads(r.value)["reference"] for r in records) == sorted(
            a.json()["reference"] for a in answers), "a report was lost or published twice"

        intake.proc.send_signal(signal.SIGTERM)
        assert intake.proc.wait(timeout=60) == 0
        eventually(lambda: not [(pid, cmd) for pid, cmd in children if _alive(pid)], 15,
                   f"every process of the service to end: {children}")
    finally:
        intake.stop()
