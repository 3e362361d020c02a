"""Small helpers for the local servers: free ports, waiting on conditions, stopping by process id, and
keeping `vigil up`'s children running."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def children(pid: int) -> list[int]:
    """The ids of a process's direct children (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def descendants(pid: int) -> list[int]:
    """A process and every process under it (Linux /proc)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += children(p)
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU the processes have used so far; a process already gone counts nothing."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def proc_status(pid: int) -> dict[str, str]:
    """/proc/PID/status as a dict (VmRSS, State, ...); empty once the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return {k: v.strip() for k, v in (line.split(":", 1) for line in text.splitlines() if ":" in line)}


def wait_until(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def stop_processes(procs: list[subprocess.Popen[bytes]], grace: float = 20.0, sig: int = signal.SIGTERM) -> None:
    """Stop several processes we started at once: signal all, one shared grace period, then KILL the rest."""
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def stop_process(proc: subprocess.Popen[bytes], grace: float = 20.0, sig: int = signal.SIGTERM) -> None:
    """Stop one process we started (and its own process group), by id: `sig`, then KILL."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


HELD = {signal.SIGINT, signal.SIGTERM}


def release_signals() -> None:
    """In a child about to run: the mask it inherited from `Supervisor._launch` would hide SIGTERM from it."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD)


def exit_status(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"code {code} ({signal.Signals(-code).name})"
    return f"code {code}"


@dataclass
class Child:
    name: str
    command: list[str]
    env: dict[str, str]
    logfile: Path
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    backoff: float = 0.0
    restart_at: float | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None


class Supervisor:
    """Keeps each child running on its own: one that exits is reported, and started again after a backoff
    that doubles from `first` to `most` seconds, from `first` again once a child has stayed up `steady`
    seconds. The others go on meanwhile. `say` tells the console; `tick` does the work, often.

    Each child runs in its own process group (its id is the child's pid), recorded before Ctrl-C or SIGTERM
    can interrupt the launcher, and `stop` stops exactly those groups."""

    def __init__(self, say: Callable[[str], None], cwd: Path, first: float = 1.0, most: float = 60.0,
                 steady: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 popen: Callable[..., subprocess.Popen[bytes]] = subprocess.Popen) -> None:
        self.say = say
        self.cwd = cwd
        self.first = first
        self.most = most
        self.steady = steady
        self.clock = clock
        self.popen = popen
        self.children: list[Child] = []

    def start(self, name: str, command: list[str], env: dict[str, str], logfile: Path) -> Child:
        child = Child(name, command, env, logfile, backoff=self.first)
        self.children.append(child)
        self._launch(child)
        return child

    def tick(self) -> None:
        now = self.clock()
        for child in self.children:
            if child.proc is not None and child.proc.poll() is not None:
                self._exited(child, child.proc.returncode, now)
            elif child.proc is None and child.restart_at is not None and now >= child.restart_at:
                self._launch(child)
                self.say(f"{child.name} restarted (pid {child.pid})")

    def _exited(self, child: Child, code: int, now: float) -> None:
        if now - child.started_at >= self.steady:
            child.backoff = self.first
        child.proc, child.restart_at = None, now + child.backoff
        self.say(f"{child.name} exited with {exit_status(code)}; restarting in {child.backoff:.0f} s")
        child.backoff = min(child.backoff * 2, self.most)

    def _launch(self, child: Child) -> None:
        """Ctrl-C and SIGTERM are held until the child's id is recorded (a KeyboardInterrupt between the fork and
        the assignment would orphan it), and released in the child before it runs. `preexec_fn` is safe here:
        the launcher runs no other threads."""
        before = signal.pthread_sigmask(signal.SIG_BLOCK, HELD)
        try:
            with open(child.logfile, "ab") as out:
                child.proc = self.popen(child.command, cwd=self.cwd, env=child.env, stdout=out,
                                        stderr=subprocess.STDOUT, start_new_session=True,
                                        preexec_fn=release_signals)
            child.started_at, child.restart_at = self.clock(), None
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, before)

    def running(self) -> list[subprocess.Popen[bytes]]:
        return [child.proc for child in self.children if child.proc is not None]

    def stop(self, grace: float = 20.0) -> None:
        """Each child's process group, by the id recorded when it was started."""
        stop_processes(self.running(), grace=grace)
