"""Running a service's background work: named threads sharing one stop signal."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

log = logging.getLogger(__name__)

Task = Callable[[threading.Event], None]


class Runner:
    def __init__(self) -> None:
        self.stop = threading.Event()
        self._tasks: list[tuple[str, Task]] = []
        self._threads: list[threading.Thread] = []

    def add(self, name: str, task: Task) -> None:
        self._tasks.append((name, task))

    def start(self) -> Runner:
        for name, task in self._tasks:
            thread = threading.Thread(target=self._guard, args=(name, task), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _guard(self, name: str, task: Task) -> None:
        while not self.stop.is_set():
            try:
                task(self.stop)
                return
            except Exception:
                log.exception("background task crashed; restarting", extra={"task": name})
                self.stop.wait(1.0)

    def shutdown(self, timeout: float = 10.0) -> None:
        """One deadline for all tasks, not one each: threads are daemons, so stragglers end with the process."""
        self.stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [t.name for t in self._threads if t.is_alive()]
        if stuck:
            log.warning("background tasks still running at shutdown", extra={"tasks": stuck})

    def run_until_signalled(self) -> None:
        def _stop(signum: int, _frame: FrameType | None) -> None:
            log.info("stopping", extra={"signal": signum})
            self.stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        self.start()
        self.stop.wait()
        self.shutdown()
