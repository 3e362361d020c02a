"""A flood from one address: what reaches the Duty Inspector, and how long a real P1 inside it takes (#14).

    python -m bench.flood [--rounds 5] [--alone 10] [--bootstrap HOST:PORT] [--database-url ADMIN_URL]

Runs intake, triage and notify as real processes (`vigil <service> all`) on one broker, with a real SMTP server
in its own process, twice on the same stream: once with the 2026.11.1 ruleset (`cluster`: any three reports in a
force area within 24 hours; no flood grouping) and once with the packaged default (`cluster` against the place's
or district's own normal; floods from one source grouped under one page). The stream: P1 reports sent alone, one
a second, each from its own address (the reference latency); then rounds of 60 near-identical junk reports in
about two seconds from one address, with a real P1 from another address sent after the thirtieth. Latency is
from just before a P1's POST to the SMTP server accepting the Duty Inspector's alert naming it. Side by side:
Duty Inspector alerts sent, incidents needing the Duty Inspector, and community impact assessment prompts.
Nothing is asserted: the figures go to bench/results/flood.json and .md.
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

from bench import _servers
from bench._stats import percentile
from bench.e2e_latency import DUTY, arrivals, databases
from services.triage.rules import DEFAULT_RULESET, RULESETS
from shared.migrate import upgrade
from shared.topics import TopicNames, ensure_topics
from tests.factories import report_body
from tests.support.kafka_reader import headers_of, read_topic
from tests.support.services import ServiceProcess
from tests.support.smtp import smtp_process

RESULTS = Path(__file__).parent / "results"
SERVICES = ("intake", "triage", "notify")
RULESETS_COMPARED = {"old": RULESETS / "default-2026.11.1.yaml", "new": DEFAULT_RULESET}
CIA_TEAMS = ("snt-lead@vigil.invalid", "cl-officer@vigil.invalid")  # the shipped directory's prompt recipients
FLOOD = 60


def junk(n: int) -> dict[str, Any]:
    return report_body(reporter={"role": "witness", "anonymous": True}, consent__contact=False,
                       incident__types=["verbal_abuse"], incident__description=f"junk junk junk {n % 3}",
                       incident__location={"area": "E23000001", "postcode": "E1 6AN", "place_type": "street"})


def p1() -> dict[str, Any]:
    return report_body(reporter={"role": "victim", "anonymous": True}, consent__contact=False,
                       incident__types=["physical_assault", "threat"], incident__ongoing=True,
                       incident__description="Two men are outside my door now shouting that they will kill us.",
                       incident__location={"area": "E23000001", "postcode": "E1 7AA", "place_type": "home"})


def post(client: httpx.Client, body: dict[str, Any], address: str) -> tuple[str, float]:
    sent = time.time()  # wall clock: the SMTP server stamps its journal with it
    answer = client.post("/v1/reports", json=body, headers={"X-Forwarded-For": address})
    answer.raise_for_status()
    return answer.json()["reference"], sent


def alone(client: httpx.Client, count: int) -> dict[str, float]:
    """P1s with nothing else going on, one a second, each from its own address."""
    sent = {}
    for i in range(count):
        reference, at = post(client, p1(), f"198.51.100.{10 + i}")
        sent[reference] = at
        time.sleep(1.0)
    return sent


def flood_round(client: httpx.Client, k: int) -> tuple[set[str], str, float]:
    """Sixty junk reports from one address in about two seconds, a real P1 from another after the thirtieth."""
    address, lock = f"203.0.113.{k + 1}", threading.Lock()
    junk_refs: set[str] = set()

    def one(n: int) -> None:
        reference, _ = post(client, junk(n), address)
        with lock:
            junk_refs.add(reference)
        time.sleep(0.1)  # four senders at about 0.13 s a request: sixty in about two seconds

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(FLOOD // 2)))
        reference, at = post(client, p1(), f"198.51.100.{200 + k}")
        list(pool.map(one, range(FLOOD // 2, FLOOD)))
    return junk_refs, reference, at


def run_ruleset(name: str, ruleset: Path, bootstrap: str, admin_url: str | None, rounds: int,
                alone_count: int) -> dict[str, Any]:
    prefix = f"flood{name}{int(time.time())}."
    with _workdir() as work:
        journal = work / "smtp.jsonl"
        with smtp_process(journal) as (smtp_host, smtp_port), databases(admin_url, work) as all_urls:
            urls = {k: v for k, v in all_urls.items() if k in SERVICES}
            for service, url in urls.items():
                upgrade(service, url)
            ensure_topics(bootstrap, TopicNames(prefix), 6)
            env = {"VIGIL_ENVIRONMENT": "test", "VIGIL_KAFKA_BOOTSTRAP": bootstrap, "VIGIL_TOPIC_PREFIX": prefix,
                   "VIGIL_LOG_LEVEL": "WARNING", "VIGIL_TRUSTED_PROXIES": "127.0.0.1",
                   "TRIAGE_RULESET_FILE": str(ruleset), "NOTIFY_SMTP_HOST": smtp_host,
                   "NOTIFY_SMTP_PORT": str(smtp_port), "NOTIFY_CHANNELS": '["email"]',
                   **{f"{service.upper()}_DATABASE_URL": url for service, url in urls.items()}}
            with running(env, work) as procs, httpx.Client(base_url=procs["intake"].url, timeout=30) as client:
                _wait_for(journal, set(alone(client, 2)), 300)  # warm every path once
                quiet = alone(client, alone_count)
                _wait_for(journal, set(quiet), 300)
                flooded, junk_refs = {}, set()
                for k in range(rounds):
                    refs, reference, at = flood_round(client, k)
                    junk_refs |= refs
                    flooded[reference] = at
                    _wait_for(journal, {reference}, 300)
                    time.sleep(3.0)
                decisions = _latest_decisions(bootstrap, prefix, len(junk_refs) + len(flooded) + len(quiet) + 2)
                _wait_quiet(journal)
            got, mails = arrivals(journal), _mails(journal)
    return {"ruleset": _version(ruleset), "reports": len(junk_refs) + len(flooded),
            "p1_alone_ms": _latencies(quiet, got), "p1_in_flood_ms": _latencies(flooded, got),
            "pages_for_flood": sum(1 for m in mails if set(m["to"]) & set(DUTY) and _names(m, junk_refs)),
            "pages_for_p1s_in_flood": sum(1 for m in mails if set(m["to"]) & set(DUTY) and _names(m, set(flooded))),
            "cia_prompts": sum(1 for m in mails if set(m["to"]) & set(CIA_TEAMS)),
            "duty_inspector_alerts": sum(1 for m in mails if set(m["to"]) & set(DUTY)),
            "needing_duty_inspector": sum(1 for r in junk_refs if decisions.get(r, {}).get("needs_duty_inspector")),
            "covered_by_a_group": sum(1 for r in junk_refs if decisions.get(r, {}).get("paged_with_group")),
            "groups": len({d["group_id"] for r, d in decisions.items() if r in junk_refs and d.get("group_id")})}


@contextmanager
def running(env: dict[str, str], work: Path) -> Iterator[dict[str, ServiceProcess]]:
    procs: dict[str, ServiceProcess] = {}
    try:
        for service in SERVICES:
            procs[service] = ServiceProcess(service, env, work).start(timeout=120)
            if service == "intake":
                env = {**env, "VIGIL_INTAKE_INTERNAL_URL": procs[service].url}
        yield procs
    finally:
        for proc in procs.values():
            proc.stop()


@contextmanager
def _workdir() -> Iterator[Path]:
    """A temporary directory, kept when the run fails: the services' logs are in it."""
    work = Path(tempfile.mkdtemp(prefix="vigil-flood-"))
    yield work
    shutil.rmtree(work, ignore_errors=True)


