"""Faults, proven with real processes: workers killed with SIGKILL mid-stream, PostgreSQL restarted and the
broker stopped under load.

    python -m bench faults [--kills 3] [--gap 30] [--bootstrap HOST:PORT] [--database-url ADMIN_URL]

Each scenario counts what happened; tests/integration/test_faults.py runs each once and asserts on the
counts, this benchmark repeats the kills (a bounded number of times) and stops the broker for the full gap,
and writes bench/results/faults.json and .md. A kill happens when an event count is reached (records on a
topic, alerts at the SMTP server, events folded), never after a time. PostgreSQL and the broker that are
stopped are this run's own (`OwnServers`), never a shared one, and are stopped by process id afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.consumer.fetcher import ConsumerRecord
from sqlalchemy import create_engine, make_url, text

from infra.kafka.local import LocalKafka
from infra.postgres.local import LocalPostgres
from infra.procs import stop_processes
from services.assessment.rebuild import Rebuild, live_digest
from services.assessment.settings import AssessmentSettings
from shared.clock import SystemClock
from shared.db import Database
from shared.events.base import Envelope, Event
from shared.events.incidents import IncidentTriaged, MatchedRule, Priority
from shared.events.reports import ReportAmended, ReportSubmitted
from shared.kafka import encode, make_producer
from shared.migrate import upgrade
from shared.outbox import RELAY_LOCK
from shared.topics import AREAS, INCIDENTS, NOTIFICATIONS, PARTNER, REPORTS, TopicNames, dlq, ensure_topics
from tests.factories import report_body
from tests.support.infra import postgres_home, scratch_databases
from tests.support.services import ServiceProcess
from tests.support.smtp import smtp_server
from tests.support.waiting import eventually

RESULTS = Path(__file__).parent / "results"
FORCE_AREAS = ("E23000001", "E23000005", "E23000007", "W15000004")
DUTY_INSPECTOR = "di.one@police.example"


# Where a scenario runs -------------------------------------------------------------------------------------


@dataclass
class Place:
    """A broker, a way to make databases, a log directory and a topic prefix of the scenario's own."""

    bootstrap: str
    new_database: Callable[[str], str]
    logdir: Path
    prefix: str = field(default_factory=lambda: f"f{uuid.uuid4().hex[:8]}.")
    partitions: int = 6

    @property
    def names(self) -> TopicNames:
        return TopicNames(self.prefix)

    def env(self, **more: str) -> dict[str, str]:
        return {"VIGIL_ENVIRONMENT": "test", "VIGIL_KAFKA_BOOTSTRAP": self.bootstrap,
                "VIGIL_TOPIC_PREFIX": self.prefix, "VIGIL_TOPIC_PARTITIONS": str(self.partitions), **more}

    def database(self, service: str) -> str:
        url = self.new_database(service)
        upgrade(service, url)
        return url

    def topics(self) -> None:
        """Made before any worker subscribes; tried again while a busy broker is slow to show them."""
        def made() -> bool:
            ensure_topics(self.bootstrap, self.names, self.partitions)
            return True

        eventually(made, 90, "the topics")


@dataclass
class OwnServers:
    """A broker and a PostgreSQL server (waiting for the disk, so a 202 is durable) that a scenario may stop."""

    kafka: LocalKafka
    postgres: LocalPostgres

    def place(self, new_database: Callable[[str], str], logdir: Path) -> Place:
        return Place(self.kafka.bootstrap, new_database, logdir)


@contextmanager
def own_servers(workdir: Path) -> Iterator[tuple[OwnServers, Callable[[str], str]]]:
    """Started here, stopped here by process id even when the scenario fails; with a database maker."""
    with postgres_home() as home, LocalKafka(workdir / "kafka") as kafka, \
            LocalPostgres(home / "server", durable=True) as postgres, scratch_databases(postgres.url) as create:
        yield OwnServers(kafka, postgres), create


