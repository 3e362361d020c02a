"""Running Vigil services as real processes (`vigil <service> all`), stopped by process id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from infra.procs import free_port, stop_process
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]


class ServiceProcess:
    def __init__(self, name: str, env: dict[str, str], logdir: Path, mode: str = "all",
                 args: tuple[str, ...] = ()) -> None:
        self.name = name
        self.port = free_port()
        prefix = name.upper()
        self.env = {**os.environ, **env, f"{prefix}_PORT": str(self.port),
                    f"{prefix}_PUBLIC_BASE_URL": f"http://127.0.0.1:{self.port}"}
        self.mode = mode
        self.args = args
        self.logfile = logdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> ServiceProcess:
        out = open(self.logfile, "ab")  # noqa: SIM115  (the child writes to it)
        self.proc = subprocess.Popen([sys.executable, "-m", "services.cli", self.name, self.mode, *self.args],
                                     cwd=ROOT,
                                     env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        eventually(self._healthy, timeout, f"{self.name} to answer /healthz (log: {self.logfile})")
        return self

    def _healthy(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited: {self.logfile.read_text()[-3000:]}")
        return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, grace=20, sig=signal.SIGTERM)
            self.proc = None

    def kill(self) -> None:
        """SIGKILL: the crash case."""
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.proc = None
