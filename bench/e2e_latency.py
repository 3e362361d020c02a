"""End to end: a report submitted over HTTP to the Duty Inspector's alert accepted by the SMTP server.

    python -m bench.e2e_latency [--seconds 20] [--rate N] [--bootstrap HOST:PORT] [--database-url ADMIN_URL] [--sqlite]

Runs intake, triage, notify and assessment as real processes (`vigil <service> all`) on one broker,
with a real SMTP server in this process. First the pipeline's peak: a burst of reports that need the
Duty Inspector, sent as fast as intake takes them, and the rate at which their alerts came out of the
far end (first send to last alert); intake's own accepting rate is reported beside it. Then reports are
sent open-loop at 70% of the pipeline's peak (or `--rate`), and each report's latency is the time from
just before its POST to the moment the SMTP server accepted the alert naming its reference. The latency
is split into stages by the Kafka record timestamps of `report.submitted` and `incident.triaged`, so a
slow stage shows itself. Resident memory of every service is sampled throughout.
Targets (docs/design.md, "Performance targets"): p50 <= 50 ms, p99 <= 250 ms at 70% of peak load;
under 200 MB per service.
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
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import _servers
from bench._stats import percentile
from shared.migrate import upgrade
from shared.topics import TopicNames, ensure_topics
from tests.factories import report_body
from tests.support.infra import scratch_databases
from tests.support.services import ServiceProcess
from tests.support.smtp import smtp_process

RESULTS = Path(__file__).parent / "results"
SERVICES = ("intake", "triage", "notify", "assessment")
DUTY = ("di-north@vigil.invalid", "di-south@vigil.invalid")


def critical_report() -> dict[str, Any]:
    """Assault with a minor injury: the `violence` rule, P2, needs the Duty Inspector."""
    return report_body(incident__types=["physical_assault"], incident__injuries="minor", consent__contact=False)


@contextmanager
def databases(admin_url: str | None, workdir: Path) -> Iterator[dict[str, str]]:
    """A database per service: on the given PostgreSQL (dropped after the run), else SQLite files."""
    if not admin_url:
        yield {name: f"sqlite:///{workdir / name}.db" for name in SERVICES}
        return
    with scratch_databases(admin_url) as create:
        yield {name: create(f"bench_{name}") for name in SERVICES}


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


def cpu_seconds(procs: dict[str, ServiceProcess]) -> dict[str, float]:
    """CPU time (user + system) each service's process has used so far."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {}
    for name, proc in procs.items():
        fields = Path(f"/proc/{proc.proc.pid}/stat").read_text().rsplit(")", 1)[1].split() if proc.proc else []
        used[name] = (int(fields[11]) + int(fields[12])) / tick if fields else 0.0
    return used


def burst(url: str, count: int, clients: int = 8) -> tuple[set[str], float, float]:
    """`count` reports from `clients` threads as fast as intake answers: (references, start, end) in wall time."""
    references: set[str] = set()
    lock = threading.Lock()
    left = [count]

    def worker(_i: int) -> None:
        with httpx.Client(timeout=30) as client:
            while True:
                with lock:
                    if left[0] == 0:
                        return
                    left[0] -= 1
                answer = client.post(f"{url}/v1/reports", json=critical_report())
                if answer.status_code == 202:
                    with lock:
                        references.add(answer.json()["reference"])

    started = time.time()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    return references, started, time.time()


def pipeline_peak(url: str, journal: Path, count: int) -> dict[str, float]:
    """The whole pipeline's peak: alerts out per second for a burst of reports in (and intake's own rate)."""
    references, started, accepted = burst(url, count)
    _wait_for(journal, references, 600)
    alerts = arrivals(journal)
    last = max(alerts[r] for r in references)
    return {"pipeline": len(references) / (last - started), "intake": len(references) / (accepted - started)}


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


def stage_breakdown(bootstrap: str, prefix: str, sent: dict[str, float], alerts: dict[str, float]) -> dict[str, Any]:
    """Where each report's time went, from the Kafka timestamps (set when the outbox relay sent the record):
    intake (POST to report.submitted on Kafka), triage (to incident.triaged on Kafka), notify (to the
    alert accepted by the SMTP server). Milliseconds, p50 and p99 of each stage."""
    on_kafka = {"submitted": _first_at(bootstrap, f"{prefix}vigil.reports.v1", "vigil.report.submitted.v1"),
                "triaged": _first_at(bootstrap, f"{prefix}vigil.incidents.v1", "vigil.incident.triaged.v1")}
    spans: dict[str, list[float]] = {"intake": [], "triage": [], "notify": []}
    for ref, at in sent.items():
        submitted, triaged, alert = on_kafka["submitted"].get(ref), on_kafka["triaged"].get(ref), alerts.get(ref)
        if submitted is None or triaged is None or alert is None:
            continue
        spans["intake"].append(submitted - at)
        spans["triage"].append(triaged - submitted)
        spans["notify"].append(alert - triaged)
    return {name: {"p50_ms": round(percentile(v, 0.5) * 1000, 1), "p99_ms": round(percentile(v, 0.99) * 1000, 1)}
            for name, v in spans.items() if v}


def _first_at(bootstrap: str, topic: str, ce_type: str) -> dict[str, float]:
    """reference -> the record timestamp (s) of the first event of `ce_type` naming it."""
    from tests.support.kafka_reader import headers_of, read_topic

    first: dict[str, float] = {}
    for record in read_topic(bootstrap, topic, expect=1, timeout=60, until=2):
        if headers_of(record).get("ce_type") == ce_type.encode():
            first.setdefault(json.loads(record.value)["reference"], record.timestamp / 1000)
    return first