class Sql:
    """A few questions to one service's database, asked from outside the service."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, pool_pre_ping=True)

    def scalar(self, query: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(query), params).scalar()

    def rows(self, query: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(query), params))

    def inbox(self, consumer: str) -> int:
        return int(self.scalar("SELECT count(*) FROM inbox WHERE consumer = :c", c=consumer))

    def relay_caught_up(self) -> bool:
        return bool(self.scalar("SELECT (SELECT coalesce(max(position), 0) FROM relay_position) "
                                ">= (SELECT coalesce(max(seq), 0) FROM event_log)"))

    def relay_holder(self) -> str | None:
        """The application name of the connection holding the relay lock."""
        holder = self.scalar("SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                             "WHERE l.locktype = 'advisory' AND l.granted AND l.objid = :k AND l.database = "
                             "(SELECT oid FROM pg_database WHERE datname = current_database())", k=RELAY_LOCK)
        return str(holder) if holder else None

    def close(self) -> None:
        self.engine.dispose()


# Processes and topics --------------------------------------------------------------------------------------


class Fleet:
    """Several processes of one service on one database and consumer groups, each named in its connections."""

    def __init__(self, service: str, env: dict[str, str], logdir: Path, size: int) -> None:
        setting = f"{service.upper()}_DATABASE_URL"
        self.names = [f"{service}-{i}" for i in range(size)]
        self.procs = [ServiceProcess(service, {**env, setting: named(env[setting], name)}, logdir)
                      for name in self.names]
        for name, proc in zip(self.names, self.procs, strict=True):
            proc.logfile = logdir / f"{name}.log"

    def start(self) -> Fleet:
        with ThreadPoolExecutor(len(self.procs)) as pool:
            for started in [pool.submit(proc.start) for proc in self.procs]:
                started.result()
        return self

    def relay_holder(self, sql: Sql) -> int:
        """Which process publishes the outbox (the one killed: a relay crash is the harder case)."""
        holder = eventually(sql.relay_holder, 60, "a worker to take the relay lock")
        return self.names.index(holder)

    def kill(self, index: int) -> None:
        self.procs[index].kill()

    def stop(self) -> None:
        stop_processes([p.proc for p in self.procs if p.proc is not None], grace=20)


def named(url: str, name: str) -> str:
    """The URL with an application name, so pg_stat_activity tells whose connection holds a lock."""
    return str(make_url(url).update_query_dict({"application_name": name}).render_as_string(hide_password=False))


def group_is_stable(bootstrap: str, group: str, members: int) -> bool:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="faults-admin")
    try:
        info = admin.describe_groups([group])[group]
        return info["group_state"] == "Stable" and len(info["members"]) == members
    finally:
        admin.close()


class TopicWatch:
    """Every record of some topics from offset 0, read as they arrive: for checkpoints and the final count."""

    def __init__(self, bootstrap: str, topics: list[str]) -> None:
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                      client_id=f"faults-watch-{uuid.uuid4().hex[:6]}")
        self.partitions = [TopicPartition(t, p) for t in topics
                           for p in sorted(self.consumer.partitions_for_topic(t) or ())]
        self.consumer.assign(self.partitions)
        self.consumer.seek_to_beginning(*self.partitions)
        self.records: list[ConsumerRecord] = []

    def read(self) -> list[ConsumerRecord]:
        for batch in self.consumer.poll(timeout_ms=100, max_records=10_000).values():
            self.records.extend(batch)
        return self.records

    def count(self, event: type[Event]) -> int:
        return sum(1 for r in self.read() if dict(r.headers)["ce_type"] == event.TYPE.encode())

    def to_the_end(self, timeout: float = 60.0) -> list[ConsumerRecord]:
        ends = self.consumer.end_offsets(self.partitions)
        eventually(lambda: self.read() is not None and all(self.consumer.position(tp) >= end
                                                           for tp, end in ends.items()),
                   timeout, "every record up to the topics' ends")
        return self.records

    def close(self) -> None:
        self.consumer.close()


@dataclass
class Publication:
    """An outbox against its topics: what is missing, what is there twice, what arrived out of order."""

    events: int
    records: int
    missing: int
    twice: int
    out_of_order: int


def publication(sql: Sql, records: list[ConsumerRecord]) -> Publication:
    """Every event the relay recorded as published must be on its topic once; per stream, in version order."""
    recorded = int(sql.scalar("SELECT coalesce(max(position), 0) FROM relay_position"))
    ours = {row[0] for row in sql.rows("SELECT event_id FROM event_log WHERE seq <= :p", p=recorded)}
    copies = Counter(dict(r.headers)["ce_id"].decode() for r in records)
    last: dict[tuple[str, int, bytes], int] = {}
    out_of_order = 0
    for r in sorted(records, key=lambda r: (r.topic, r.partition, r.offset)):
        headers = dict(r.headers)
        stream = (r.topic, r.partition, headers.get("ce_subject", b""))
        sequence = int(headers["ce_sequence"])
        out_of_order += sequence <= last.get(stream, 0)
        last[stream] = sequence
    return Publication(len(ours), len(records), len(ours - set(copies)),
                       sum(1 for n in copies.values() if n > 1), out_of_order)


class Feed:
    """Publishes events as intake and triage do: CloudEvents binary mode, keyed by report id."""

    def __init__(self, place: Place) -> None:
        self.names = place.names
        self.producer = make_producer(place.bootstrap, "faults-feed")
        self.versions: Counter[str] = Counter()
        self.sent = 0

    def send(self, event: Event, key: str) -> None:
        self.versions[key] += 1
        env = Envelope(id=str(uuid.uuid4()), type=event.TYPE, source="/vigil/faults", subject=key,
                       time=datetime.now(UTC), sequence=self.versions[key], key=key, topic=event.TOPIC,
                       data=event.model_dump(mode="json"))
        self.producer.send(**encode(env, self.names(event.TOPIC)))
        self.sent += 1

    def close(self) -> int:
        self.producer.flush(timeout=30)
        self.producer.close(timeout=10)
        return self.sent


def submitted(n: int, at: datetime) -> ReportSubmitted:
    return ReportSubmitted.model_validate({
        "report_id": f"r-{n:05d}", "reference": f"F{n:05d}", "submitted_at": at.isoformat(), "channel": "web",
        "reporter": {"role": "victim", "anonymous": False}, "consent": {},
        "incident": {"occurred_at": (at - timedelta(hours=1)).isoformat(), "types": ["verbal_abuse"],
                     "targeted_characteristics": ["race"],
                     "location": {"area": FORCE_AREAS[n % len(FORCE_AREAS)], "place_type": "street"}},
        "grading": {"source": "2", "intelligence": "A", "handling": "P"},
        "fingerprints": {"contact": f"contact-{n}", "place": f"place-{n}"}})


def amended(report: ReportSubmitted, at: datetime) -> ReportAmended:
    """A weapon now: the decision changes, so triage decides again (a second event for the same incident)."""
    return ReportAmended(report_id=report.report_id, amended_at=at,
                         incident=report.incident.model_copy(update={"weapon": True}))


def feed_reports(place: Place, reports: int, with_decisions: bool = False) -> int:
    """Reports, a third of them amended later in the stream; with triage's decisions when triage is not running."""
    feed = Feed(place)
    start = datetime.now(UTC) - timedelta(days=2)
    made: list[ReportSubmitted] = []
    for n in range(reports):
        at = start + timedelta(minutes=7 * n)
        made.append(submitted(n, at))
        feed.send(made[-1], made[-1].report_id)
        if with_decisions:
            feed.send(decision(made[-1], at + timedelta(minutes=1)), made[-1].report_id)
        if n >= 5 and (n - 5) % 3 == 0:
            earlier = made[n - 5]
            feed.send(amended(earlier, at + timedelta(minutes=2)), earlier.report_id)
    return feed.close()


