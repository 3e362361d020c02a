"""An open-loop HTTP/1.1 load generator: requests leave on a fixed schedule, whatever the server does.

Each request is timed from its *scheduled* send time, so a server that stalls shows up as latency
instead of silently lowering the rate (no coordinated omission). `wrk2` would do this but is not
packaged in Debian.

Built on asyncio protocols over uvloop, with no task or stream objects per request: the generator
shares the machine with the service it measures, so every microsecond it spends is one the service
does not get. Keep-alive connections are reused; a request due while every connection is busy opens
another (up to `max_connections`), and beyond that waits for one, still timed from its schedule.

A connection idle for longer than `max_idle` is closed instead of reused, as HTTP clients' pools do: a
server closes idle connections (uvicorn after 5 s), and a request written just as the close crosses it is
lost through no fault of the server's request handling.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

from bench._stats import summary_ms


class _Connection(asyncio.Protocol):
    def __init__(self, load: _OpenLoop) -> None:
        self.load = load
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.scheduled: float | None = None  # the request in flight, by its scheduled time
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.load.made(self)

    def send(self, scheduled: float) -> None:
        assert self.transport is not None
        self.scheduled = scheduled
        self.transport.write(self.load.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[:end].lower()
        length = 0
        at = head.find(b"content-length:")
        if at >= 0:
            line_end = head.find(b"\r\n", at)
            length = int(head[at + len(b"content-length:"):line_end if line_end >= 0 else len(head)])
        if len(self.buffer) < end + 4 + length:
            return
        status = int(self.buffer[9:12])
        self.buffer = self.buffer[end + 4 + length:]
        scheduled, self.scheduled = self.scheduled, None
        # "Connection: close": the server closes after this answer, so nothing more may be sent on it.
        self.load.answered(self, scheduled, status, reusable=b"connection: close" not in head)

    def connection_lost(self, exc: Exception | None) -> None:
        self.load.lost(self)


class _OpenLoop:
    def __init__(self, host: str, port: int, request: bytes, max_connections: int, max_idle: float) -> None:
        self.host, self.port, self.request = host, port, request
        self.max_connections = max_connections
        self.max_idle = max_idle
        self.idle: deque[_Connection] = deque()
        self.waiting: deque[float] = deque()  # due, but no connection free yet
        self.connections = 0
        self.connecting = 0  # connections asked for and not yet made
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.errors = 0
        self.outstanding = 0
        self.finished = asyncio.get_running_loop().create_future()
        self.all_sent = False

    def fire(self, scheduled: float) -> None:
        self.outstanding += 1
        stale = time.perf_counter() - self.max_idle
        while self.idle and self.idle[0].idle_since < stale:  # the longest idle are on the left
            stale_connection = self.idle.popleft()
            if stale_connection.transport is not None:
                stale_connection.transport.close()  # connection_lost() then counts it out
        if self.idle:
            self.idle.pop().send(scheduled)
            return
        self.waiting.append(scheduled)
        self._connect_more()

    def _connect_more(self) -> None:
        """One more connection, if requests are waiting beyond those already being connected for."""
        if len(self.waiting) > self.connecting and self.connections < self.max_connections:
            self.connections += 1
            self.connecting += 1
            asyncio.get_running_loop().create_task(self._connect())

    async def _connect(self) -> None:
        try:
            await asyncio.get_running_loop().create_connection(lambda: _Connection(self), self.host, self.port)
        except OSError:
            self.connections -= 1
            self.connecting -= 1
            if self.waiting:
                self.waiting.popleft()
                self._fail()

    def made(self, connection: _Connection) -> None:
        self.connecting -= 1
        self.ready(connection)

    def ready(self, connection: _Connection) -> None:
        if self.waiting:
            connection.send(self.waiting.popleft())
        else:
            connection.idle_since = time.perf_counter()
            self.idle.append(connection)

    def answered(self, connection: _Connection, scheduled: float | None, status: int, reusable: bool = True) -> None:
        if scheduled is not None:
            self.latencies.append(time.perf_counter() - scheduled)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self._settle()
        if reusable:
            self.ready(connection)
        elif connection.transport is not None:
            connection.transport.close()  # connection_lost() counts it out

    def lost(self, connection: _Connection) -> None:
        self.connections -= 1
        if connection in self.idle:
            self.idle.remove(connection)
        if connection.scheduled is not None:
            self._fail()
        self._connect_more()  # due requests may have been counting on this one

    def _fail(self) -> None:
        self.errors += 1
        self._settle()

    def _settle(self) -> None:
        self.outstanding -= 1
        if self.all_sent and self.outstanding == 0 and not self.finished.done():
            self.finished.set_result(None)


async def open_loop(url: str, rate: float, seconds: float, body: bytes,
                    max_connections: int = 512, max_idle: float = 2.0) -> dict[str, Any]:
    """POST `body` to `url` at `rate` per second for `seconds`; latency of each from its scheduled time."""
    host, port_text = url.removeprefix("http://").split("/", 1)[0].split(":")
    path = "/" + url.removeprefix("http://").split("/", 1)[1]
    request = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    load = _OpenLoop(host, int(port_text), request, max_connections, max_idle)
    total = int(rate * seconds)
    start = time.perf_counter() + 0.2
    sent = 0
    while sent < total:
        now = time.perf_counter()
        due = min(total, int((now - start) * rate) + 1) if now >= start else 0
        while sent < due:  # everything due by now leaves now, each timed from its own schedule
            load.fire(start + sent / rate)
            sent += 1
        # At least a millisecond: shorter sleeps return at once and the loop would spin. Whatever fell due
        # meanwhile leaves on the next pass, still timed from its own schedule.
        await asyncio.sleep(max(0.001, start + sent / rate - time.perf_counter()))
    load.all_sent = True
    if load.outstanding:
        await load.finished
    elapsed = time.perf_counter() - start
    return {"offered_rate": rate, "seconds": seconds, "sent": total, "statuses": load.statuses,
            "errors": load.errors, "elapsed_s": round(elapsed, 2), "latencies_ms": summary_ms(load.latencies)}