def _wait_for(journal: Path, references: set[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not references <= set(arrivals(journal)):
        if time.monotonic() > deadline:
            raise RuntimeError(f"alerts for {references - set(arrivals(journal))} did not arrive in {timeout}s")
        time.sleep(0.2)


def _wait_quiet(journal: Path, quiet: float = 5.0, timeout: float = 300) -> None:
    deadline, last, since = time.monotonic() + timeout, -1, time.monotonic()
    while time.monotonic() < deadline:
        n = journal.stat().st_size if journal.exists() else 0
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.2)


def _latest_decisions(bootstrap: str, prefix: str, expect: int) -> dict[str, dict[str, Any]]:
    """reference -> its incident's latest decision (a grouped member may have had a later one)."""
    latest: dict[str, dict[str, Any]] = {}
    for record in read_topic(bootstrap, f"{prefix}vigil.incidents.v1", expect=expect, timeout=300, until=5):
        if headers_of(record).get("ce_type") == b"vigil.incident.triaged.v1":
            decision = json.loads(record.value)
            latest[decision["reference"]] = decision
    return latest


def _mails(journal: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()] if journal.exists() else []


def _names(mail: dict[str, Any], references: set[str]) -> bool:
    return any(r in mail["subject"] for r in references)


def _latencies(sent: dict[str, float], got: dict[str, float]) -> dict[str, float]:
    ms = [(got[r] - at) * 1000 for r, at in sent.items() if r in got]
    return {"n": len(ms), "p50": round(percentile(ms, 0.5), 1), "max": round(max(ms), 1),
            "mean": round(statistics.fmean(ms), 1)} if ms else {"n": 0}


def _version(path: Path) -> str:
    return path.stem.removeprefix("default-")


def write(result: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    result |= {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
               "python": platform.python_version(), "load_average_1m": os.getloadavg()[0],
               "measured_at": datetime.now(UTC).isoformat(timespec="seconds")}
    (RESULTS / "flood.json").write_text(json.dumps(result, indent=2) + "\n")
    old, new = result["old"], result["new"]
    rows = [("Duty Inspector alerts for the flood's reports", "pages_for_flood"),
            ("Duty Inspector alerts for the P1s sent inside the floods", "pages_for_p1s_in_flood"),
            ("Duty Inspector alerts in all (the P1s sent alone included)", "duty_inspector_alerts"),
            ("community impact assessment prompts in all (the P1s' included)", "cia_prompts"),
            ("flood reports needing the Duty Inspector", "needing_duty_inspector"),
            ("of those, covered by their group's page", "covered_by_a_group"),
            ("suspected flood groups", "groups")]
    lat = [("P1 alone: p50 / mean / max ms", "p1_alone_ms"), ("P1 inside a flood: p50 / mean / max ms",
                                                              "p1_in_flood_ms")]
    md = (f"# A flood from one address, old ruleset against new\n\n"
          f"{result['rounds']} rounds of {FLOOD} near-identical junk reports in about two seconds, each from its "
          f"own address, with a real P1 from another address sent after the thirtieth; {result['alone']} P1s sent "
          f"alone first. The same stream under each ruleset, on fresh databases.\n\n"
          f"| | {old['ruleset']} (old) | {new['ruleset']} (new) |\n|---|---:|---:|\n"
          + "".join(f"| {label} | {old[key]} | {new[key]} |\n" for label, key in rows)
          + "".join(f"| {label} | {_lat(old[key])} | {_lat(new[key])} |\n" for label, key in lat)
          + "\nLatency: from just before the P1's POST to the SMTP server accepting the Duty Inspector's alert "
          "naming it (intake, triage and notify as real processes). Not asserted anywhere.\n\n"
          f"Databases: {_servers.describe_postgres(result['postgresql']) if 'postgresql' in result else 'SQLite'}. "
          f"Machine: {result['machine']} (1-minute load average {result['load_average_1m']:.1f} at the end, other "
          f"work included); Python {result['python']}; measured {result['measured_at']}.\n")
    path = RESULTS / "flood.md"
    path.write_text(md)
    return path


def _lat(v: dict[str, float]) -> str:
    return f"{v['p50']} / {v['mean']} / {v['max']} (n={v['n']})" if v.get("n") else "none arrived"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--alone", type=int, default=10)
    p.add_argument("--bootstrap", default=os.environ.get("VIGIL_TEST_KAFKA_BOOTSTRAP"))
    p.add_argument("--database-url", default=os.environ.get("VIGIL_TEST_DATABASE_URL"),
                   help="a PostgreSQL admin URL where fresh databases are made (default: the tests' server when "
                        "VIGIL_TEST_DATABASE_URL is set, else a local server that waits for the disk, ADR 0048)")
    args = p.parse_args(argv)
    with _servers.kafka(args.bootstrap) as bootstrap, _servers.postgres(args.database_url) as admin_url:
        result: dict[str, Any] = {"rounds": args.rounds, "alone": args.alone}
        for name, ruleset in RULESETS_COMPARED.items():
            print(f"flood: running the {name} ruleset ({_version(ruleset)})", flush=True)
            result[name] = run_ruleset(name, ruleset, bootstrap, admin_url, args.rounds, args.alone)
        result["postgresql"] = _servers.postgres_settings(admin_url)
    print(write(result).read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