def decision(report: ReportSubmitted, at: datetime, needs_duty_inspector: bool = True) -> IncidentTriaged:
    return IncidentTriaged(
        incident_id=report.report_id, report_id=report.report_id, reference=report.reference,
        area=report.incident.location.area, triaged_at=at, matched=[MatchedRule(code="violence", explanation="x")],
        critical=False, needs_duty_inspector=needs_duty_inspector, priority=Priority.P3,
        ack_deadline=at + timedelta(minutes=60), ruleset_version="faults")


# Workers killed mid-stream ---------------------------------------------------------------------------------


def triage_kill(place: Place, workers: int = 3, reports: int = 240, kill_at: int = 80) -> dict[str, Any]:
    """Three triage workers on six partitions; the one holding the relay lock killed at `kill_at` decisions."""
    place.topics()
    url = place.database("triage")
    sql = Sql(url)
    fleet = Fleet("triage", place.env(TRIAGE_DATABASE_URL=url), place.logdir, workers)
    watch = TopicWatch(place.bootstrap, [place.names(INCIDENTS)])
    try:
        fleet.start()
        eventually(lambda: group_is_stable(place.bootstrap, place.names.group("triage-reports"), workers), 60,
                   "every triage worker in the group")
        victim = fleet.relay_holder(sql)
        fed = feed_reports(place, reports)
        eventually(lambda: watch.count(IncidentTriaged) >= kill_at, 120, f"{kill_at} decisions on the topic")
        fleet.kill(victim)
        killed_at = watch.count(IncidentTriaged)
        eventually(lambda: sql.inbox("triage-reports") == fed and sql.relay_caught_up(), 120,
                   "every report applied and every decision published")
        fleet.stop()
        opened_twice = sql.scalar("SELECT count(*) FROM (SELECT stream_id FROM event_log WHERE type = :t "
                                  "AND data NOT LIKE :again GROUP BY stream_id HAVING count(*) > 1) twice",
                                  t=IncidentTriaged.TYPE, again='%"retriage":true%')
        applied = sql.inbox("triage-reports")
        published = publication(sql, watch.to_the_end())
    finally:
        fleet.stop()
        watch.close()
        sql.close()
    return {"scenario": "triage worker killed", "workers": workers, "events_fed": fed, "killed_at": killed_at,
            "events_applied": applied, "incidents_opened_twice": int(opened_twice), **asdict(published)}


