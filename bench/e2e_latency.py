"""End to end: a report submitted over HTTP to the Duty Inspector's alert accepted by the SMTP server.

    python -m bench.e2e_latency [--seconds 20] [--rate N] [--bootstrap HOST:PORT] [--database-url ADMIN_URL]

Runs intake, triage, notify and assessment as real processes (`vigil <service> all`) on one broker,
with a real SMTP server in this process. First a short closed-loop burst finds intake's peak
(accepted reports/s); then reports that need the Duty Inspector are sent open-loop at 70% of that
peak (or `--rate`), and each report's latency is the time from just before its POST to the moment
the SMTP server accepted the alert naming its reference. Resident memory of every service is
sampled throughout. Targets (DESIGN.md): p50 <= 50 ms, p99 <= 250 ms; under 200 MB per service.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from shared.migrate import upgrade
from shared.topics import TopicNames, ensure_topics
from tests.factories import report_body
from tests.support.services import ServiceProcess
from tests.support.smtp import smtp_process

RESULTS = Path(__file__).parent / "results"
SERVICES = ("intake", "triage", "notify", "assessment")
DUTY = ("di-north@vigil.invalid", "di-south@vigil.invalid")


def critical_report() -> dict[str, Any]:
    """Assault with a minor injury: the `violence` rule, P2, needs the Duty Inspector."""
    return report_body(incident__types=["physical_assault"], incident__injuries="minor", consent__contact=False)


def databases(admin_url: str | None, workdir: Path) -> dict[str, str]:
    if admin_url:
        from tests.support.infra import create_database

        return {name: create_database(admin_url, f"bench_{name}") for name in SERVICES}
    return {name: f"sqlite:///{workdir / name}.db" for name in SERVICES}


class Memory:
    """Samples each service's resident set size (VmRSS) every 200 ms; keeps the peak."""

    def __init__(self, procs: dict[str, ServiceProcess]) -> None:
        self.procs = procs
        self.peak_mb: dict[str, float] = dict.fromkeys(procs, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            for name, proc in self.procs.items():
                if proc.proc is None:
                    continue
                try:
                    status = Path(f"/proc/{proc.proc.pid}/status").read_text()
                except OSError:
                    continue
                kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
                self.peak_mb[name] = max(self.peak_mb[name], kb / 1024)

    def __enter__(self) -> Memory:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(2)


def peak_rate(url: str, seconds: float = 4.0, clients: int = 16) -> float:
    """Closed loop: `clients` threads posting as fast as intake answers."""
    deadline = time.monotonic() + seconds
    counts = [0] * clients

    def worker(i: int) -> None:
        with httpx.Client(timeout=10) as client:
            while time.monotonic() < deadline:
                if client.post(f"{url}/v1/reports", json=critical_report()).status_code == 202:
                    counts[i] += 1

    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    return sum(counts) / (time.monotonic() - started)


def open_loop(url: str, rate: float, seconds: float) -> dict[str, float]:
    """Sends at fixed intervals whatever the answers do; returns reference -> send time (wall clock)."""
    sent: dict[str, float] = {}
    lock = threading.Lock()
    local = threading.local()

    def one(at: float) -> None:
        client = getattr(local, "client", None) or httpx.Client(timeout=10)
        local.client = client
        answer = client.post(f"{url}/v1/reports", json=critical_report())
        if answer.status_code == 202:
            with lock:
                sent[answer.json()["reference"]] = at

    interval, start = 1.0 / rate, time.monotonic()
    with ThreadPoolExecutor(64) as pool:
        for i in range(int(rate * seconds)):
            due = start + i * interval
            time.sleep(max(0.0, due - time.monotonic()))
            pool.submit(one, time.time())  # wall clock: the SMTP server stamps its journal with it
    return sent


def arrivals(journal: Path) -> dict[str, float]:
    """reference -> when the SMTP server accepted the first Duty Inspector alert naming it."""
    got: dict[str, float] = {}
    if not journal.exists():
        return got
    for line in journal.read_text(encoding="utf-8").splitlines():
        mail = json.loads(line)
        if set(mail["to"]) & set(DUTY) and "Critical incident " in mail["subject"]:
            reference = mail["subject"].split("Critical incident ", 1)[1].split(" ", 1)[0]
            got.setdefault(reference, mail["t"])
    return got


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(seconds: float, rate: float | None, bootstrap: str, admin_url: str | None) -> dict[str, Any]:
    prefix = f"bench{int(time.time())}."
    with _workdir() as work:
        journal = work / "smtp.jsonl"
        with smtp_process(journal) as (smtp_host, smtp_port):
            urls = databases(admin_url, work)
            for name, url in urls.items():
                upgrade(name, url)
            # Topics first: a consumer that subscribes before its topic exists can wait minutes to see it.
            ensure_topics(bootstrap, TopicNames(prefix), 6)
            env = {"VIGIL_ENVIRONMENT": "test", "VIGIL_KAFKA_BOOTSTRAP": bootstrap, "VIGIL_TOPIC_PREFIX": prefix,
                   "VIGIL_LOG_LEVEL": "WARNING", "INTAKE_RATE_LIMIT_ENABLED": "false", "NOTIFY_SMTP_HOST": smtp_host,
                   "NOTIFY_SMTP_PORT": str(smtp_port), "NOTIFY_CHANNELS": '["email","log"]',
                   **{f"{name.upper()}_DATABASE_URL": url for name, url in urls.items()}}
            procs: dict[str, ServiceProcess] = {}
            try:
                for name in SERVICES:
                    procs[name] = ServiceProcess(name, env, work).start(timeout=120)
                intake = procs["intake"].url
                warm = [httpx.post(f"{intake}/v1/reports", json=critical_report(), timeout=10) for _ in range(5)]
                _wait_for(journal, {a.json()["reference"] for a in warm}, 300)
                with Memory(procs) as memory:
                    peak = peak_rate(intake)
                    target = rate or 0.7 * peak
                    _wait_quiet(journal)
                    sent = open_loop(intake, target, seconds)
                    _wait_for(journal, set(sent), 300)
                got = arrivals(journal)
                latencies = [got[ref] - at for ref, at in sent.items() if ref in got]
            finally:
                for proc in procs.values():
                    proc.stop()
    return {"peak_reports_per_s": round(peak, 1), "rate": round(target, 1), "seconds": seconds, "sent": len(sent),
            "alerted": len(latencies), "p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
            "p90_ms": round(percentile(latencies, 0.9) * 1000, 1),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 1), "max_ms": round(max(latencies) * 1000, 1),
            "mean_ms": round(statistics.fmean(latencies) * 1000, 1),
            "peak_rss_mb": {k: round(v, 1) for k, v in memory.peak_mb.items()},
            "database": "postgresql" if admin_url else "sqlite", "load_average_1m": os.getloadavg()[0]}


