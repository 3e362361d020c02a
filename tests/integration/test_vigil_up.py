"""`vigil up` (what `make run` runs) brings the system up on SQLite, keeps each service up on its own, and Ctrl-C
or SIGTERM stops all it started; `vigil kafka` stops its broker on SIGTERM as on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from infra.procs import free_port, port_open, stop_process
from services.triage.auth import Auth
from shared.clock import SystemClock
from shared.db import Database
from shared.migrate import upgrade
from shared.settings import VigilSettings
from shared.staffaccess import SESSION_COOKIE
from tests.factories import report_body
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "triage", "notify", "assessment")
PASSWORD = "a long enough password"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass
class Console:
    """A launcher's console, read line by line as it prints."""

    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        assert self.proc.stdout is not None
        stdout = self.proc.stdout
        self.reader = threading.Thread(target=lambda: self.lines.extend(iter(stdout.readline, "")), daemon=True)
        self.reader.start()

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, what: str, timeout: float) -> str:
        eventually(lambda: what in self.text, timeout, f"{what!r} on the console; it said: {self.lines}")
        return self.text

    def pids(self) -> dict[str, int]:
        return {name: int(pid) for name, pid in re.findall(r"^  (\w+) .*\(pid (\d+)\)$", self.text, re.MULTILINE)}


@contextmanager
def launched(args: list[str], env: dict[str, str]) -> Iterator[Console]:
    proc = subprocess.Popen([sys.executable, "-m", "services.cli", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield Console(proc)
    finally:
        stop_process(proc)  # type: ignore[arg-type]


def _up_env(vigil: VigilSettings, tmp_path: Path) -> tuple[dict[str, str], dict[str, int]]:
    ports = {name: free_port() for name in SERVICES}
    env = {**os.environ, "VIGIL_KAFKA_BOOTSTRAP": vigil.kafka_bootstrap, "VIGIL_TOPIC_PREFIX": vigil.topic_prefix,
           "VIGIL_DATA_DIR": str(tmp_path / "var"), "INTAKE_RATE_LIMIT_ENABLED": "false"}
    for name, port in ports.items():
        env[f"{name.upper()}_PORT"] = str(port)
        env[f"{name.upper()}_DATABASE_URL"] = f"sqlite:///{tmp_path / name}.db"
    return env, ports


def test_vigil_up_runs_all_four_services_on_sqlite_and_stops_them_on_ctrl_c(
        vigil_settings: VigilSettings, tmp_path: Path) -> None:
    env, ports = _up_env(vigil_settings, tmp_path)
    upgrade("triage", env["TRIAGE_DATABASE_URL"])  # an analyst, to read assessment's staff API as
    db = Database(env["TRIAGE_DATABASE_URL"])
    Auth(db, SystemClock()).create_user("ana", "Ana Analyst", PASSWORD, ["analyst"])
    db.dispose()
    with launched(["up"], env) as console:
        console.wait_for("Press Ctrl-C", 120)
        pids = console.pids()
        assert sorted(pids) == sorted([*SERVICES, "watchdog"])
        assert f"using the broker at {vigil_settings.kafka_bootstrap}" in console.text

        answer = httpx.post(f"http://127.0.0.1:{ports['intake']}/v1/reports", json=report_body(), timeout=10)
        assert answer.status_code == 202
        area = f"http://127.0.0.1:{ports['assessment']}/v1/areas/E23000001"
        signed_in = httpx.post(f"http://127.0.0.1:{ports['triage']}/v1/session",
                               json={"username": "ana", "password": PASSWORD}, timeout=10)
        assert signed_in.status_code == 200, signed_in.text
        ana = {"Authorization": f"Bearer {signed_in.cookies[SESSION_COOKIE]}"}  # signed in at triage
        eventually(lambda: httpx.get(area, headers=ana, timeout=5).json()["reports"] == 1, 60,
                   "the report to be counted")

        os.kill(console.proc.pid, signal.SIGINT)
        assert console.proc.wait(timeout=60) == 0
        console.reader.join(timeout=5)
        assert "Stopped." in console.text
        assert not [pid for pid in pids.values() if _alive(pid)], "a child outlived vigil up"
        logs = tmp_path / "var" / "logs"
        for name in SERVICES:  # stopped by the signal, not killed after the grace period
            assert "Application shutdown complete" in (logs / f"{name}.log").read_text(), name


class Reporting:
    """Reports sent to intake one after another until stopped, every answer's status kept."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.statuses: list[int] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self.stop.wait(0.2):
                self.statuses.append(client.post(f"{self.url}/v1/reports", json=report_body()).status_code)

    def __enter__(self) -> Reporting:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=15)


def test_a_killed_service_is_started_again_while_the_others_keep_working_and_sigterm_stops_all(
        vigil_settings: VigilSettings, tmp_path: Path) -> None:
    env, ports = _up_env(vigil_settings, tmp_path)
    triage_ready = f"http://127.0.0.1:{ports['triage']}/readyz"
    with launched(["up"], env) as console:
        console.wait_for("Press Ctrl-C", 120)
        pids = console.pids()
        eventually(lambda: httpx.get(triage_ready, timeout=5).status_code == 200, 60, "triage to be ready")

        with Reporting(f"http://127.0.0.1:{ports['intake']}") as reporting:
            eventually(lambda: len(reporting.statuses) >= 3, 30, "intake to take reports")
            os.kill(pids["triage"], signal.SIGKILL)
            said = console.wait_for("triage restarted", 30)
            assert "triage exited with code -9 (SIGKILL); restarting in 1 s" in said
            restarted = int(re.findall(r"triage restarted \(pid (\d+)\)", said)[0])
            assert restarted != pids["triage"] and _alive(restarted)
            eventually(lambda: httpx.get(triage_ready, timeout=5).status_code == 200, 90,
                       "the restarted triage to be ready")
        assert len(reporting.statuses) >= 10
        assert set(reporting.statuses) == {202}, "intake answered every report while triage was away"
        assert not any("intake exited" in line or "notify exited" in line for line in console.lines)

        os.kill(console.proc.pid, signal.SIGTERM)
        assert console.proc.wait(timeout=60) == 0
        console.reader.join(timeout=5)
        assert "Stopped." in console.text
        children = [*pids.values(), restarted]
        assert not [pid for pid in children if _alive(pid)], "a child outlived vigil up"


def test_vigil_kafka_stopped_by_sigterm_leaves_no_broker(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "VIGIL_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}", "VIGIL_DATA_DIR": str(tmp_path / "var")}
    with launched(["kafka"], env) as console:
        said = console.wait_for("Ctrl-C or SIGTERM stops it", 180)
        broker = int(re.findall(r"Kafka broker at \S+ \(pid (\d+)\)", said)[0])
        assert _alive(broker) and port_open(port)

        os.kill(console.proc.pid, signal.SIGTERM)
        assert console.proc.wait(timeout=60) == 0
        assert not _alive(broker), "the broker outlived vigil kafka"
        assert not port_open(port)