def notify_directory(path: Path) -> Path:
    path.write_text(json.dumps({
        "people": {"di-1": {"name": "DI One", "email": DUTY_INSPECTOR}, "snt": {"name": "Sgt"},
                   "clo": {"name": "CLO"}},
        "teams": {"nt": ["snt"], "cl": ["clo"]},
        "policies": {"p": {"levels": [{"targets": ["on_call"], "delay_minutes": 60}]}},
        "areas": {"default": {"rota": {"start": "2026-01-01T00:00:00Z", "people": ["di-1"]}, "policy": "p",
                              "neighbourhood_team": "nt", "community_liaison": "cl"}},
    }))
    return path


def notify_kill(place: Place, workers: int = 3, alerts: int = 60, kill_at: int = 20) -> dict[str, Any]:
    """Notify workers sending alerts to a slow mail server; one killed when `kill_at` alerts have arrived."""
    place.topics()
    url = place.database("notify")
    sql = Sql(url)
    with smtp_server() as box:
        box.delay = 0.1  # a slow mail server keeps alerts in flight
        env = place.env(NOTIFY_DATABASE_URL=url, NOTIFY_SMTP_HOST=box.host, NOTIFY_SMTP_PORT=str(box.port),
                        NOTIFY_DIRECTORY_FILE=str(notify_directory(place.logdir / "directory.json")),
                        NOTIFY_CHANNELS='["email", "log"]', NOTIFY_SEND_LEASE_SECONDS="2",
                        NOTIFY_DISPATCH_WORKERS="2")
        fleet = Fleet("notify", env, place.logdir, workers)
        try:
            fleet.start()
            eventually(lambda: group_is_stable(place.bootstrap, place.names.group("notify-incidents"), workers),
                       60, "every notify worker in the group")
            victim = fleet.relay_holder(sql)
            feed = Feed(place)
            now = datetime.now(UTC)
            references = []
            for n in range(alerts):
                made = decision(submitted(n, now), now)
                references.append(made.reference)
                feed.send(made, made.report_id)
            feed.close()
            eventually(lambda: len(box.all()) >= kill_at, 120, f"{kill_at} alerts at the mail server", interval=0.02)
            fleet.kill(victim)
            killed_at = len(box.all())
            eventually(lambda: len(box.per_message_id()) >= alerts and sql.inbox("notify-incidents") == alerts
                       and sql.relay_caught_up(), 120, "every alert sent and every notification published")
            fleet.stop()
            watch = TopicWatch(place.bootstrap, [place.names(NOTIFICATIONS)])
            published = publication(sql, watch.to_the_end())
            watch.close()
        finally:
            fleet.stop()
            sql.close()
        keys = Counter(next(ref for ref in references if ref in str(m.message["Subject"]))
                       for m in {m.message_id: m for m in box.all()}.values())
        copies = box.per_message_id()
    return {"scenario": "notify worker killed", "workers": workers, "alerts_due": alerts, "killed_at": killed_at,
            "alerts_missing": alerts - len(keys), "alerts_under_two_keys": sum(1 for n in keys.values() if n > 1),
            "resent_under_the_same_key": sum(copies.values()) - len(copies), **asdict(published)}