@contextmanager
def _workdir() -> Iterator[Path]:
    """A temporary directory, kept when the run fails: the services' logs are in it."""
    work = Path(tempfile.mkdtemp(prefix="vigil-e2e-"))
    yield work
    shutil.rmtree(work, ignore_errors=True)


def _wait_for(journal: Path, references: set[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if references <= set(arrivals(journal)):
            return
        time.sleep(0.2)
    missing = references - set(arrivals(journal))
    raise RuntimeError(f"{len(missing)} of {len(references)} alerts did not arrive in {timeout}s")


def _wait_quiet(journal: Path, quiet: float = 2.0, timeout: float = 300) -> None:
    """Let the peak burst's alerts drain, so they do not count against the measured run."""
    deadline, last, since = time.monotonic() + timeout, -1, time.monotonic()
    while time.monotonic() < deadline:
        n = journal.stat().st_size if journal.exists() else 0
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.2)


def write(result: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    result |= {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
               "python": platform.python_version(), "measured_at": datetime.now(UTC).isoformat(timespec="seconds")}
    (RESULTS / "e2e-latency.json").write_text(json.dumps(result, indent=2) + "\n")
    rss = " · ".join(f"{k} {v:.0f} MB" for k, v in result["peak_rss_mb"].items())
    ok = result["p50_ms"] <= 50 and result["p99_ms"] <= 250
    md = (f"# End to end: report submitted to Duty Inspector alert sent\n\n"
          f"| | value |\n|---|---:|\n| intake peak (closed loop) | {result['peak_reports_per_s']} reports/s |\n"
          f"| offered load (open loop, 70% of peak) | {result['rate']} reports/s for {result['seconds']} s |\n"
          f"| reports sent / alerted | {result['sent']} / {result['alerted']} |\n"
          f"| p50 | {result['p50_ms']} ms |\n| p90 | {result['p90_ms']} ms |\n| p99 | {result['p99_ms']} ms |\n"
          f"| max | {result['max_ms']} ms |\n\n"
          f"Targets p50 <= 50 ms, p99 <= 250 ms: **{'met' if ok else 'NOT met'}**.\n\n"
          f"Peak resident memory per service: {rss} (target < 200 MB each).\n\n"
          f"Databases: {result['database']}. Machine: {result['machine']} (1-minute load average "
          f"{result['load_average_1m']:.1f} at the end, other work included); Python {result['python']}; "
          f"measured {result['measured_at']}.\n")
    path = RESULTS / "e2e-latency.md"
    path.write_text(md)
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--rate", type=float, default=None, help="reports/s (default: 70%% of the measured peak)")
    p.add_argument("--bootstrap", default=os.environ.get("VIGIL_TEST_KAFKA_BOOTSTRAP"))
    p.add_argument("--database-url", default=os.environ.get("VIGIL_TEST_DATABASE_URL"),
                   help="a PostgreSQL admin URL (fresh databases are created); SQLite files when absent")
    args = p.parse_args(argv)
    if args.bootstrap:
        result = run(args.seconds, args.rate, args.bootstrap, args.database_url)
    else:
        from infra.kafka.local import LocalKafka

        with tempfile.TemporaryDirectory(prefix="vigil-e2e-kafka-") as tmp, LocalKafka(Path(tmp)) as broker:
            result = run(args.seconds, args.rate, broker.bootstrap, args.database_url)
    print(write(result).read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