def run(seconds: float, rate: float | None, bootstrap: str, admin_url: str | None,
        burst_size: int = 200) -> dict[str, Any]:
    prefix = f"bench{int(time.time())}."
    with _workdir() as work:
        journal = work / "smtp.jsonl"
        with smtp_process(journal) as (smtp_host, smtp_port), databases(admin_url, work) as urls:
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
                    peak = pipeline_peak(intake, journal, burst_size)
                    target = rate or 0.7 * peak["pipeline"]
                    _wait_quiet(journal)
                    cpu_before = cpu_seconds(procs)
                    sent = open_loop(intake, target, seconds)
                    _wait_for(journal, set(sent), 300)
                    cpu_used = {k: v - cpu_before[k] for k, v in cpu_seconds(procs).items()}
                got = arrivals(journal)
                latencies = [got[ref] - at for ref, at in sent.items() if ref in got]
                stages = stage_breakdown(bootstrap, prefix, sent, got)
            finally:
                for proc in procs.values():
                    proc.stop()
    return {"peak_reports_per_s": round(peak["pipeline"], 1), "intake_peak_reports_per_s": round(peak["intake"], 1),
            "burst": burst_size, "stages": stages,
            "cpu_ms_per_report": {k: round(v * 1000 / max(len(sent), 1), 1) for k, v in cpu_used.items()},
            "rate": round(target, 1), "seconds": seconds, "sent": len(sent),
            "alerted": len(latencies), "p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
            "p90_ms": round(percentile(latencies, 0.9) * 1000, 1),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 1), "max_ms": round(max(latencies) * 1000, 1),
            "mean_ms": round(statistics.fmean(latencies) * 1000, 1),
            "peak_rss_mb": {k: round(v, 1) for k, v in memory.peak_mb.items()},
            "database": "postgresql" if admin_url else "sqlite", "load_average_1m": os.getloadavg()[0],
            **({"postgresql": _servers.postgres_settings(admin_url)} if admin_url else {})}


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


def write(result: dict[str, Any], name: str = "e2e-latency") -> Path:
    RESULTS.mkdir(exist_ok=True)
    result |= {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
               "python": platform.python_version(), "measured_at": datetime.now(UTC).isoformat(timespec="seconds")}
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    rss = " · ".join(f"{k} {v:.0f} MB" for k, v in result["peak_rss_mb"].items())
    ok = result["p50_ms"] <= 50 and result["p99_ms"] <= 250
    md = (f"# End to end: report submitted to Duty Inspector alert sent\n\n"
          f"| | value |\n|---|---:|\n"
          f"| pipeline peak: alerts out per second, burst of {result['burst']} reports | "
          f"{result['peak_reports_per_s']} reports/s |\n"
          f"| intake's accepting rate during that burst | {result['intake_peak_reports_per_s']} reports/s |\n"
          f"| offered load (open loop, 70% of the pipeline's peak) | {result['rate']} reports/s for "
          f"{result['seconds']} s |\n"
          f"| reports sent / alerted | {result['sent']} / {result['alerted']} |\n"
          f"| p50 | {result['p50_ms']} ms |\n| p90 | {result['p90_ms']} ms |\n| p99 | {result['p99_ms']} ms |\n"
          f"| max | {result['max_ms']} ms |\n\n"
          f"Targets p50 <= 50 ms, p99 <= 250 ms: **{'met' if ok else 'NOT met'}**.\n\n"
          f"Where the time went (from the Kafka record timestamps; p50 / p99 ms):\n\n"
          f"| stage | p50 | p99 |\n|---|---:|---:|\n"
          + "".join(f"| {name} | {v['p50_ms']} | {v['p99_ms']} |\n" for name, v in result["stages"].items())
          + "\nintake: POST to `report.submitted` on Kafka; triage: to `incident.triaged` on Kafka; notify: to "
          "the alert accepted by the SMTP server.\n\n"
          "CPU per report during the open loop (all of a service's threads): "
          + " · ".join(f"{k} {v} ms" for k, v in result["cpu_ms_per_report"].items()) + ".\n\n"
          f"Peak resident memory per service: {rss} (target < 200 MB each).\n\n"
          f"Databases: {_servers.describe_postgres(result['postgresql']) if 'postgresql' in result else 'SQLite'}."
          f" Machine: {result['machine']} (1-minute load average "
          f"{result['load_average_1m']:.1f} at the end, other work included); Python {result['python']}; "
          f"measured {result['measured_at']}.\n")
    path = RESULTS / f"{name}.md"
    path.write_text(md)
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--rate", type=float, default=None, help="reports/s (default: 70%% of the measured peak)")
    p.add_argument("--burst", type=int, default=200, help="reports in the burst that finds the pipeline's peak")
    p.add_argument("--name", default="e2e-latency", help="result file name (in bench/results/)")
    p.add_argument("--bootstrap", default=os.environ.get("VIGIL_TEST_KAFKA_BOOTSTRAP"))
    p.add_argument("--database-url", default=None,
                   help="a PostgreSQL admin URL where fresh databases are made (default: as the tests find one, "
                        "else a local server that waits for the disk, ADR 0048)")
    p.add_argument("--sqlite", action="store_true", help="SQLite files instead of PostgreSQL (the development default)")
    args = p.parse_args(argv)
    with _servers.kafka(args.bootstrap) as bootstrap, \
            (nullcontext(None) if args.sqlite else _servers.postgres(args.database_url)) as admin_url:
        result = run(args.seconds, args.rate, bootstrap, admin_url, args.burst)
    print(write(result, args.name).read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