def assessment_kill(place: Place, workers: int = 2, reports: int = 300, kill_at: int = 150) -> dict[str, Any]:
    """Assessment workers folding reports and decisions; one killed when `kill_at` events are folded. Then the
    live projection is compared with a rebuild from offset 0."""
    place.topics()
    url = place.database("assessment")
    sql = Sql(url)
    consumer = "assessment-projection"
    fleet = Fleet("assessment", place.env(ASSESSMENT_DATABASE_URL=url), place.logdir, workers)
    try:
        fleet.start()
        eventually(lambda: group_is_stable(place.bootstrap, place.names.group(consumer), workers), 60,
                   "every assessment worker in the group")
        victim = fleet.relay_holder(sql)
        fed = feed_reports(place, reports, with_decisions=True)
        eventually(lambda: sql.inbox(consumer) >= kill_at, 120, f"{kill_at} events folded")
        fleet.kill(victim)
        killed_at = sql.inbox(consumer)
        eventually(lambda: sql.inbox(consumer) == fed and sql.relay_caught_up(), 120,
                   "every event folded and what it made published")
        fleet.stop()
        watch = TopicWatch(place.bootstrap, [place.names(AREAS), place.names(PARTNER)])
        published = publication(sql, watch.to_the_end())
        watch.close()
        db, registry = Database(url), AssessmentSettings(database_url=url).registry()
        try:
            live = live_digest(db, registry)
            rebuilt = Rebuild(place.bootstrap, place.names, registry, db, SystemClock(), workers=1).run(
                resume=False, write=False)
        finally:
            db.dispose()
    finally:
        fleet.stop()
        sql.close()
    return {"scenario": "assessment worker killed", "workers": workers, "events_fed": fed, "killed_at": killed_at,
            "events_rebuilt": rebuilt.events, "projection_equals_rebuild": live == rebuilt.digest,
            **asdict(published)}


# PostgreSQL and the broker stopped under load --------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    at: float
    status: int  # 0: no answer (connection refused, timeout)
    seconds: float
    reference: str | None = None
    retry_after: str | None = None
    content_type: str | None = None


class Load:
    """Reports posted at a steady rate from a few threads, every answer kept with the time it was asked."""

    def __init__(self, base: str, rate: float, threads: int = 8, timeout: float = 10.0) -> None:
        self.client = httpx.Client(base_url=base, timeout=timeout)
        self.rate = rate
        self.pool = ThreadPoolExecutor(threads)
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self.pool.shutdown(wait=True)
        self.client.close()

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            self.pool.submit(self._post, time.monotonic())
            next_at += 1 / self.rate
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def _post(self, at: float) -> None:
        try:
            r = self.client.post("/v1/reports", json=report_body(consent__contact=False))
            answer = Answer(at, r.status_code, time.monotonic() - at,
                            r.json().get("reference") if r.status_code == 202 else None,
                            r.headers.get("retry-after"), r.headers.get("content-type"))
        except httpx.HTTPError:
            answer = Answer(at, 0, time.monotonic() - at)
        with self._lock:
            self.answers.append(answer)

    def since(self, at: float) -> list[Answer]:
        with self._lock:
            return [a for a in self.answers if a.at >= at]

    def accepted(self, since: float = 0.0) -> int:
        return sum(1 for a in self.since(since) if a.status == 202)


def on_kafka_once(place: Place, url: str, references: set[str], timeout: float = 180.0) -> dict[str, Any]:
    """How the accepted reports stand on `vigil.reports.v1` once intake's relay says it published everything
    (so a report missing then is lost, not late)."""
    sql = Sql(url)
    try:
        with contextlib.suppress(AssertionError):  # reported below
            eventually(sql.relay_caught_up, timeout, "intake's relay to publish every report")
        caught_up = sql.relay_caught_up()
    finally:
        sql.close()
    watch = TopicWatch(place.bootstrap, [place.names(REPORTS)])
    try:
        records = watch.to_the_end()
    finally:
        watch.close()
    copies = Counter(json.loads(r.value)["reference"] for r in records)
    ids = Counter(dict(r.headers)["ce_id"] for r in records)
    return {"relay_caught_up": caught_up, "accepted": len(references),
            "on_kafka": sum(1 for ref in references if copies[ref]),
            "on_kafka_twice": sum(1 for ref in references if copies[ref] > 1),
            "events_twice": sum(1 for n in ids.values() if n > 1)}


