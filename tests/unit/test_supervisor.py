"""`vigil up` keeps each service running on its own: a dead one is started again with backoff, and said so."""

from __future__ import annotations

import itertools
import signal
from pathlib import Path
from typing import Any

from infra.procs import HELD, Supervisor, exit_status

_pids = itertools.count(100)


class FakeProcess:
    def __init__(self) -> None:
        self.pid = next(_pids)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode


class Harness:
    def __init__(self, tmp_path: Path) -> None:
        self.now = 0.0
        self.said: list[str] = []
        self.started: list[FakeProcess] = []
        self.held_while_starting: list[bool] = []
        self.logfile = tmp_path / "child.log"
        self.supervisor = Supervisor(say=self.said.append, cwd=tmp_path, clock=lambda: self.now, popen=self.popen)

    def popen(self, command: list[str], **kwargs: Any) -> Any:
        assert kwargs["start_new_session"] and kwargs["preexec_fn"] is not None
        self.held_while_starting.append(HELD.issubset(signal.pthread_sigmask(signal.SIG_BLOCK, set())))
        self.started.append(FakeProcess())
        return self.started[-1]

    def start(self, name: str) -> None:
        self.supervisor.start(name, ["vigil", name, "all"], {}, self.logfile)

    def die(self, code: int = -9) -> None:
        self.started[-1].returncode = code
        self.supervisor.tick()

    def at(self, now: float) -> None:
        self.now = now
        self.supervisor.tick()


def test_a_dead_child_is_reported_and_started_again_after_a_doubling_backoff(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.start("triage")
    h.start("intake")
    intake = h.started[-1]
    h.now = 5
    h.started[0].returncode = -9
    h.supervisor.tick()
    assert h.said == ["triage exited with code -9 (SIGKILL); restarting in 1 s"]
    h.at(5.5)
    assert len(h.started) == 2
    h.at(6)
    assert h.said[-1] == f"triage restarted (pid {h.started[-1].pid})"
    delays = []
    for _ in range(8):
        h.die(1)
        delays.append(h.said[-1].rsplit("in ", 1)[1])
        h.at(h.now + 100)
    assert delays == ["2 s", "4 s", "8 s", "16 s", "32 s", "60 s", "60 s", "60 s"]
    assert intake.poll() is None and len([p for p in h.started if p is intake]) == 1, "the others go on"


def test_ctrl_c_and_sigterm_wait_while_a_child_starts_and_are_released_after(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.start("assessment")
    assert h.held_while_starting == [True]
    assert not HELD & signal.pthread_sigmask(signal.SIG_BLOCK, set())


def test_the_backoff_starts_again_once_a_child_has_stayed_up_a_minute(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.start("notify")
    for _ in range(3):
        h.die()
        h.at(h.now + 10)
    assert h.said[-2].endswith("restarting in 4 s")
    h.at(h.now + 60)
    h.die()
    assert h.said[-1].endswith("restarting in 1 s")


def test_exit_statuses_name_the_signal() -> None:
    assert exit_status(-15) == "code -15 (SIGTERM)"
    assert exit_status(3) == "code 3"


def test_a_launcher_stopping_ignores_a_second_stop_signal() -> None:
    """`make run` stopped by SIGTERM passes the signal on, so `vigil up` gets it twice; the second must not
    interrupt the `finally` that stops the services."""
    import os
    import signal

    from services.cli import stop_on_signals

    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        stop_on_signals()
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            raise AssertionError("SIGTERM did not interrupt")
        except KeyboardInterrupt:
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGTERM)  # ignored: the stop goes on
    finally:
        signal.signal(signal.SIGINT, before[0])
        signal.signal(signal.SIGTERM, before[1])
