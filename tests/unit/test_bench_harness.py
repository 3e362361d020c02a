"""The intake benchmark's own logic: the open-loop generator against a real local HTTP server, and the
search for the highest rate that keeps p99 within target, and the CPU it charges each server."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import pytest

from bench import intake_load
from bench._openloop import open_loop
from bench._stats import percentile, summary_ms
from infra.procs import cpu_seconds, descendants, wait_until
from tests.support.loops import on_a_loop_of_its_own


async def _serve_then_load(rate: float, seconds: float, close_every: int = 0,
                           **options: Any) -> dict[str, Any]:
    answered = connections = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal answered, connections
        connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                await reader.readexactly(length)
                answered += 1
                closing = close_every and answered % close_every == 0
                writer.write(b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n"
                             + (b"connection: close\r\n" if closing else b"") + b"\r\n{}")
                await writer.drain()
                if closing:
                    writer.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        result = await open_loop(f"http://127.0.0.1:{port}/v1/reports", rate, seconds, b'{"a": 1}', **options)
    return {**result, "connections": connections}


def test_the_open_loop_generator_sends_every_request_and_times_each_one() -> None:
    result = on_a_loop_of_its_own(_serve_then_load(rate=200, seconds=1.0))
    assert result["sent"] == 200 and result["statuses"] == {202: 200} and result["errors"] == 0
    assert 0 < result["latencies_ms"]["p50"] <= result["latencies_ms"]["p99"] <= result["latencies_ms"]["max"]


def test_the_generator_reconnects_when_the_server_closes_kept_alive_connections() -> None:
    result = on_a_loop_of_its_own(_serve_then_load(rate=200, seconds=0.5, close_every=7))
    assert result["statuses"] == {202: 100} and result["errors"] == 0


def test_a_connection_idle_longer_than_max_idle_is_closed_not_reused() -> None:
    # five requests 100 ms apart: a connection idle for more than 50 ms is not trusted with the next one
    fresh = on_a_loop_of_its_own(_serve_then_load(rate=10, seconds=0.5, max_idle=0.05))
    kept = on_a_loop_of_its_own(_serve_then_load(rate=10, seconds=0.5, max_idle=10.0))
    assert fresh["statuses"] == kept["statuses"] == {202: 5} and fresh["errors"] == kept["errors"] == 0
    assert fresh["connections"] == 5 and kept["connections"] == 1


def test_a_refused_connection_is_an_error_not_a_hang() -> None:
    async def refused() -> dict[str, Any]:
        probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = probe.sockets[0].getsockname()[1]
        probe.close()
        await probe.wait_closed()
        return await open_loop(f"http://127.0.0.1:{port}/x", 50, 0.2, b"{}")

    result = on_a_loop_of_its_own(refused(), timeout=30)
    assert result["errors"] == result["sent"] == 10 and result["statuses"] == {}


def _loop(rate: float, p99: float) -> dict[str, Any]:
    return {"offered_rate": rate, "latencies_ms": {"p99": p99}, "errors": 0}


@pytest.mark.parametrize(("p99_by_rate", "expected", "runs"), [
    ({}, 1000.0, []),  # the target itself holds: nothing more is run
    ({900: 500.0}, 851.0, [900]),  # only 70% of peak holds
    ({900: 90.0}, 900, [900]),
    ({900: 500.0, 810: 80.0}, None, [900]),  # 810 is below the 70% floor of 851: not tried; floor fails too
])
def test_the_highest_rate_within_p99_steps_down_by_tenths_to_70_percent_of_peak(
        monkeypatch: pytest.MonkeyPatch, p99_by_rate: dict[int, float], expected: float | None,
        runs: list[int]) -> None:
    ran: list[int] = []

    def generator(_url: str, rate: float, _seconds: float, _body: Any) -> dict[str, Any]:
        ran.append(int(rate))
        return _loop(rate, p99_by_rate[int(rate)])

    monkeypatch.setattr(intake_load, "run_generator", generator)
    at_target = _loop(1000.0, 50.0 if not p99_by_rate else 845.0)
    at_floor = _loop(851.0, 500.0 if expected is None else 77.0)
    found = intake_load.within_p99("http://x", at_target, at_floor, 10, None)  # type: ignore[arg-type]
    assert found["rate"] == expected and ran == runs


def test_when_70_percent_of_peak_is_above_the_target_it_is_the_other_candidate(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def generator(*_args: Any) -> dict[str, Any]:
        raise AssertionError("no rate between the target and a floor above it")

    monkeypatch.setattr(intake_load, "run_generator", generator)
    at_target = _loop(1000.0, 215.0)
    assert intake_load.within_p99("http://x", at_target, _loop(1064.0, 63.0), 10, None)["rate"] == 1064.0  # type: ignore[arg-type]
    assert intake_load.within_p99("http://x", at_target, _loop(1064.0, 300.0), 10, None)["rate"] is None  # type: ignore[arg-type]


def test_every_benchmark_takes_percentiles_the_same_way() -> None:
    samples = [i / 1000 for i in range(100, 0, -1)]  # 1..100 ms, unsorted
    assert percentile(samples, 0.5) == 0.051 and percentile(samples, 0.99) == percentile(samples, 1.0) == 0.1
    assert summary_ms(samples) == {"p50": 51.0, "p90": 91.0, "p99": 100.0, "p999": 100.0, "max": 100.0,
                                   "mean": 50.5}
    assert summary_ms([]) == {}


def test_cpu_is_charged_to_a_process_and_everything_under_it() -> None:
    """The benchmark's CPU per answer: a child that burns CPU is found under its parent and its time counted."""
    burn = "import sys, time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\nsys.stdin.read()"
    child = subprocess.Popen([sys.executable, "-c", burn], stdin=subprocess.PIPE)
    try:
        assert child.pid in descendants(os.getpid())
        wait_until(lambda: cpu_seconds([child.pid]) >= 0.25, 30, "the child to use 0.3 s of CPU")
        assert cpu_seconds([child.pid, 2**22 + 7]) >= 0.25, "a process id that is not running counts nothing"
    finally:
        child.kill()
        child.wait(10)