def answers_summary(answers: list[Answer]) -> dict[str, Any]:
    refused = [a for a in answers if a.status != 202]
    return {"answers": dict(sorted(Counter(str(a.status) for a in answers).items())),
            "slowest_seconds": round(max((a.seconds for a in answers), default=0.0), 3),
            "slowest_refusal_seconds": round(max((a.seconds for a in refused), default=0.0), 3),
            "refusals_without_retry_after": sum(1 for a in refused if not a.retry_after),
            "refusals_not_problem_json": sum(1 for a in refused if a.content_type != "application/problem+json")}


def stored(url: str, references: set[str]) -> int:
    sql = Sql(url)
    try:
        return sum(1 for row in sql.rows("SELECT reference FROM reports") if row[0] in references)
    finally:
        sql.close()


def late_decisions(place: Place, count: int) -> None:
    """Triage's decisions reaching intake's status consumer while its database is away: applied afterwards."""
    feed = Feed(place)
    now = datetime.now(UTC)
    for n in range(count):
        made = submitted(90_000 + n, now)
        feed.send(decision(made, now), made.report_id)
    feed.close()


def postgres_restart(own: OwnServers, place: Place, rate: float = 40.0, before: int = 60, after: int = 60,
                     decisions: int = 10, hold: float = 3.0) -> dict[str, Any]:
    """Intake under a steady stream while its PostgreSQL is stopped, held down for `hold` seconds and until
    refusals are seen, and started again."""
    place.topics()
    url = place.database("intake")
    intake = ServiceProcess("intake", place.env(INTAKE_DATABASE_URL=url, INTAKE_RATE_LIMIT_ENABLED="false"),
                            place.logdir).start()
    try:
        with Load(intake.url, rate) as load:
            eventually(lambda: load.accepted() >= before, 60, f"{before} reports accepted")
            stopping = time.monotonic()  # the outage begins with the shutdown, which refuses new connections
            own.postgres.stop()
            down = time.monotonic()
            late_decisions(place, decisions)
            threading.Event().wait(hold)  # the outage's length is the fault itself, longer than a consumer's retries
            eventually(lambda: sum(1 for a in load.since(down) if a.status != 202) >= 5, 30, "refusals in the gap")
            own.postgres.start()
            up = time.monotonic()
            eventually(lambda: load.accepted(up) >= after, 60, f"{after} reports accepted after the restart")
        references = {a.reference for a in load.answers if a.reference}
        kafka = on_kafka_once(place, url, references)
        sql = Sql(url)
        try:
            with contextlib.suppress(AssertionError):  # one never applied is counted below
                eventually(lambda: sql.inbox("intake-status") == decisions, 60, "the late decisions applied")
            applied = sql.inbox("intake-status")
        finally:
            sql.close()
        dead = TopicWatch(place.bootstrap, [place.names(dlq(INCIDENTS))])
        dead_lettered = len(dead.to_the_end())
        dead.close()
    finally:
        intake.stop()
    during = [a for a in load.answers if stopping <= a.at < up]
    refused_last = max((a.at + a.seconds for a in load.answers if a.status != 202), default=up)
    return {"scenario": "PostgreSQL restarted under load", "rate": rate, "gap_seconds": round(up - stopping, 2),
            **answers_summary(load.answers), "answers_in_gap": dict(Counter(str(a.status) for a in during)),
            "last_refusal_after_restart_seconds": round(refused_last - up, 2),
            "stored": stored(url, references), **kafka, "decisions_during_gap": decisions,
            "decisions_applied": applied, "dead_lettered": dead_lettered}


def broker_outage(own: OwnServers, place: Place, gap: float, rate: float = 30.0, before: int = 40,
                  after: int = 40) -> dict[str, Any]:
    """Intake under a steady stream while the broker is stopped for `gap` seconds."""
    place.topics()
    url = place.database("intake")
    intake = ServiceProcess("intake", place.env(INTAKE_DATABASE_URL=url, INTAKE_RATE_LIMIT_ENABLED="false"),
                            place.logdir).start()
    try:
        with Load(intake.url, rate) as load:
            eventually(lambda: load.accepted() >= before, 60, f"{before} reports accepted")
            down = time.monotonic()
            own.kafka.stop()
            threading.Event().wait(gap)  # the fault's length is the point here, not a guess at readiness
            own.kafka.start()
            up = time.monotonic()
            eventually(lambda: load.accepted(up) >= after, 60, f"{after} reports accepted after the broker returned")
        references = {a.reference for a in load.answers if a.reference}
        kafka = on_kafka_once(place, url, references)
    finally:
        intake.stop()
    during = [a for a in load.answers if down <= a.at < up]
    return {"scenario": "broker stopped under load", "rate": rate, "gap_seconds": round(up - down, 2),
            **answers_summary(load.answers), "answers_in_gap": dict(Counter(str(a.status) for a in during)),
            "stored": stored(url, references), **kafka}


