"""`vigil up` (what `make run` runs) brings the system up on SQLite, and Ctrl-C stops all it started."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from infra.procs import free_port, stop_process
from shared.settings import VigilSettings
from tests.factories import report_body
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_vigil_up_runs_all_four_services_on_sqlite_and_stops_them_on_ctrl_c(
        vigil_settings: VigilSettings, tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("intake", "triage", "notify", "assessment")}
    env = {**os.environ, "VIGIL_KAFKA_BOOTSTRAP": vigil_settings.kafka_bootstrap,
           "VIGIL_TOPIC_PREFIX": vigil_settings.topic_prefix, "VIGIL_DATA_DIR": str(tmp_path / "var")}
    for name, port in ports.items():
        env[f"{name.upper()}_PORT"] = str(port)
        env[f"{name.upper()}_DATABASE_URL"] = f"sqlite:///{tmp_path / name}.db"
    proc = subprocess.Popen([sys.executable, "-m", "services.cli", "up"], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    lines: list[str] = []
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        eventually(lambda: any("Press Ctrl-C" in line for line in lines), 120,
                   f"vigil up to report ready; it said: {lines}")
        pids = [int(p) for p in re.findall(r"\(pid (\d+)\)", "".join(lines))]
        assert len(pids) == 4
        assert f"using the broker at {vigil_settings.kafka_bootstrap}" in "".join(lines)

        answer = httpx.post(f"http://127.0.0.1:{ports['intake']}/v1/reports", json=report_body(), timeout=10)
        assert answer.status_code == 202
        area = f"http://127.0.0.1:{ports['assessment']}/v1/areas/E23000001"
        service = {"Authorization": f"Bearer {vigil_settings.service_token.get_secret_value()}"}
        eventually(lambda: httpx.get(area, headers=service, timeout=5).json()["reports"] == 1, 60,
                   "the report to be counted")

        os.kill(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        reader.join(timeout=5)
        assert "Stopped." in "".join(lines)
        assert not [pid for pid in pids if _alive(pid)], "a service outlived vigil up"
    finally:
        stop_process(proc)