# The benchmark ---------------------------------------------------------------------------------------------


Scenario = Callable[[Place], dict[str, Any]]


def run(kills: int, gap: float, workdir: Path, deadline: float) -> list[dict[str, Any]]:
    """The kills round after round (none begun past `deadline`), then one restart and one outage."""
    results: list[dict[str, Any]] = []
    with own_servers(workdir) as (own, create):
        rounds: list[tuple[int, str, Scenario]] = [
            (n, s.__name__, s) for n in range(1, kills + 1) for s in (triage_kill, notify_kill, assessment_kill)]
        rounds += [(1, "postgres_restart", lambda p: postgres_restart(own, p)),
                   (1, "broker_outage", lambda p: broker_outage(own, p, gap))]
        for n, name, scenario in rounds:
            if n > 1 and time.monotonic() > deadline:
                continue
            logdir = workdir / f"logs-{name}-{n}"
            logdir.mkdir()
            results.append({"round": n, **scenario(own.place(create, logdir))})
            print(json.dumps(results[-1]), flush=True)
    return results


def write(results: list[dict[str, Any]], gap: float) -> Path:
    RESULTS.mkdir(exist_ok=True)
    doc = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "machine": platform.platform(),
           "cpus": os.cpu_count(), "broker_gap_seconds": gap, "runs": results}
    (RESULTS / "faults.json").write_text(json.dumps(doc, indent=2) + "\n")
    lines = ["# Faults, proven", "",
             f"{doc['when']} on {doc['machine']} ({doc['cpus']} CPUs); a local broker and a PostgreSQL that waits "
             "for the disk, both this run's own. Each kill is SIGKILL at an event count, never a timer.", ""]
    for scenario in dict.fromkeys(r["scenario"] for r in results):
        runs = [r for r in results if r["scenario"] == scenario]
        columns = [k for k in runs[0] if k not in ("scenario",)]
        lines += [f"## {scenario}", "", MEANING.get(scenario, ""), "",
                  "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(_cell(r.get(c)) for c in columns) + " |" for r in runs]
        lines.append("")
    path = RESULTS / "faults.md"
    path.write_text("\n".join(lines))
    return path


PUBLISHED = ("`events`: in the outbox and recorded as published; `records`: on the topics; `missing`, `twice`, "
             "`out_of_order`: events not on their topic, on it more than once, or after a later version of their "
             "stream on the same partition.")
MEANING = {
    "triage worker killed": "Three workers on six partitions; the one publishing the outbox killed at `killed_at` "
                            "decisions. `events_applied`: inbox rows. " + PUBLISHED,
    "notify worker killed": "Alerts to a slow SMTP server; the worker publishing the outbox killed at `killed_at` "
                            "alerts. `alerts_under_two_keys`: an incident alerted under two Message-IDs. " + PUBLISHED,
    "assessment worker killed": "The worker publishing the outbox killed at `killed_at` events folded; the live "
                                "projection compared with a rebuild from offset 0. " + PUBLISHED,
    "PostgreSQL restarted under load": "Reports at `rate`/s; the gap runs from the start of the shutdown to the "
                                       "server answering again. `decisions_*`: events reaching intake's consumer "
                                       "in the gap.",
    "broker stopped under load": "Reports at `rate`/s; the gap runs from the broker's stop to its restart "
                                 "(including its start-up).",
}


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kills", type=int, default=3, help="rounds of worker kills (each service once per round)")
    p.add_argument("--gap", type=float, default=30.0, help="seconds the broker stays stopped")
    p.add_argument("--minutes", type=float, default=20.0, help="no new kill round starts after this")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vigil-bench-faults-") as tmp:
        results = run(args.kills, args.gap, Path(tmp), time.monotonic() + args.minutes * 60)
    print(write(results, args.gap).read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
